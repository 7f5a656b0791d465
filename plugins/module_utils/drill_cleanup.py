# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Tidying up after a drill into launch-into targets, without ever terminating an instance.

A drill launched into a pre-provisioned target leaves that target running on the drill's recovered volumes,
with a DRS recovery instance record (isDrill=true) whose EC2 instance is the target itself. The DRS console's
"terminate" (TerminateRecoveryInstances) would terminate that EC2 instance, i.e. the target (docs/DRS_BEHAVIOUR.md
section 4), so the clean-up is instead: stop the target (only an instance tagged
AWSDRS=AllowLaunchingIntoThisInstance is ever stopped), then DisconnectRecoveryInstance and
DeleteRecoveryInstance, which both keep the EC2 instance (section 6).

What is left afterwards, on purpose: the target keeps the drill's recovered volumes (the next drill or failover
swaps them again), and the target's volumes from before the drill stay in the account, detached (what DRS does
with them is undocumented, section 10; the simulator keeps them tagged drs:replaced-on-instance).

Planning reads everything and refuses, naming the servers, what must not be touched (a recovery instance that
is not a drill, a running instance that is not a launch-into target, an instance replicating back) before the
first change; check mode returns the plan. A server with nothing left to clean is left alone, so a second run
changes nothing.
"""

from ansible_collections.elasticdr.orchestration.plugins.module_utils.ec2 import LAUNCH_INTO_TAG_KEY
from ansible_collections.elasticdr.orchestration.plugins.module_utils.ec2 import LAUNCH_INTO_TAG_VALUE
from ansible_collections.elasticdr.orchestration.plugins.module_utils.ec2 import has_launch_into_tag
from ansible_collections.elasticdr.orchestration.plugins.module_utils.ec2 import primary_private_ip
from ansible_collections.elasticdr.orchestration.plugins.module_utils.ec2 import state_of
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ConfigurationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import DRSAPIError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import RecoveryError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import StepFailed
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ValidationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.models import SOURCE_SERVER_ID
from ansible_collections.elasticdr.orchestration.plugins.module_utils.recovery import RecoveryRunner

# Cleanup outcome of each server (stored as the server's launch_status in a DRILL_CLEANUP execution record).
CLEANED = "CLEANED"
WOULD_CLEAN = "WOULD_CLEAN"
NOTHING_TO_CLEAN = "NOTHING_TO_CLEAN"
SKIPPED = "SKIPPED"
NOT_MATCHED = "NOT_MATCHED"
FAILED = "FAILED"
STATUSES = (CLEANED, WOULD_CLEAN, NOTHING_TO_CLEAN, SKIPPED, NOT_MATCHED, FAILED)

# What to do with a recovery instance that is not a drill (a real recovery: it may be running production).
NON_DRILL_CHOICES = ("refuse", "skip", "clean")

STOP, DISCONNECT, DELETE = "stop", "disconnect", "delete"
RUNNING_STATES = ("pending", "running", "stopping")
GONE_STATES = ("shutting-down", "terminated")
# failback.state of a recovery instance that is not replicating back (docs/DRS_BEHAVIOUR.md section 6).
NO_FAILBACK_STATES = (None, "FAILBACK_NOT_STARTED")
STOP_TIMEOUT = 600
STOP_POLL = 5


def normalise_servers(servers):
    """The servers to clean up, from drs_instance_match entries (pairs, invalid, unmatched, ambiguous) or plain
    {source_server_id, name} dicts: one entry per source server; entries without one are NOT_MATCHED."""
    out, seen, bad = [], set(), []
    for item in servers or []:
        if not isinstance(item, dict):
            raise ConfigurationError(f"Every entry of servers must be a dict; got {item!r}.",
                                     remediation="Pass drs_instance_match results or {source_server_id, name} dicts.")
        sid = item.get("source_server_id")
        name = item.get("name") or sid
        if not sid:
            if name and name not in seen:
                seen.add(name)
                out.append({"name": name, "source_server_id": None, "reason": item.get("reason")})
            continue
        if not SOURCE_SERVER_ID.match(str(sid)):
            bad.append(f"{name}: {sid!r}")
            continue
        if sid in seen:
            continue
        seen.add(sid)
        out.append({"name": name, "source_server_id": sid, "target_instance_id": item.get("target_instance_id"),
                    "source_instance_id": item.get("source_instance_id"),
                    "source_private_ip": item.get("source_private_ip")})
    if bad:
        raise ConfigurationError(f"Not a DRS source server ID: {'; '.join(bad)}.", server=", ".join(bad),
                                 remediation="Source server IDs look like s-0123456789abcdef0; pass the servers "
                                             "as drs_instance_match returns them.")
    return out


def _failback_state(recovery_instance):
    return (recovery_instance.get("failback") or {}).get("state")


def _disconnected(recovery_instance):
    return (recovery_instance.get("dataReplicationInfo") or {}).get("dataReplicationState") == "DISCONNECTED"


def _unique_names(items):
    """Record names are keys within a wave: a name given twice gets its recovery instance (or server) appended."""
    seen = {}
    for item in items:
        seen[item["name"]] = seen.get(item["name"], 0) + 1
    for item in items:
        if seen[item["name"]] > 1:
            item["name"] = f"{item['name']} ({item.get('recovery_instance_id') or item.get('source_server_id')})"
    return items


class DrillCleaner:
    """drs: DRSClient and ec2: EC2Client of the recovery account and region."""

    def __init__(self, drs, ec2, stop_timeout=STOP_TIMEOUT, stop_poll=STOP_POLL, sleep=None):
        self.drs = drs
        self.ec2 = ec2
        self.stop_timeout = stop_timeout
        self.stop_poll = stop_poll
        self.sleep = sleep

    def plan(self, servers, non_drill="refuse"):
        """Read the recovery instances of the servers and their EC2 instances; decide per recovery instance what
        to stop, disconnect and delete. No mutating call. Raises ConfigurationError/ValidationError naming every
        server at fault."""
        if non_drill not in NON_DRILL_CHOICES:
            raise ConfigurationError(f"non_drill_instances must be one of {', '.join(NON_DRILL_CHOICES)}; got "
                                     f"{non_drill!r}.", remediation="Use refuse (the default), skip or clean.")
        entries = normalise_servers(servers)
        ids = [e["source_server_id"] for e in entries if e["source_server_id"]]
        records = {}
        for item in self.drs.describe_recovery_instances(source_server_ids=ids) if ids else []:
            records.setdefault(item.get("sourceServerID"), []).append(item)
        instance_ids = [r.get("ec2InstanceID") or r.get("recoveryInstanceID") for rs in records.values() for r in rs]
        instances = self.ec2.describe_instances(instance_ids) if instance_ids else {}

        items, problems = [], []
        for entry in entries:
            sid = entry["source_server_id"]
            base = {"name": entry["name"], "source_server_id": sid, "target_instance_id": entry.get("target_instance_id"),
                    "source_instance_id": entry.get("source_instance_id"),
                    "source_private_ip": entry.get("source_private_ip")}
            if not sid:
                items.append(dict(base, cleanup_status=NOT_MATCHED, actions=[],
                                  note=entry.get("reason") or "no DRS source server: nothing to clean up"))
                continue
            found = sorted(records.get(sid) or [], key=lambda r: r.get("recoveryInstanceID") or "")
            if not found:
                items.append(dict(base, cleanup_status=NOTHING_TO_CLEAN, actions=[],
                                  note="no recovery instance: nothing to clean up"))
                continue
            for record in found:
                item, problem = self._plan_one(base, record, instances, non_drill)
                items.append(item)
                if problem:
                    problems.append((item["name"], problem))
        if problems:
            raise ValidationError(
                "Drill clean-up refused, nothing was changed: " + "; ".join(f"{n}: {why}" for n, why in problems),
                server=", ".join(n for n, _why in problems),
                details={"problems": [{"server": n, "problem": why} for n, why in problems]},
                remediation="Drill clean-up only stops, disconnects and deletes the recovery instances of drills "
                            "launched into tagged targets. Leave a recovery (isDrill=false) alone with "
                            "non_drill_instances=skip (drs_cleanup_non_drill=skip in drill_cleanup.yml), or clean "
                            "it up too with non_drill_instances=clean (drs_cleanup_non_drill=clean) only if "
                            "nothing runs on it; a drill launched as a new instance is terminated in the DRS console "
                            "(the collection never terminates an instance); an instance replicating back is handled "
                            "by failback.")
        return {"servers": _unique_names(items), "instances": instances}

    @staticmethod
    def _plan_one(base, record, instances, non_drill):
        """(item, problem or None) for one recovery instance of a server."""
        rid = record.get("recoveryInstanceID")
        ec2_id = record.get("ec2InstanceID") or rid
        instance = instances.get(ec2_id)
        state = state_of(instance) if instance else None
        is_drill = bool(record.get("isDrill"))
        item = dict(base, recovery_instance_id=rid, target_instance_id=ec2_id, is_drill=is_drill,
                    job_id=record.get("jobID"), instance_state=state or "not-found",
                    target_private_ip=primary_private_ip(instance) if instance else None, actions=[])
        if base.get("target_instance_id") and base["target_instance_id"] != ec2_id:
            item["note"] = (f"the recovery instance is {ec2_id}, not the launch-into target "
                            f"{base['target_instance_id']} paired with the server")
        if not is_drill:
            if non_drill == "skip":
                item.update(cleanup_status=SKIPPED,
                            note=f"recovery instance {rid} is not a drill (isDrill=false): left as it is")
                return item, None
            if non_drill == "refuse":
                item["cleanup_status"] = FAILED
                return item, (f"recovery instance {rid} is not a drill (isDrill=false, job {record.get('jobID')}): "
                              "it may be running production after a failover")
        if _failback_state(record) not in NO_FAILBACK_STATES:
            item["cleanup_status"] = FAILED
            return item, (f"recovery instance {rid} is replicating back (failback state {_failback_state(record)}); "
                          "deleting it would orphan its failback source server")
        if instance is not None and state in RUNNING_STATES:
            if not has_launch_into_tag(instance):
                item["cleanup_status"] = FAILED
                return item, (f"instance {ec2_id} is {state} and not tagged {LAUNCH_INTO_TAG_KEY}="
                              f"{LAUNCH_INTO_TAG_VALUE}, so it is not a launch-into target the collection may stop")
            item["actions"].append(STOP)
        if not _disconnected(record):
            item["actions"].append(DISCONNECT)
        item["actions"].append(DELETE)
        item["cleanup_status"] = WOULD_CLEAN
        return item, None

    def apply(self, plan):
        """Stop the targets (and wait until they are stopped), then disconnect and delete each recovery
        instance. An AWS error on one server is recorded on it and the others go on (a rerun finishes the job)."""
        servers = plan["servers"]
        to_stop = [plan["instances"][s["target_instance_id"]] for s in servers if STOP in s["actions"]]
        stopped = []
        if to_stop:
            runner = RecoveryRunner(self.drs, self.ec2)
            stopped = runner.stop_targets(to_stop, timeout=self.stop_timeout, poll=self.stop_poll, sleep=self.sleep)
        disconnected, deleted = [], []
        for item in servers:
            if item["cleanup_status"] != WOULD_CLEAN:
                continue
            rid = item["recovery_instance_id"]
            try:
                if DISCONNECT in item["actions"]:
                    self.drs.disconnect_recovery_instance(rid)
                    disconnected.append(rid)
                self.drs.delete_recovery_instance(rid)
                deleted.append(rid)
                item["cleanup_status"] = CLEANED
            except DRSAPIError as error:
                item["cleanup_status"] = FAILED
                item["error"] = {
                    "error": "DRSAPIError", "message": f"{error.message}: {error.code or error.exception}",
                    "server": item["name"], "cause": error.code,
                    "remediation": "Check the recovery instance in the DRS console (and the role's "
                                   "drs:DisconnectRecoveryInstance / drs:DeleteRecoveryInstance permissions), then run "
                                   "the clean-up again: what is already done is not done twice."}
        if stopped:
            for item in servers:
                if item["target_instance_id"] in stopped:
                    item["instance_state"] = "stopped"
        return {"stopped": stopped, "disconnected": disconnected, "deleted": deleted}


def outcome(servers, applied=None, check_mode=False):
    """The module's result: servers, what was (or would be) stopped/disconnected/deleted, counts, wave status,
    records for drs_execution and summary lines."""
    if applied is None:
        applied = {
            "stopped": sorted({s["target_instance_id"] for s in servers if STOP in s["actions"]}),
            "disconnected": [s["recovery_instance_id"] for s in servers if DISCONNECT in s["actions"]],
            "deleted": [s["recovery_instance_id"] for s in servers if DELETE in s["actions"]],
        }
    tally = {status.lower(): 0 for status in STATUSES}
    for item in servers:
        tally[item["cleanup_status"].lower()] += 1
    failed = tally["failed"]
    if failed == 0:
        status = "COMPLETED"
    else:
        status = "FAILED" if failed == len(servers) else "PARTIAL"
    changed = bool(applied["stopped"] or applied["disconnected"] or applied["deleted"])
    return {
        "changed": changed, "servers": servers, "stopped": list(applied["stopped"]),
        "disconnected": list(applied["disconnected"]), "deleted": list(applied["deleted"]),
        "counts": tally, "wave_status": status, "records": records_of(servers),
        "summary": summary_lines(servers, applied, check_mode),
    }


def records_of(servers):
    """Server records for the execution record (drs_execution servers): the cleanup outcome is stored as the
    record's launch_status, so drs_execution_info counts it like any other outcome."""
    out = []
    for item in servers:
        record = {
            "name": item["name"], "source_server_id": item.get("source_server_id"),
            "source_instance_id": item.get("source_instance_id"), "source_private_ip": item.get("source_private_ip"),
            "target_instance_id": item.get("target_instance_id"), "recovery_instance_id": item.get("recovery_instance_id"),
            "target_private_ip": item.get("target_private_ip"), "job_id": item.get("job_id"),
            "launch_status": item["cleanup_status"], "error": item.get("error"),
        }
        out.append({k: v for k, v in record.items() if v is not None})
    return out


def summary_lines(servers, applied, check_mode=False):
    verb = ("would stop", "would disconnect", "would delete") if check_mode else ("stopped", "disconnected", "deleted")
    lines = [f"Drill clean-up: {verb[0]} {len(applied['stopped'])} target(s), {verb[1]} {len(applied['disconnected'])} "
             f"and {verb[2]} {len(applied['deleted'])} recovery instance(s); no instance terminated"]
    for item in sorted(servers, key=lambda s: s["name"] or ""):
        line = (f"  {item['name']:<24} {item['cleanup_status']:<16} {item.get('recovery_instance_id') or '-':<21} "
                f"{','.join(item['actions']) or '-'}")
        message = (item.get("error") or {}).get("message") or item.get("note")
        if message:
            line += f"  {message}"
        lines.append(line.rstrip())
    return lines


def clean_up(connections, params, check_mode=False, diff=False):  # pylint: disable=unused-argument
    """drs_drill_cleanup's body: plan (refusing, before any change, what is not a drill into a tagged target), then
    stop the targets and remove the drill recovery instances. Raises StepFailed when an instance could not be
    removed, with the result."""
    cleaner = DrillCleaner(connections.recovery_drs(), connections.recovery_ec2())
    plan = cleaner.plan(params["servers"], non_drill=params["non_drill_instances"])
    if check_mode:
        return outcome(plan["servers"], check_mode=True)
    result = outcome(plan["servers"], cleaner.apply(plan))
    failed = [s for s in result["servers"] if s["cleanup_status"] == "FAILED"]
    if failed:
        first = failed[0]
        error = RecoveryError(
            f"{len(failed)} recovery instance(s) could not be removed; first: {first['name']}: "
            f"{(first.get('error') or {}).get('message')}", server=first["name"],
            remediation=(first.get("error") or {}).get("remediation"))
        raise StepFailed(error, result)
    return result
