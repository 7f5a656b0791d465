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
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ValidationError

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
