# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Running a recovery (or drill, or failback launch) for a set of source servers, safely and resumably.

Jobs are tagged with the execution id and wave, so a rerun of the same execution adopts the jobs it
already started instead of launching again: a server that is in a running job or already LAUNCHED is
never launched a second time. Launch-into targets are stopped first when asked (DRS does not stop them),
and only instances tagged AWSDRS=AllowLaunchingIntoThisInstance are ever stopped.
"""

import datetime

from ansible_collections.elasticdr.orchestration.plugins.module_utils.drs import ACTIVE_JOB_STATES
from ansible_collections.elasticdr.orchestration.plugins.module_utils.drs import launch_into_target
from ansible_collections.elasticdr.orchestration.plugins.module_utils.drs import replication_info
from ansible_collections.elasticdr.orchestration.plugins.module_utils.ec2 import has_launch_into_tag
from ansible_collections.elasticdr.orchestration.plugins.module_utils.ec2 import state_of
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ConfigurationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import JobTimeoutError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import RecoveryError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ValidationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.ip_validation import check
from ansible_collections.elasticdr.orchestration.plugins.module_utils.ip_validation import validate
from ansible_collections.elasticdr.orchestration.plugins.module_utils.job_monitor import JobMonitor
from ansible_collections.elasticdr.orchestration.plugins.module_utils.job_monitor import counts
from ansible_collections.elasticdr.orchestration.plugins.module_utils.job_monitor import summarise

EXECUTION_TAG = "elasticdr:execution-id"
WAVE_TAG = "elasticdr:wave"
MODE_TAG = "elasticdr:mode"


def job_tags(execution_id, wave=None, mode=None):
    tags = {EXECUTION_TAG: execution_id}
    if wave is not None:
        tags[WAVE_TAG] = str(wave)
    if mode:
        tags[MODE_TAG] = mode
    return tags


def execution_jobs(drs, execution_id, wave=None, lookback_days=14, now=None):
    """LAUNCH jobs tagged with this execution (and wave), newest last."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    since = (now - datetime.timedelta(days=lookback_days)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    jobs = []
    for job in drs.describe_jobs(from_date=since):
        tags = job.get("tags") or {}
        if tags.get(EXECUTION_TAG) != execution_id or job.get("type", "LAUNCH") != "LAUNCH":
            continue
        if wave is not None and tags.get(WAVE_TAG) != str(wave):
            continue
        jobs.append(job)
    jobs.sort(key=lambda j: j.get("creationDateTime") or "")
    return jobs


def plan_launches(server_ids, existing_jobs, retry_failed=True):
    """Decide, per server, whether to adopt an existing job of this execution or launch.

    Returns {"adopt": {server: job_id}, "launch": [server, ...]}. The latest job of a server wins: active
    or LAUNCHED -> adopt; FAILED -> launch again only when retry_failed.
    """
    latest = {}
    for job in existing_jobs:
        for item in job.get("participatingServers") or []:
            latest[item["sourceServerID"]] = (job, item)
    adopt, launch = {}, []
    for server_id in server_ids:
        found = latest.get(server_id)
        if found is None:
            launch.append(server_id)
            continue
        job, item = found
        status = item.get("launchStatus")
        if job.get("status") in ACTIVE_JOB_STATES or status == "LAUNCHED" or not retry_failed:
            adopt[server_id] = job["jobID"]
        else:
            launch.append(server_id)
    return {"adopt": adopt, "launch": launch}


class RecoveryRunner:
    """drs: DRSClient of the region where the servers replicate; ec2: EC2Client of the same account/region."""

    def __init__(self, drs, ec2):
        self.drs = drs
        self.ec2 = ec2
        self._known_job_ids = set()

    def prepare(self, servers, execution_id=None, wave=None, retry_failed=True, stop_targets=True):
        """Read everything, validate, and decide; no mutating call. Raises ConfigurationError /
        ValidationError naming the server at fault."""
        ids = [s["source_server_id"] for s in servers]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ConfigurationError(f"Source servers listed more than once: {', '.join(duplicates)}.",
                                     server=", ".join(duplicates), remediation="List each source server once.")
        known = {s["sourceServerID"]: s for s in self.drs.describe_source_servers(ids)}
        missing = [i for i in ids if i not in known]
        if missing:
            raise ConfigurationError(
                f"No DRS source server {', '.join(missing)} in this account and region.", server=", ".join(missing),
                remediation="Check the source server IDs (drs_source_server_info lists them) and the region/role.")
        targets = {}
        for server in servers:
            sid = server["source_server_id"]
            target = server.get("target_instance_id")
            if not target:
                # Read the target whatever stop_targets says: with stop_targets=false a running target must
                # still be refused here, before anything starts.
                target = launch_into_target(self.drs.get_launch_configuration(sid))
            if target:
                targets[sid] = target
        instances = self.ec2.describe_instances(targets.values()) if targets else {}
        # Decide before checking: a target's state matters only for a server launched now. The target of a
        # server adopted from an earlier run is the recovered server itself, running since its launch.
        existing = execution_jobs(self.drs, execution_id, wave) if execution_id else []
        self._known_job_ids = {j["jobID"] for j in existing}
        plan = plan_launches(ids, existing, retry_failed)
        launching = set(plan["launch"])
        problems = []
        for sid, target in targets.items():
            instance = instances.get(target)
            if instance is None:
                problems.append((sid, f"launch-into target {target} does not exist in this account and region"))
            elif not has_launch_into_tag(instance):
                problems.append((sid, f"launch-into target {target} is not tagged AWSDRS=AllowLaunchingIntoThisInstance"))
            elif state_of(instance) in ("terminated", "shutting-down"):
                problems.append((sid, f"launch-into target {target} is {state_of(instance)}"))
            elif not stop_targets and sid in launching and state_of(instance) != "stopped":
                problems.append((sid, f"launch-into target {target} is {state_of(instance)}; DRS needs it stopped "
                                      "(set stop_targets=true to stop it first)"))
        if problems:
            raise ValidationError(
                "Launch-into targets not ready: " + "; ".join(f"{sid}: {why}" for sid, why in problems),
                server=", ".join(sid for sid, _why in problems),
                details={"problems": [{"source_server_id": sid, "problem": why} for sid, why in problems]})
        # A stopping target is waited for too: DRS needs it stopped (docs/DRS_BEHAVIOUR.md section 4).
        to_stop = [instances[targets[sid]] for sid in plan["launch"]
                   if sid in targets and state_of(instances[targets[sid]]) in ("pending", "running", "stopping")]
        return {
            "servers": known, "targets": targets, "target_instances": instances, "existing_jobs": existing,
            "adopt": plan["adopt"], "launch": plan["launch"], "to_stop": to_stop,
            "replication": {sid: replication_info(s) for sid, s in known.items()},
        }

    def stop_targets(self, instances, timeout=600, poll=5, sleep=None):
        """Stop running targets (tagged only) and wait until they are stopped."""
        stopped = self.ec2.stop_launch_into_targets(instances)
        # A target already stopping gets no StopInstances, but the launch must wait for it as well.
        waiting = stopped + [i["InstanceId"] for i in instances if state_of(i) == "stopping"]
        if waiting:
            kwargs = {"timeout": timeout, "poll": poll}
            if sleep is not None:
                kwargs["sleep"] = sleep
            left = self.ec2.wait_for_state(waiting, "stopped", **kwargs)
            if left:
                raise ValidationError(
                    "Targets did not stop in time: " + ", ".join(f"{i} ({s})" for i, s in sorted(left.items())),
                    server=", ".join(sorted(left)),
                    remediation="Check the instances in the EC2 console (a stop can hang on an unresponsive OS; "
                                "force-stop it), then run the play again.")
        return stopped

    def start(self, server_ids, is_drill, execution_id=None, wave=None):
        mode = "drill" if is_drill else "recovery"
        tags = job_tags(execution_id, wave, mode) if execution_id else {}
        # The jobs prepare() saw are older than this call: after a lost StartRecovery response none of them is
        # taken for the job the call started (DRSClient.find_started_job).
        return self.drs.start_recovery(server_ids, is_drill, tags, known_job_ids=self._known_job_ids)


# The options of a recovery (drs_recovery's, which the wave engine passes too) and their defaults.
RECOVERY_DEFAULTS = {
    "mode": "recovery", "execution_id": None, "wave": None, "stop_targets": True, "retry_failed": True,
    "wait": True, "wait_timeout": 3600, "waited_seconds": 0.0, "poll_interval": 30.0, "return_after": 0.0,
    "servers_per_job": 100, "fail_on_launch_failure": True, "validate_ips": "none",
}


def check_options(options):
    """Refuse bad recovery options before any AWS call."""
    if not 1 <= options["servers_per_job"] <= 200:
        raise ConfigurationError(
            f"servers_per_job must be between 1 and 200; got {options['servers_per_job']}.",
            remediation="StartRecovery accepts at most 200 source servers per call, and the DRS quota is 100 per "
                        "job unless raised for the account.")
    if options["wait_timeout"] < 0 or options["poll_interval"] <= 0 or options["return_after"] < 0:
        raise ConfigurationError("wait_timeout and return_after must be >= 0 and poll_interval > 0.")


def server_items(items):
    """The servers of a recovery, each {source_server_id, target_instance_id, name}; every one needs an id."""
    servers = []
    for item in items:
        if not item.get("source_server_id"):
            raise ConfigurationError("Every entry of servers needs a source_server_id.", server=item.get("name"))
        servers.append({k: item.get(k) for k in ("source_server_id", "target_instance_id", "name")})
    return servers


def recover(drs, ec2, items, options, check_mode=False, on_progress=None):
    """Stop the launch-into targets, start (or adopt) the jobs of items and wait for them, then check the IPs.

    items: the servers (drs_instance_match pairs); options: RECOVERY_DEFAULTS overridden. Returns the result
    drs_recovery documents; result["failure"] is the error the run ends with (a timeout, or a launch failure
    with fail_on_launch_failure), else None. on_progress(snapshot) is called after each poll (JobMonitor)."""
    options = dict(RECOVERY_DEFAULTS, **options)
    check_options(options)
    servers = server_items(items)
    expect = None if options["validate_ips"] == "none" else options["validate_ips"]
    runner = RecoveryRunner(drs, ec2)
    plan = runner.prepare(servers, execution_id=options["execution_id"], wave=options["wave"],
                          retry_failed=options["retry_failed"], stop_targets=options["stop_targets"])
    ip_pairs = _ip_pairs(items, plan["targets"]) if expect else []
    if expect:
        # The expected IPs are checked now, before anything changes (validate raises on a missing one).
        validate(ip_pairs, {}, expect)

    def check_ips(result):
        return dict(result, ip_validation=check(ec2, ip_pairs, expect)) if expect else result

    is_drill = options["mode"] == "drill"
    to_stop = [i["InstanceId"] for i in plan["to_stop"]]
    adopted_jobs = sorted(set(plan["adopt"].values()))
    labels = {s["source_server_id"]: s for s in servers}

    if check_mode:
        status = {sid: {"launch_status": "WOULD_LAUNCH"} for sid in plan["launch"]}
        status.update(summarise([j for j in plan["existing_jobs"] if j["jobID"] in adopted_jobs]))
        return check_ips(_result(labels, plan, status, started=[], adopted=adopted_jobs, stopped=to_stop,
                                 changed=bool(plan["launch"]), monitor=None))

    stopped = runner.stop_targets(plan["to_stop"]) if options["stop_targets"] and plan["to_stop"] else []
    started = runner.start(plan["launch"], is_drill, options["execution_id"], options["wave"]) if plan["launch"] else []
    started_ids = [j["jobID"] for j in started]
    job_ids = started_ids + adopted_jobs
    if not options["wait"]:
        status = summarise(started + [j for j in plan["existing_jobs"] if j["jobID"] in adopted_jobs])
        return _result(labels, plan, status, started_ids, adopted_jobs, stopped, bool(started_ids), monitor=None)
    remaining = max(0.0, options["wait_timeout"] - options["waited_seconds"])
    return_after = options["return_after"]
    slice_ends = 0 < return_after < remaining
    monitor = JobMonitor(drs, poll_interval=options["poll_interval"], timeout=return_after if slice_ends else remaining,
                         on_progress=on_progress).wait(job_ids)
    result = _result(labels, plan, monitor["servers"], started_ids, adopted_jobs, stopped,
                     bool(started_ids or stopped), monitor)
    if monitor["timed_out"] and slice_ends:
        # Not the end of wait_timeout: the caller shows progress and calls again to go on waiting.
        return dict(result, timed_out=False, waiting=True)
    result = check_ips(result)
    if monitor["timed_out"]:
        result["failure"] = JobTimeoutError(
            f"{len(monitor['in_flight'])} server(s) still in flight after {options['wait_timeout']} s: "
            f"{', '.join(monitor['in_flight'][:10])}", server=", ".join(monitor["in_flight"][:10]),
            details={"job_ids": job_ids})
        return result
    failed = [s for s in result["servers"] if s["launch_status"] == "FAILED"]
    if failed and options["fail_on_launch_failure"]:
        first = failed[0]
        result["failure"] = RecoveryError(
            f"{len(failed)} of {len(result['servers'])} server(s) failed to launch; first: "
            f"{first['name'] or first['source_server_id']}: {(first.get('error') or {}).get('message')}",
            server=first["name"] or first["source_server_id"])
    return result


def _result(labels, plan, status, started, adopted, stopped, changed, monitor):
    servers = []
    for sid, label in labels.items():
        item = status.get(sid, {})
        state, lag = plan["replication"].get(sid, (None, None))
        servers.append({
            "source_server_id": sid, "name": label.get("name"),
            "target_instance_id": plan["targets"].get(sid) or label.get("target_instance_id"),
            "job_id": item.get("job_id"), "launch_status": item.get("launch_status", "PENDING"),
            "recovery_instance_id": item.get("recovery_instance_id"), "adopted": sid in plan["adopt"],
            "error": item.get("error"), "replication_state": state, "lag_seconds": lag,
        })
    tally = counts({s["source_server_id"]: {"launch_status": s["launch_status"]} for s in servers})
    return {
        "changed": changed, "servers": servers, "started_jobs": started, "adopted_jobs": adopted,
        "stopped_targets": stopped, "counts": tally,
        "timed_out": bool(monitor and monitor["timed_out"]),
        "in_flight": monitor["in_flight"] if monitor else [s["source_server_id"] for s in servers
                                                           if s["launch_status"] not in ("LAUNCHED", "FAILED")],
        "polls": monitor["polls"] if monitor else 0,
        "progress": monitor["history"] if monitor else [],
        "waiting": False, "failure": None,
    }


def _ip_pairs(items, targets):
    pairs = []
    for item in items:
        instance_id = item.get("target_instance_id") or targets.get(item["source_server_id"])
        if instance_id:
            pairs.append(dict(item, instance_id=instance_id))
    return pairs
