# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""One wave of a failback, from the recovery region into the original instances in the primary region
(docs/DRS_BEHAVIOUR.md section 7; docs/FAILOVER_FAILBACK_WORKFLOWS.md), in the engine's order:

- plan, read only, before the first change: what the failover left (find_failback), the original instances'
  private IPs (check_private_ips) and the originals themselves (prepare_originals, which also tags them);
- act: the DRS agent installed where asked, the primary region's launch configuration template set so that new
  FAILBACK servers launch into their originals, reverse replication started;
- wait: until every FAILBACK server is CONTINUOUS with a lag under the threshold;
- act again: the FAILBACK servers paired with the originals and configured to launch into them, the originals
  stopped and the failback jobs run (recovery.recover, adopting jobs a resumed run started);
- verify: the originals kept their private IPs;
- record: the wave, its servers and their failback states (failback_record), then the originals re-protected and
  the recovery region returned to standby.

A step that fails stops the wave there: what the steps before it did is recorded with the failure, and the rerun
with the same execution id goes on from the record and the AWS state (a launched server is not launched again).
"""

from ansible_collections.elasticdr.orchestration.plugins.module_utils import failback_record
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import DRSAPIError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import DROrchestrationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import StepFailed
from ansible_collections.elasticdr.orchestration.plugins.module_utils.failback_steps import check_private_ips
from ansible_collections.elasticdr.orchestration.plugins.module_utils.failback_steps import configure_launch_template
from ansible_collections.elasticdr.orchestration.plugins.module_utils.failback_steps import find_failback
from ansible_collections.elasticdr.orchestration.plugins.module_utils.failback_steps import install_agents
from ansible_collections.elasticdr.orchestration.plugins.module_utils.failback_steps import prepare_originals
from ansible_collections.elasticdr.orchestration.plugins.module_utils.failback_steps import return_to_standby
from ansible_collections.elasticdr.orchestration.plugins.module_utils.failback_steps import reverse_replication
from ansible_collections.elasticdr.orchestration.plugins.module_utils.launch_config import LaunchSettings
from ansible_collections.elasticdr.orchestration.plugins.module_utils.launch_config import configure_servers
from ansible_collections.elasticdr.orchestration.plugins.module_utils.recovery import recover

# The steps, by the names their failures are reported with ("Wave 1 ended FAILED at ...").
STEP_NAMES = {
    "find": "Find what the failover left for wave {wave}",
    "ip_before": "Check, before any change, the private IPs of the originals of wave {wave}",
    "originals": "Check the original instances and tag them as launch-into targets, wave {wave}",
    "agent": "Install the DRS agent on the recovery instances of wave {wave}",
    "template": "Let new FAILBACK servers launch into their originals, wave {wave}",
    "replication": "Replicate back until it can fail back, wave {wave}",
    "targets": "Pair the FAILBACK servers with the original instances, wave {wave}",
    "launch_config": "Configure the FAILBACK servers to launch into the originals, wave {wave}",
    "recovery": "Stop the originals and fail back wave {wave}",
    "ip_after": "Check the private IPs of the failed-back originals of wave {wave}",
    "reprotect": "Re-protect the failed-back originals of wave {wave}",
    "standby": "Return the recovery region to standby, wave {wave}",
}


class FailbackWave:
    """engine: the WaveEngine of the run (its connections act in the recovery region, with the primary region as
    their source; its options are drs_wave's)."""

    def __init__(self, engine):
        self.engine = engine
        self.options = engine.options
        self.recovery_side = engine.connections
        self.primary_side = engine.connections.swapped()
        self.check_mode = engine.check_mode
        self.show = engine.show
        self.results = {}
        self.current = "find"

    def _step(self, key, function, connections, params):
        self.current = key
        try:
            result = function(connections, params, check_mode=self.check_mode)
        except StepFailed as failure:
            # As the step's module registers it: its result with the failure.
            self.results[key] = dict(failure.result, failed=True, msg=str(failure.error))
            raise
        self.results[key] = result
        return result

    def run(self, wave, names):
        wave = int(wave)
        try:
            self._steps(wave, names)
            failure = {}
        except (StepFailed, DROrchestrationError, DRSAPIError) as failed:
            error = failed.error if isinstance(failed, StepFailed) else failed
            failure = {"task": STEP_NAMES[self.current].format(wave=wave), "msg": str(error), "error": error.to_dict()}
        return self._record(wave, failure)

    def _steps(self, wave, names):
        options = self.options
        primary, recovery_ = self.primary_side, self.recovery_side
        found = self._step("find", find_failback, recovery_, {
            "names": names, "failover_execution_id": options["failover_execution_id"],
            "protection_group": options["protection_group"], "table_prefix": options["table_prefix"]})
        self._step("ip_before", check_private_ips, primary, {
            "servers": found["originals"], "expect": "target", "fail_on_mismatch": True, "capture_only": False})
        self._step("originals", prepare_originals, primary, {
            "servers": found["servers"], "tag": options["tag_originals"], "require_failback_servers": False})
        if options["install_agent"] and found["agent_servers"]:
            self._step("agent", install_agents, recovery_, {
                "servers": found["agent_servers"], "wait_timeout": options["agent_timeout"],
                "poll_interval": float(options["poll_interval"])})
        self.show(f"wave {wave}: reverse replication of {len(found['recovery_instance_ids'])} recovery instance(s) to "
                  f"{primary.region}; waiting until every FAILBACK server is CONTINUOUS with a lag under "
                  f"{options['lag_threshold']:g} s (polls every {float(options['poll_interval']):g} s, at most "
                  f"{options['replication_timeout']} s)")
        template = None
        if options["failback_launch_template"]:
            # Before reverse replication creates the FAILBACK servers: DRS gives each new server its launch
            # configuration from this template (docs/DRS_BEHAVIOUR.md section 4).
            template = self._step("template", configure_launch_template, primary, {
                "template_id": None, "launch_disposition": options["launch_disposition"], "right_sizing": "NONE"})
        replication = self._step("replication", reverse_replication, recovery_, {
            "recovery_instance_ids": found["recovery_instance_ids"], "execution_id": options["execution_id"],
            "wave": str(wave), "lag_threshold": float(options["lag_threshold"]), "wait": True,
            "wait_timeout": options["replication_timeout"], "poll_interval": float(options["poll_interval"])})
        targets = self._step("targets", prepare_originals, primary, {
            "servers": found["servers"], "tag": options["tag_originals"], "require_failback_servers": True})
        if targets["pairs"]:
            settings = LaunchSettings(launch_disposition=options["launch_disposition"])
            from_template = (replication.get("created") or []) if template else []
            self.current = "launch_config"
            self.results["launch_config"] = configure_servers(
                primary.recovery_drs, primary.recovery_ec2, targets["pairs"], settings, from_template=from_template,
                template=(template or {}).get("template"), check_mode=self.check_mode)
            self.current = "recovery"
            result = recover(primary.recovery_drs(), primary.recovery_ec2(), targets["pairs"], {
                "mode": "recovery", "execution_id": options["execution_id"], "wave": str(wave),
                "servers_per_job": options["servers_per_job"], "poll_interval": float(options["poll_interval"]),
                "wait_timeout": options["wait_timeout"]}, check_mode=self.check_mode,
                on_progress=self.engine.progress_callback(wave))
            failure = result.pop("failure")
            self.results["recovery"] = result
            if failure is not None:
                self.results["recovery"] = dict(result, failed=True, msg=str(failure))
                raise StepFailed(failure, result)
            self._step("ip_after", check_private_ips, primary, {
                "servers": targets["pairs"], "expect": "target", "fail_on_mismatch": True, "capture_only": False})
        # In check mode nothing was launched, so there is no recovery instance to re-protect yet.
        if targets["original_instance_ids"] and not self.check_mode:
            self._step("reprotect", reverse_replication, primary, {
                "recovery_instance_ids": targets["original_instance_ids"], "execution_id": None, "wave": None,
                "wait": options["wait_reprotect"], "lag_threshold": float(options["lag_threshold"]),
                "wait_timeout": options["replication_timeout"], "poll_interval": float(options["poll_interval"])})
        # DRS's failback clean-up order: stop the FAILBACK servers' replication, then the recovery instances (the
        # launch-into targets, never terminated), so the application does not run in both regions at once.
        if options["standby_after_failback"] and targets.get("servers"):
            self._step("standby", return_to_standby, recovery_, {
                "servers": targets["servers"], "stop_replication": True, "stop_instances": True})

    def _record(self, wave, failure):
        options = self.options
        results = self.results
        built = failback_record.build(
            found=results.get("find"), ip_before=results.get("ip_before"), originals=results.get("originals"),
            agent=results.get("agent"), replication=results.get("replication"), targets=results.get("targets"),
            recovery=results.get("recovery"), ip_after=results.get("ip_after"), reprotect=results.get("reprotect"),
            standby=results.get("standby"), failure=failure, check_mode=self.check_mode)
        recovery = results.get("recovery") or {}
        job_ids = sorted(set((recovery.get("started_jobs") or []) + (recovery.get("adopted_jobs") or [])))
        status, tally = built["status"], built["counts"]
        record = self.engine.recorder().record_wave_end(
            wave, status, servers=built["servers"], job_ids=job_ids, error=built.get("error"),
            lease_seconds=options["lease_seconds"], counts=tally)
        states = failback_record.state_items(built["states"], options["protection_group"], options["execution_id"])
        if not self.check_mode:
            self.engine.store.put_failback_states(states)
        record["failback_states"] = states
        record["summary"] = failback_record.summary_lines(wave, status, built["servers"], tally,
                                                          check_mode=self.check_mode)
        self.engine.publish(wave, record, None)
        outcome = self.engine.outcome(wave, record, None, results.get("recovery"), changed=True)
        outcome["steps"] = results
        if status != "COMPLETED":
            where = f' at "{failure["task"]}"' if failure.get("task") else ""
            message = ((record.get("wave") or {}).get("error") or {}).get("message") or "see the summary above"
            outcome["msg"] = (f"Wave {wave} ended {status}{where}: {message} Fix the causes shown above (each server's "
                              f"error has a remediation) and rerun with -e drs_execution_id={options['execution_id']}: "
                              "completed waves are skipped and servers already failed back are not launched again.")
        return outcome
