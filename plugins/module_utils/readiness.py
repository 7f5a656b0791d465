# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Readiness of a protection group for failover (the preflight): per server, per wave and for the group.

Reads only: DescribeSourceServers, the matcher's DescribeInstances, GetLaunchConfiguration per paired server and,
with a protection group, DescribeTable/Query/GetItem on the state tables. Nothing is written and no lock is taken.

A server is ready when
- it is paired with exactly one valid launch-into target (matching.InstanceMatcher, the same matching as the
  failover, stored pairs included);
- its replication is CONTINUOUS with a lag under the threshold (docs/DRS_BEHAVIOUR.md section 3: only CONTINUOUS with
  small lag is ready for recovery);
- and, only when asked (fail_on_drift), its launch configuration already is what drs_launch_config would set.
  Drift is otherwise reported and not a failure: the failover's first step per wave makes exactly those changes.
A wave is ready when all its servers are and it fits the DRS quotas (docs/DRS_BEHAVIOUR.md section 2: 100 servers
per job, 20 concurrent jobs, 500 servers across active jobs; configurable, accounts can raise them). The group is
ready when every wave is, the account's replicating servers fit their quota (300) and, with a protection group,
the state tables exist and no execution holds the lock.
"""

from ansible_collections.elasticdr.orchestration.plugins.module_utils.drs import NOT_REPLICATING
from ansible_collections.elasticdr.orchestration.plugins.module_utils.drs import replication_info
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ConfigurationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import StateStoreError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.launch_config import desired_configuration
from ansible_collections.elasticdr.orchestration.plugins.module_utils.launch_config import plan_update
from ansible_collections.elasticdr.orchestration.plugins.module_utils.matching import ERROR
from ansible_collections.elasticdr.orchestration.plugins.module_utils.matching import WARNING
from ansible_collections.elasticdr.orchestration.plugins.module_utils.matching import normalise

READY_STATE = "CONTINUOUS"


def check(name, passed, message, severity=ERROR):
    return {"name": name, "passed": bool(passed), "severity": severity, "message": message}


def failures(checks):
    """Messages of the failed checks of severity error."""
    return [c["message"] for c in checks if not c["passed"] and c["severity"] == ERROR]


def warnings_of(checks):
    return [c["message"] for c in checks if not c["passed"] and c["severity"] != ERROR]


class Quotas:
    """The DRS quotas a wave and the account must fit (docs/DRS_BEHAVIOUR.md section 2). servers_per_job is also the
    batch size of drs_recovery (its servers_per_job, 100 unless set), so a wave of more servers is started as
    several jobs; allow_multi_job_waves accepts that, provided the jobs and servers fit the other quotas."""

    def __init__(self, servers_per_job=100, concurrent_jobs=20, servers_in_active_jobs=500, replicating_servers=300,
                 allow_multi_job_waves=False):
        self.servers_per_job = servers_per_job
        self.concurrent_jobs = concurrent_jobs
        self.servers_in_active_jobs = servers_in_active_jobs
        self.replicating_servers = replicating_servers
        self.allow_multi_job_waves = allow_multi_job_waves

    def validate(self):
        for name in ("servers_per_job", "concurrent_jobs", "servers_in_active_jobs", "replicating_servers"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigurationError(f"The quota {name} must be a positive integer; got {value!r}.")
        return self


def replication_check(source_server, lag_threshold):
    """Ready for recovery: CONTINUOUS with a lag under lag_threshold seconds (a missing lag is not ready, as for
    failback's reverse replication)."""
    state, lag = replication_info(source_server)
    if state != READY_STATE:
        return check("replication", False, f"replication is {state or 'unknown'}, not {READY_STATE}")
    if lag is None:
        return check("replication", False, "replication is CONTINUOUS but DRS reports no lag")
    if lag >= lag_threshold:
        return check("replication", False, f"replication lag {lag:g} s is not under {lag_threshold:g} s")
    return check("replication", True, f"{READY_STATE}, lag {lag:g} s")


def _describe(field, value):
    if field == "launchIntoInstanceProperties":
        return (value or {}).get("launchIntoEC2InstanceID") or "(none)"
    if field == "licensing":
        return f"osByol={bool((value or {}).get('osByol'))}"
    return str(value)


def drift_check(current, settings, target_instance_id, fail_on_drift=False):
    """What drs_launch_config would change in this launch configuration (the same planner, launch_config)."""
    changes, before, after = plan_update(current, desired_configuration(current, settings, target_instance_id))
    drift = {field: {"before": before.get(field), "after": after[field]} for field in sorted(changes)}
    if not drift:
        return check("launch_configuration", True, "launch configuration as drs_launch_config would set it"), drift
    names = {"launchIntoInstanceProperties": "launchIntoEC2InstanceID"}
    text = "; ".join(f"{names.get(f, f)} {_describe(f, d['before'])} -> {_describe(f, d['after'])}"
                     for f, d in drift.items())
    return check("launch_configuration", False, f"launch configuration drift (drs_launch_config would set {text})",
                 ERROR if fail_on_drift else WARNING), drift


def wave_quota_checks(count, quotas):
    """The checks of a wave of `count` servers against the quotas; also the number of jobs it needs."""
    jobs = -(-count // quotas.servers_per_job) if count else 0
    checks = []
    if count > quotas.servers_per_job:
        checks.append(check(
            "servers_per_job", False,
            f"{count} servers, over the quota of {quotas.servers_per_job} servers per job: the wave would be started "
            f"as {jobs} jobs" + ("" if quotas.allow_multi_job_waves else
                                 " (split the wave, raise the quota, or allow multi-job waves)"),
            WARNING if quotas.allow_multi_job_waves else ERROR))
    else:
        checks.append(check("servers_per_job", True, f"{count} servers fit one job (quota {quotas.servers_per_job})"))
    checks.append(check("concurrent_jobs", jobs <= quotas.concurrent_jobs,
                        f"{jobs} job(s) at once, quota {quotas.concurrent_jobs} concurrent jobs"))
    checks.append(check("servers_in_active_jobs", count <= quotas.servers_in_active_jobs,
                        f"{count} servers in active jobs at once, quota {quotas.servers_in_active_jobs}"))
    return checks, jobs


def replicating_count(source_servers):
    states = (replication_info(s)[0] for s in source_servers)
    # Source servers that replicate no more do not count against the replicating-servers quota.
    return sum(1 for state in states if state and state not in NOT_REPLICATING)


def replicating_check(source_servers, quotas):
    count = replicating_count(source_servers)
    return check("replicating_servers", count <= quotas.replicating_servers,
                 f"{count} source servers replicating in the recovery account and region, quota "
                 f"{quotas.replicating_servers}")


def lock_check(lock):
    if not lock:
        return check("lock", True, "no execution holds the protection group's lock")
    return check("lock", False, f"execution {lock.get('holder')} holds the protection group's lock; a failover now "
                                "would be refused (resume that execution, wait for it, or break an expired lease "
                                "with drs_break_lock=true)")


class ReadinessEvaluator:
    """drs: DRSClient of the recovery region; matcher: an InstanceMatcher over the same DRS client;
    settings: the launch_config.LaunchSettings the failover applies; store: a StateStore, or None."""

    def __init__(self, drs, matcher, settings, lag_threshold=60.0, quotas=None, fail_on_drift=False, store=None,
                 protection_group=None):
        self.drs = drs
        self.matcher = matcher
        self.settings = settings
        self.lag_threshold = float(lag_threshold)
        self.quotas = (quotas or Quotas()).validate()
        self.fail_on_drift = fail_on_drift
        self.store = store
        self.protection_group = protection_group

    def evaluate(self, waves):
        """waves: {wave number: [server names]}. Returns the readiness report (see module drs_preflight)."""
        if self.lag_threshold <= 0:
            raise ConfigurationError(f"lag_threshold must be positive; got {self.lag_threshold:g}.")
        plan = _plan(waves)
        group_checks = []
        stored_pairs = None
        if self.store is not None and self.protection_group:
            stored_pairs, store_checks = self._read_store()
            group_checks.extend(store_checks)
        servers = self.drs.describe_source_servers()
        group_checks.append(replicating_check(servers, self.quotas))
        by_id = {s["sourceServerID"]: s for s in servers}
        names = [name for _wave, hosts in plan for name in hosts]
        # One match for every wave: a target claimed by servers of two waves is caught here, where a match per
        # wave would let the second wave launch into the instance the first one recovered into.
        match = self.matcher.match(names=names, source_servers=servers, stored_pairs=stored_pairs)
        entries = _entries_by_name(match)
        report_waves = []
        for wave, hosts in plan:
            rows = [self._server(name, wave, entries.get(normalise(name)), by_id) for name in hosts]
            quota_checks, jobs = wave_quota_checks(len(hosts), self.quotas)
            not_ready = [r["name"] for r in rows if not r["ready"]]
            reasons = failures(quota_checks)
            report_waves.append({
                "wave": wave, "ready": not not_ready and not reasons, "server_count": len(hosts), "jobs": jobs,
                "not_ready": not_ready, "reasons": reasons, "warnings": warnings_of(quota_checks),
                "checks": quota_checks, "servers": rows,
            })
        group_reasons = failures(group_checks)
        ready = all(w["ready"] for w in report_waves) and not group_reasons
        report = {
            "ready": ready, "waves": report_waves, "checks": group_checks, "reasons": group_reasons,
            "notes": list(match.notes),
            "not_ready_servers": [n for w in report_waves for n in w["not_ready"]],
            "not_ready_waves": [w["wave"] for w in report_waves if not w["ready"]],
            "lag_threshold": self.lag_threshold,
        }
        report["summary"] = summary_lines(report)
        return report

    def _read_store(self):
        """(stored pairs or None, checks): the state tables exist, the stored pairs, the lock."""
        try:
            self.store.check_tables()
        except StateStoreError as error:
            return None, [check("state_tables", False, f"{error.message} (create them with the state_tables "
                                                       "playbook)")]
        checks = [check("state_tables", True, "state tables ACTIVE")]
        stored = self.store.get_pairs(self.protection_group)
        checks.append(lock_check(self.store.get_lock(self.protection_group)))
        return {p["source_server_id"]: p["target_instance_id"] for p in stored if p.get("target_instance_id")}, checks

    def _server(self, name, wave, found, by_id):
        kind, entry = found or ("unmatched", {"reason": "not considered by the match"})
        row = {"name": name, "wave": wave, "source_server_id": entry.get("source_server_id"),
               "source_instance_id": entry.get("source_instance_id"),
               "target_instance_id": entry.get("target_instance_id"), "matched_by": entry.get("matched_by"),
               "name_from": entry.get("name_from"), "replication_state": None, "lag_seconds": None, "drift": {}}
        checks = []
        if kind == "pairs":
            checks.append(check("match", True, f"paired with {entry['target_instance_id']} ({entry['matched_by']})"))
            checks.extend(c for c in entry["checks"] if not c["passed"])  # warnings only: the pair is valid
        elif kind == "invalid":
            failed = [c["message"] for c in entry["checks"] if not c["passed"] and c["severity"] == ERROR]
            checks.append(check("match", False, "invalid pair: " + "; ".join(failed)))
        else:
            checks.append(check("match", False, ("ambiguous: " if kind == "ambiguous" else "") + entry["reason"]))
        server = by_id.get(entry.get("source_server_id"))
        if server is not None:
            row["replication_state"], row["lag_seconds"] = replication_info(server)
            checks.append(replication_check(server, self.lag_threshold))
        elif kind != "ambiguous":
            checks.append(check("replication", False, "no DRS source server to replicate"))
        if kind == "pairs":
            current = self.drs.get_launch_configuration(entry["source_server_id"])
            drift, row["drift"] = drift_check(current, self.settings, entry["target_instance_id"], self.fail_on_drift)
            checks.append(drift)
        row.update({"checks": checks, "reasons": failures(checks), "warnings": warnings_of(checks)})
        row["ready"] = not row["reasons"]
        return row


def _plan(waves):
    plan = []
    seen = {}
    for key, hosts in (waves or {}).items():
        try:
            wave = int(key)
        except (TypeError, ValueError):
            raise ConfigurationError(f"Wave {key!r} is not a wave number.",
                                     remediation="Pass hosts_by_wave from drs_wave_plan.") from None
        for name in hosts or []:
            if normalise(name) in seen:
                raise ConfigurationError(f"{name} is in wave {seen[normalise(name)]} and wave {wave}; a server belongs "
                                         "to exactly one wave.", server=name)
            seen[normalise(name)] = wave
        plan.append((wave, list(hosts or [])))
    if not seen:
        raise ConfigurationError("No servers to check.", remediation="Pass hosts_by_wave from drs_wave_plan.")
    return sorted(plan)


def _entries_by_name(match):
    """{normalised name: (kind, entry)} from a MatchResult; the first entry of a name wins."""
    out = {}
    for kind in ("pairs", "invalid", "ambiguous", "unmatched"):
        for entry in getattr(match, kind):
            key = normalise(entry.get("name"))
            if key and key not in out:
                out[key] = (kind, entry)
    return out


def _replication_text(row):
    if row["replication_state"] is None:
        return "-"
    if row["lag_seconds"] is None:
        return row["replication_state"]
    return f"{row['replication_state']} {row['lag_seconds']:g}s"


def summary_lines(report):
    """A table per wave, for the screen: a row per server, then its reasons (and warnings) indented."""
    lines = []
    width = max([len(r["name"]) for w in report["waves"] for r in w["servers"]] + [6])
    header = f"  {'SERVER':<{width}}  {'RESULT':<9}  {'TARGET':<19}  {'REPLICATION':<18}  LAUNCH CONFIG"
    for wave in report["waves"]:
        state = "READY" if wave["ready"] else "NOT READY"
        lines.append(f"Wave {wave['wave']}: {state} ({wave['server_count']} servers, {wave['jobs']} job(s); "
                     f"{len(wave['not_ready'])} not ready)")
        lines.append(header)
        for row in wave["servers"]:
            evaluated = any(c["name"] == "launch_configuration" for c in row["checks"])
            drift = f"{len(row['drift'])} to change" if row["drift"] else ("ok" if evaluated else "-")
            lines.append(f"  {row['name']:<{width}}  {'ready' if row['ready'] else 'NOT READY':<9}  "
                         f"{row['target_instance_id'] or '-':<19}  {_replication_text(row):<18}  {drift}")
            lines.extend(f"  {'':<{width}}    x {reason}" for reason in row["reasons"])
            lines.extend(f"  {'':<{width}}    ! {warning}" for warning in row["warnings"])
        lines.extend(f"  wave x {reason}" for reason in wave["reasons"])
        lines.extend(f"  wave ! {warning}" for warning in wave["warnings"])
    for item in report["checks"]:
        lines.append(f"Group: {'ok' if item['passed'] else ('NOT READY' if item['severity'] == ERROR else '!')} "
                     f"{item['name']}: {item['message']}")
    lines.extend(f"Note: {note}" for note in report["notes"])
    lines.append("READY: every wave can fail over" if report["ready"] else
                 f"NOT READY: wave(s) {', '.join(str(w) for w in report['not_ready_waves']) or 'none'}; "
                 f"server(s) {', '.join(report['not_ready_servers']) or 'none'}"
                 + ("; group: " + "; ".join(report["reasons"]) if report["reasons"] else ""))
    return lines
