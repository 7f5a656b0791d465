# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Reading an execution record back for operators and AWX: the header, its waves in order with their servers
by name, and counts per launch status (overall and per wave) with durations. Read-only: it only shapes what
StateStore.get_execution / executions_by_status return."""

import datetime

from ansible_collections.elasticdr.orchestration.plugins.module_utils.models import utc_now

# The table keys of the executions table (the report names the execution once, in its header) and the expiry
# time the state store gives every wave and server item: storage details, not part of a wave or server.
KEY_ATTRIBUTES = ("execution_id", "record_key", "ttl")
IN_PROGRESS = ("PENDING", "RUNNING")
NO_LAUNCH_STATUS = "UNKNOWN"


def parse_time(value):
    """An ISO 8601 time as the records store it (2026-06-15T15:00:00.000Z) -> aware datetime, or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.timezone.utc)


def duration(item, now):
    """(seconds, in_progress) of an execution or wave item: the stored duration, else ended_at - started_at,
    else, while it runs, the time since started_at."""
    in_progress = item.get("status") in IN_PROGRESS
    if isinstance(item.get("duration_seconds"), (int, float)) and not isinstance(item.get("duration_seconds"), bool):
        return item["duration_seconds"], in_progress
    started = parse_time(item.get("started_at"))
    ended = parse_time(item.get("ended_at")) or (now if in_progress else None)
    if started is None or ended is None:
        return None, in_progress
    return round((ended - started).total_seconds(), 3), in_progress


def _strip_keys(item):
    return {k: v for k, v in item.items() if k not in KEY_ATTRIBUTES}


def _count(servers):
    counts = {}
    for server in servers:
        status = server.get("launch_status") or NO_LAUNCH_STATUS
        counts[status] = counts.get(status, 0) + 1
    return dict(sorted(counts.items()))


def header_of(item):
    """An EXECUTION item as read through the StatusIndex -> the header as get_execution returns it."""
    header = {k: v for k, v in item.items() if k != "record_key"}
    if "execution_status" in header:
        header["status"] = header.pop("execution_status")
    return header


def describe_execution(record, now=None):
    """record: StateStore.get_execution(...) with a header. Returns {execution, waves, summary}."""
    now = now or utc_now()
    execution = {k: v for k, v in record["execution"].items() if k != "record_key"}
    wave_numbers = sorted(set(record["waves"]) | set(record["servers"]))
    waves, per_wave, overall = [], [], []
    for number in wave_numbers:
        wave = _strip_keys(record["waves"].get(number) or {"wave": number})
        wave["wave"] = number
        servers = sorted((_strip_keys(s) for s in (record["servers"].get(number) or {}).values()),
                         key=lambda s: str(s.get("name") or ""))
        wave["servers"] = servers
        waves.append(wave)
        overall.extend(servers)
        seconds, running = duration(wave, now)
        per_wave.append({"wave": number, "status": wave.get("status"), "servers": len(servers),
                         "launch_status": _count(servers), "duration_seconds": seconds, "in_progress": running})
    seconds, running = duration(execution, now)
    summary = {
        "status": execution.get("status"),
        "waves": per_wave,
        "wave_count": len(waves),
        "servers": len(overall),
        "launch_status": _count(overall),
        "duration_seconds": seconds,
        "in_progress": running,
    }
    return {"execution": execution, "waves": waves, "summary": summary}


def list_executions(items, protection_group=None):
    """Items of the StatusIndex -> execution headers of one protection group (or all), newest first."""
    headers = [header_of(i) for i in items]
    if protection_group:
        headers = [h for h in headers if h.get("protection_group") == protection_group]
    return sorted(headers, key=lambda h: (str(h.get("started_at") or ""), str(h.get("execution_id"))), reverse=True)
