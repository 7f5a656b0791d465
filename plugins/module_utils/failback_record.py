# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""What a failback wave leaves in the state tables, built from what its modules returned (the role passes the
registered results through; nothing is merged in Jinja): one server record per server of the wave, one
failback-state item per original source server, the wave's status and counts, and a one-screen summary.

Server records read in the direction of this execution's launch: the source is the recovery instance (B2)
being replicated back, the target is the original instance (A1), which after the launch is also the recovery
instance. source_server_id stays the original source server (B1), the key of the failback-state item, and
reversed_source_server_id is the FAILBACK server (A2) that was launched (notation of failback_wave.py).
"""

from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import PrivateIPMismatchError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.models import FailbackState
from ansible_collections.elasticdr.orchestration.plugins.module_utils.models import iso
from ansible_collections.elasticdr.orchestration.plugins.module_utils.models import ttl_epoch

REMEDIATION_IP_BEFORE = (
    "EC2 never changes an instance's primary private IP, so the original instance is not the one the failover "
    "recorded (replaced, or a wrong record): failing back into it would not restore the server's address. Check the "
    "instance and the record (drs_execution_info), correct the record or the inventory, then rerun; nothing was "
    "stopped or launched for this wave.")


def _result(value):
    """A registered module result, or {} for an absent, skipped or empty one."""
    if not isinstance(value, dict) or value.get("skipped"):
        return {}
    return value


def _by(items, key):
    return {i.get(key): i for i in items or [] if isinstance(i, dict) and i.get(key)}


def _ip_error(result, expected_from):
    """The failback form of a drs_ip_validate mismatch."""
    error = result.get("error") or {}
    details = error.get("details") or {}
    name = result.get("name") or result.get("instance_id")
    expected, actual = details.get("expected_ip"), result.get("actual_ip")
    if expected_from == "before":
        why = "not found" if actual is None else f"has {actual}"
        return PrivateIPMismatchError(
            f"{name}: original instance {result.get('instance_id')} should have the private IP {expected} recorded at "
            f"failover, but {why}; failback of the wave is blocked before any stop or launch.", server=name,
            expected_ip=expected, actual_ip=actual, remediation=REMEDIATION_IP_BEFORE,
            details={"instance_id": result.get("instance_id"), "checked": "before the failback launch"}).to_dict()
    return dict(error, details=dict(details, checked="after the failback launch"))


class _Server:
    """Everything known about one server of the wave, step by step."""

    def __init__(self, name, source_server_id=None):
        self.name = name
        self.sid = source_server_id
        self.data = {}
        self.error = None
        self.blocked = False

    def fail(self, error, blocked=False):
        if self.error is None:
            self.error = error
            self.blocked = blocked


def build(found=None, ip_before=None, originals=None, agent=None, replication=None, targets=None, recovery=None,
          ip_after=None, reprotect=None, standby=None, failure=None, check_mode=False):
    """{"servers": server records, "states": failback states (without protection group/execution), "status",
    "counts", "error"} from the registered results of the wave's steps (any may be missing)."""
    found, ip_before, originals, agent = _result(found), _result(ip_before), _result(originals), _result(agent)
    replication, targets, recovery = _result(replication), _result(targets), _result(recovery)
    ip_after, reprotect, standby = _result(ip_after), _result(reprotect), _result(standby)
    servers = {}
    for item in found.get("servers") or []:
        server = servers.setdefault(item["name"], _Server(item["name"], item.get("source_server_id")))
        server.data.update(item)
    for problem in found.get("problems") or []:
        server = servers.setdefault(problem["name"], _Server(problem["name"], problem.get("source_server_id")))
        server.fail(problem.get("error"), blocked=True)
    by_sid = {s.sid: s for s in servers.values() if s.sid}

    for result in (ip_before.get("results") or []):
        server = by_sid.get(result.get("source_server_id"))
        if server:
            server.data["original_ip_now"] = result.get("actual_ip")
            if result.get("preserved") is False:
                server.data["ip_before_ok"] = False
                server.fail(_ip_error(result, "before"), blocked=True)
    for step in (originals, targets):
        for entry in step.get("servers") or []:
            server = by_sid.get(entry.get("source_server_id"))
            if server:
                for key in ("state", "tagged_before", "to_tag", "tagged", "failback_source_server_id",
                            "failback_source_server_arn"):
                    if key in entry:
                        server.data[key] = entry[key]
                if entry.get("error"):
                    server.fail(entry["error"], blocked=True)
    for entry in agent.get("servers") or []:
        server = by_sid.get(entry.get("source_server_id"))
        if server:
            server.data["agent_status"] = entry.get("status")
            if entry.get("error"):
                server.fail(entry["error"])
    by_recovery_instance = {s.data.get("recovery_instance_id"): s for s in servers.values()}
    for entry in replication.get("servers") or []:
        server = by_recovery_instance.get(entry.get("recovery_instance_id"))
        if server:
            for key in ("reversed_source_server_id", "reversed_source_server_arn", "replication_state", "lag_seconds",
                        "ready"):
                server.data[key] = entry.get(key)
            if entry.get("staging_account_id"):
                server.data["staging_account_id"] = entry["staging_account_id"]
    pairs = _by(targets.get("pairs"), "source_server_id")  # keyed by the FAILBACK server
    by_failback = {}
    for failback_id, pair in pairs.items():
        server = by_sid.get(pair.get("original_source_server_id"))
        if server:
            by_failback[failback_id] = server
    for server in servers.values():
        failback_id = server.data.get("failback_source_server_id") or server.data.get("reversed_source_server_id")
        if failback_id:
            by_failback.setdefault(failback_id, server)
    for entry in recovery.get("servers") or []:
        server = by_failback.get(entry.get("source_server_id"))
        if server:
            for key in ("job_id", "launch_status"):
                server.data[key] = entry.get(key)
            server.data["launched_instance_id"] = entry.get("recovery_instance_id")
            if entry.get("error"):
                server.fail(entry["error"])
    for result in ip_after.get("results") or []:
        server = by_failback.get(result.get("source_server_id"))
        if server:
            server.data["original_ip_after"] = result.get("actual_ip")
            server.data["ip_after_ok"] = result.get("preserved")
            if result.get("preserved") is False:
                server.fail(_ip_error(result, "after"))
    by_original = {s.data.get("original_instance_id"): s for s in servers.values()}
    started = set(reprotect.get("started") or [])
    for entry in reprotect.get("servers") or []:
        server = by_original.get(entry.get("recovery_instance_id"))
        if server:
            server.data["reprotect_source_server_id"] = entry.get("reversed_source_server_id")
            server.data["reprotect_state"] = entry.get("replication_state")
            server.data["reprotect_started"] = (entry.get("recovery_instance_id") in started
                                                or bool(entry.get("reversed_source_server_id")))
    for entry in standby.get("servers") or []:
        server = servers.get(entry.get("name"))
        if server:
            # After the failback: FAILBACK replication stopped and the recovery instance stopped (or would be).
            server.data["standby"] = True
            server.data["standby_actions"] = entry.get("actions") or []

    records, states = [], []
    for server in servers.values():
        status = _status(server, check_mode)
        records.append(_server_record(server, status, check_mode))
        if server.sid:
            states.append(_state(server, status))
    status = wave_status([s["status"] for s in states] + ["BLOCKED"] * sum(1 for s in servers.values() if not s.sid),
                         check_mode=check_mode, failure=failure,
                         timed_out=bool(replication.get("timed_out") or recovery.get("timed_out")))
    tally = counts(records, states)
    return {"servers": records, "states": states, "status": status, "counts": tally,
            "error": wave_error(failure, ip_before, servers.values())}


def wave_error(failure, ip_before, servers):
    """The error kept in the wave record: the failed step's, in the failback's own words for the IP check that
    blocks the wave before any change."""
    if not failure:
        return None
    mismatched = [s for s in servers if (s.error or {}).get("error") == "PrivateIPMismatchError" and s.blocked]
    if ip_before.get("failed") and mismatched:
        first = mismatched[0].error["details"]
        return PrivateIPMismatchError(
            f"{len(mismatched)} original instance(s) do not have the private IP recorded at failover: "
            + "; ".join(f"{s.name} ({s.error['details'].get('instance_id')}: recorded {s.error['details'].get('expected_ip')}, "
                        f"has {s.error['details'].get('actual_ip') or 'none'})" for s in mismatched)
            + "; nothing was stopped or launched.", server=", ".join(s.name for s in mismatched),
            expected_ip=first.get("expected_ip"), actual_ip=first.get("actual_ip"), remediation=REMEDIATION_IP_BEFORE,
            details={"task": failure.get("task")}).to_dict()
    return failure.get("error") or {"error": "TaskFailed", "message": failure.get("msg"), "server": None,
                                    "remediation": None, "details": {"task": failure.get("task")}}


def _status(server, check_mode):
    data = server.data
    if server.blocked:
        return "BLOCKED"
    launch = data.get("launch_status")
    if server.error is not None or launch == "FAILED" or data.get("ip_after_ok") is False:
        return "FAILED"
    if check_mode:
        return "READY"
    if launch == "LAUNCHED":
        return "COMPLETED" if data.get("ip_after_ok") is True else "LAUNCHING"
    if launch in ("PENDING", "IN_PROGRESS"):
        return "LAUNCHING"
    if data.get("ready"):
        return "READY"
    if data.get("replication_state"):
        return "REPLICATING"
    return "NOT_STARTED"


def wave_status(statuses, check_mode=False, failure=None, timed_out=False):
    """COMPLETED when every server failed back (check mode: would), TIMED_OUT when waiting ended on the
    timeout, FAILED when none failed back, PARTIAL otherwise."""
    if not statuses:
        return "FAILED" if failure else "SKIPPED"
    if timed_out:
        return "TIMED_OUT"
    good = sum(1 for s in statuses if s == "COMPLETED" or (check_mode and s == "READY"))
    if good == len(statuses) and not failure:
        return "COMPLETED"
    completed = sum(1 for s in statuses if s == "COMPLETED")
    return "PARTIAL" if completed else "FAILED"


def _server_record(server, status, check_mode):
    data = server.data
    launch = data.get("launch_status")
    if not launch:
        launch = "BLOCKED" if server.blocked else "WOULD_LAUNCH" if check_mode and status == "READY" else "NOT_LAUNCHED"
    ip_ok = data.get("ip_after_ok")
    if ip_ok is None and data.get("ip_before_ok") is False:
        ip_ok = False
    record = {
        "name": server.name, "source_server_id": server.sid,
        "source_instance_id": data.get("recovery_instance_id"), "source_private_ip": data.get("recovery_private_ip"),
        "target_instance_id": data.get("original_instance_id"), "target_private_ip": data.get("original_private_ip"),
        "recovery_instance_id": data.get("launched_instance_id"),
        "recovery_private_ip": data.get("original_ip_after") or data.get("original_ip_now"),
        "staging_account_id": data.get("staging_account_id"), "job_id": data.get("job_id"), "launch_status": launch,
        "ip_preserved": ip_ok, "error": server.error,
        "reversed_source_server_id": data.get("reversed_source_server_id") or data.get("failback_source_server_id"),
        "replication_state": data.get("replication_state"), "lag_seconds": data.get("lag_seconds"),
    }
    extra = {"failback_status": status, "reprotect_source_server_id": data.get("reprotect_source_server_id"),
             "reprotect_state": data.get("reprotect_state"), "reprotect_started": data.get("reprotect_started"),
             "agent_status": data.get("agent_status"), "tagged_now": bool(data.get("to_tag")),
             "recovery_region_standby": data.get("standby"), "standby_actions": data.get("standby_actions")}
    record.update(extra)
    return {k: v for k, v in record.items() if v is not None}


def _state(server, status):
    data = server.data
    validated = data.get("ip_after_ok")
    if validated is None and data.get("ip_before_ok") is False:
        validated = False
    return {k: v for k, v in {
        "source_server_id": server.sid, "name": server.name,
        "original_instance_id": data.get("original_instance_id"),
        "original_instance_private_ip": data.get("original_ip_after") or data.get("original_private_ip"),
        "recovery_instance_id": data.get("recovery_instance_id"),
        "recovery_instance_private_ip": data.get("recovery_private_ip"),
        "reversed_source_server_id": data.get("reversed_source_server_id") or data.get("failback_source_server_id"),
        "reversed_source_server_arn": data.get("reversed_source_server_arn") or data.get("failback_source_server_arn"),
        "staging_account_id": data.get("staging_account_id"), "replication_state": data.get("replication_state"),
        "lag_seconds": data.get("lag_seconds"), "private_ip_validated": validated, "status": status,
        "error": server.error,
    }.items() if v is not None}


def state_items(states, protection_group, execution_id, now=None):
    """Failback-state items ready for StateStore.put_failback_states, each validated."""
    now = now or iso()
    items = []
    for state in states:
        item = dict(state, protection_group=protection_group, execution_id=execution_id, updated_at=now,
                    ttl=ttl_epoch())
        FailbackState.from_dict(item)
        items.append(item)
    return items


def counts(records, states):
    statuses = [s["status"] for s in states]
    return {
        "servers": len(records),
        "failed_back": statuses.count("COMPLETED"),
        "failed": statuses.count("FAILED"),
        "blocked": sum(1 for r in records if r.get("failback_status") == "BLOCKED"),
        "replicating": statuses.count("REPLICATING"),
        "ready": statuses.count("READY"),
        "launched": sum(1 for r in records if r.get("launch_status") == "LAUNCHED"),
        "would_launch": sum(1 for r in records if r.get("launch_status") == "WOULD_LAUNCH"),
        "ip_mismatches": sum(1 for r in records if r.get("ip_preserved") is False),
        "tagged": sum(1 for r in records if r.get("tagged_now")),
        "reprotect_started": sum(1 for r in records if r.get("reprotect_started")),
        "standby": sum(1 for r in records if r.get("recovery_region_standby")),
    }


def summary_lines(wave, status, records, tally, check_mode=False):
    """A one-screen summary of a failback wave: a headline and one line per server."""
    if check_mode:
        head = (f"Wave {wave}: {status} (check mode, nothing changed) - {tally.get('would_launch', 0)} would fail "
                f"back, {tally.get('blocked', 0)} blocked, {tally.get('failed', 0)} failed, "
                f"{tally.get('tagged', 0)} original(s) to tag")
    else:
        head = (f"Wave {wave}: {status} - {tally.get('failed_back', 0)}/{tally.get('servers', 0)} failed back, "
                f"{tally.get('failed', 0)} failed, {tally.get('blocked', 0)} blocked, "
                f"{tally.get('ip_mismatches', 0)} IP mismatches, re-protect started for "
                f"{tally.get('reprotect_started', 0)}, recovery region on standby for {tally.get('standby', 0)}")
    lines = [head]
    for record in sorted(records, key=lambda r: r.get("name") or ""):
        kept = {True: "IP kept", False: "IP CHANGED", None: ""}[record.get("ip_preserved")]
        lag = record.get("lag_seconds")
        replication = (f"{record.get('reversed_source_server_id', '-')} {record.get('replication_state') or ''}"
                       + (f" lag {lag:g} s" if isinstance(lag, (int, float)) else ""))
        line = (f"  {record['name']:<24} {record.get('failback_status', '-'):<11} "
                f"{record.get('target_instance_id') or '-':<21} {record.get('recovery_private_ip') or '-':<15} "
                f"{kept:<10} {replication.strip()}")
        error = record.get("error") or {}
        if error.get("message"):
            line += f"  {error['message']}"
            if error.get("remediation"):
                line += f" Remediation: {error['remediation']}"
        lines.append(line.rstrip())
    return lines
