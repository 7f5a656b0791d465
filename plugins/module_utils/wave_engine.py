# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The wave engine: one wave of a failover or a drill, plan -> act -> wait -> verify -> record.

- plan: the wave's servers matched with their launch-into targets (or the match prepare() made for the whole
  run, before the first launch); a wave with a server that cannot be paired does not start unless partial
  waves are allowed.
- act: DRS configured to launch into the targets, the targets stopped, the recovery jobs started or adopted
  (recovery.recover).
- wait: the jobs polled in this process, a progress line each time the counts change.
- verify: the private IPs checked against the targets (ip_validation).
- record: the wave, its servers and the next wave RUNNING written to the execution record in one step
  (ExecutionRecorder.record_wave_end); the CloudWatch metrics published, never stopping the run.

The execution record holds the run's state: a wave it records COMPLETED is skipped on resume, a wave it
records RUNNING is not recorded RUNNING again, and the next wave is worked out from it. The engine needs no
Ansible: the drs_wave action runs it in the controller process, tests run it against the simulator.
docs/ARCHITECTURE.md shows where it sits.
"""

import time

from ansible_collections.elasticdr.orchestration.plugins.module_utils import matching
from ansible_collections.elasticdr.orchestration.plugins.module_utils import metrics
from ansible_collections.elasticdr.orchestration.plugins.module_utils.drill_cleanup import clean_up
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ConfigurationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import DROrchestrationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import StepFailed
from ansible_collections.elasticdr.orchestration.plugins.module_utils.executions import ExecutionRecorder
from ansible_collections.elasticdr.orchestration.plugins.module_utils.failback_engine import FailbackWave
from ansible_collections.elasticdr.orchestration.plugins.module_utils.launch_config import LaunchSettings
from ansible_collections.elasticdr.orchestration.plugins.module_utils.launch_config import configure_servers
from ansible_collections.elasticdr.orchestration.plugins.module_utils.pairs import check_protection_group
from ansible_collections.elasticdr.orchestration.plugins.module_utils.recovery import recover
from ansible_collections.elasticdr.orchestration.plugins.module_utils.wave_summary import from_results
from ansible_collections.elasticdr.orchestration.plugins.module_utils.wave_summary import problems_of

# The options of drs_wave, beside the connection and cross-account ones (module_support.argument_spec): one spec
# for the module and its action plugin.
ARGUMENT_SPEC = {
    "mode": {"type": "str", "choices": ["failover", "drill", "failback", "drill_cleanup"], "default": "failover"},
    "protection_group": {"type": "str", "required": True},
    "table_prefix": {"type": "str", "default": "drs-orchestration"},
    "execution_id": {"type": "str", "required": True},
    "waves": {"type": "dict", "required": True},
    "wave": {"type": "int"},
    "prepared": {"type": "dict"},
    "approve_each_wave": {"type": "bool", "default": False},
    "allow_partial_wave": {"type": "bool", "default": False},
    "launch_disposition": {"type": "str", "choices": ["STARTED", "STOPPED"], "default": "STARTED"},
    "servers_per_job": {"type": "int", "default": 100},
    "poll_interval": {"type": "float", "default": 30},
    "wait_timeout": {"type": "int", "default": 3600},
    "expect_source_ip": {"type": "bool", "default": False},
    "lease_seconds": {"type": "int", "default": 7200},
    "publish_metrics": {"type": "bool", "default": False},
    "metrics_namespace": {"type": "str", "default": "ElasticDR/Orchestration"},
    "failover_execution_id": {"type": "str"},
    "lag_threshold": {"type": "float", "default": 60},
    "replication_timeout": {"type": "int", "default": 7200},
    "install_agent": {"type": "bool", "default": False},
    "agent_timeout": {"type": "int", "default": 900},
    "tag_originals": {"type": "bool", "default": True},
    "failback_launch_template": {"type": "bool", "default": True},
    "standby_after_failback": {"type": "bool", "default": True},
    "wait_reprotect": {"type": "bool", "default": False},
    "cleanup_non_drill": {"type": "str", "choices": ["refuse", "skip", "clean"], "default": "refuse"},
}
MODES = tuple(ARGUMENT_SPEC["mode"]["choices"])
EXECUTION_TYPES = {"failover": "FAILOVER", "drill": "DRILL", "failback": "FAILBACK", "drill_cleanup": "DRILL_CLEANUP"}
# A progress line at least this often while a wave waits, even when its counts do not change.
PROGRESS_SECONDS = 30.0

# The engine's options and their defaults: drs_wave's, but the run's plan (waves, wave, prepared), which are the
# arguments of WaveEngine's methods, and with the run's waves in ascending order (run_waves).
DEFAULTS = {name: spec.get("default") for name, spec in ARGUMENT_SPEC.items() if name not in ("waves", "wave", "prepared")}
DEFAULTS["run_waves"] = None


def names_of(entries):
    return [e.get("name") or e.get("source_server_id") or "?" for e in entries]


def can_go_ahead(match, allow_partial_wave):
    return allow_partial_wave or not problems_of(match)


def blocked_error(wave, match):
    """The ValidationError recorded for a wave that was not started because some servers cannot be paired."""
    names = names_of(problems_of(match))
    return {
        "error": "ValidationError", "server": ", ".join(names),
        "message": (f"Wave {wave} was not started: {len(names)} server(s) cannot be matched with a valid launch-into "
                    f"target ({', '.join(names)}); nothing was changed."),
        "remediation": ("Fix each server as its error says (or pair it with drs_instance_pair) and rerun with the same "
                        "execution id, or set drs_allow_partial_wave=true to recover the others without them."),
    }


def next_wave(wave, run_waves, statuses, approve_each_wave):
    """The wave the record of this one marks RUNNING when this one completes: the next of the run's waves that
    has not completed; none when each wave waits for approval (the next starts only once approved)."""
    if approve_each_wave:
        return None
    later = [w for w in sorted(run_waves or []) if w > wave and statuses.get(w) != "COMPLETED"]
    return later[0] if later else None


def progress_line(totals, elapsed):
    """'3/4 launched, 1 in progress, 0 failed (75%), ETA 40 s' from the counts of a wave's servers."""
    totals = dict({"launched": 0, "failed": 0, "in_progress": 0, "pending": 0, "terminated": 0}, **totals)
    servers = sum(totals[k] for k in ("launched", "failed", "in_progress", "pending", "terminated"))
    finished = totals["launched"] + totals["failed"] + totals["terminated"]
    percent = round(100.0 * finished / servers) if servers else 100
    line = (f"{totals['launched']}/{servers} launched, {totals['in_progress'] + totals['pending']} in progress, "
            f"{totals['failed']} failed ({percent}%)")
    if 0 < finished < servers:
        line += f", ETA {round(elapsed / finished * (servers - finished))} s"
    return line


def end_message(wave, status, execution_id, match=None, blocked=False):
    """Why the run stops after a wave that did not complete, and how to go on."""
    cause = ""
    if blocked:
        cause = (f": it was not started because {', '.join(names_of(problems_of(match or {})))} cannot be matched "
                 "with a valid launch-into target, and nothing was changed (or set drs_allow_partial_wave=true to "
                 "recover the others without them)")
    return (f"Wave {wave} ended {status}{cause}. Fix the causes shown above (each server's error has a remediation) "
            f"and rerun with -e drs_execution_id={execution_id}: completed waves and launched servers are not "
            "launched again.")


class WaveEngine:
    """connections: module_support.Connections (recovery region, target account; source region for matching).
    options: DEFAULTS overridden. show(line): where progress lines go (the action's display)."""

    def __init__(self, connections, options, check_mode=False, show=None, clock=time.monotonic):
        self.connections = connections
        self.options = dict(DEFAULTS, **{k: v for k, v in options.items() if v is not None})
        self.check_mode = check_mode
        self.show = show or (lambda line: None)
        self.clock = clock
        mode = self.options["mode"]
        if mode not in MODES:
            raise ConfigurationError(f"mode must be one of {', '.join(MODES)}; got {mode!r}.", server=str(mode))
        if not self.options["protection_group"] or not self.options["execution_id"]:
            raise ConfigurationError("protection_group and execution_id are required: the wave is recorded in that "
                                     "execution.", remediation="Start the execution first (role drs, tasks start).")
        check_protection_group(self.options["protection_group"])
        # Every DRS client of the run splits StartRecovery into jobs of at most servers_per_job servers.
        self.connections.servers_per_job = self.options["servers_per_job"]
        self._store = None

    # The rooms the engine uses, built once.
    @property
    def store(self):
        if self._store is None:
            self._store = self.connections.state_store(self.options["table_prefix"])
        return self._store

    def recorder(self):
        return ExecutionRecorder(self.store, self.options["protection_group"], self.options["execution_id"],
                                 check_mode=self.check_mode)

    # plan
    def match(self, waves):
        """{wave key: match result} for {wave key: [names]}, read in one pass over the estate (drs_instance_match's
        matcher, with the protection group's stored pairs)."""
        params = {name: spec.get("default") for name, spec in matching.ARGUMENT_SPEC.items()}
        params.update(waves=waves, protection_group=self.options["protection_group"],
                      table_prefix=self.options["table_prefix"], source_region=self.connections.source_region)
        return matching.match_servers(self.connections, params)["waves"]

    def configure(self, pairs):
        settings = LaunchSettings(launch_disposition=self.options["launch_disposition"])
        return configure_servers(self.connections.recovery_drs, self.connections.recovery_ec2, pairs, settings,
                                 check_mode=self.check_mode)

    def prepare(self, hosts_by_wave):
        """Once per run, before its first launch: match the servers of every wave still to run (one read of the
        estate serves them all) and configure DRS to launch into the targets of every wave that can go ahead,
        so that each wave's jobs start as soon as the wave before has ended (docs/PERFORMANCE.md). A wave that
        cannot go ahead is left out and matched again at its turn, so a fix made meanwhile is seen."""
        statuses = self._statuses()
        waves = {str(w): names for w, names in hosts_by_wave.items() if statuses.get(int(w)) != "COMPLETED"}
        matched = self.match(waves) if waves else {}
        ready = {k: m for k, m in matched.items() if can_go_ahead(m, self.options["allow_partial_wave"])}
        blocked = {k: names_of(problems_of(m)) for k, m in matched.items() if k not in ready}
        pairs = [p for k in sorted(ready, key=int) for p in ready[k]["pairs"]]
        configured = self.configure(pairs) if pairs else {"changed": False, "servers": [], "changed_count": 0}
        for key in sorted(blocked, key=int):
            self.show(f"wave {key}: {', '.join(blocked[key])} cannot be matched with a valid launch-into target; the "
                      "earlier waves go ahead and this wave is matched again at its turn (fix the servers meanwhile, "
                      "or set drs_allow_partial_wave=true)")
        return {"execution_id": self.options["execution_id"], "waves": ready, "blocked": blocked,
                "changed": configured["changed"], "configured": configured["changed_count"]}

    def _statuses(self):
        record = self.store.get_execution_waves(self.options["execution_id"])
        return {int(w): item.get("status") for w, item in record["waves"].items()}

    def run_wave(self, wave, names, prepared=None):
        """Run one wave; returns its outcome: wave, wave_status, counts, summary, changed, failed, msg, record,
        match, recovery, skipped."""
        wave = int(wave)
        options = self.options
        statuses = self._statuses()
        if statuses.get(wave) == "COMPLETED":
            line = f"Wave {wave} already completed in {options['execution_id']}; skipped"
            return {"wave": wave, "wave_status": "COMPLETED", "skipped": True, "changed": False, "failed": False,
                    "summary": [line], "counts": {}}
        recorder = self.recorder()
        if statuses.get(wave) != "RUNNING":
            recorder.record_wave(wave, "RUNNING", lease_seconds=options["lease_seconds"])
        if options["mode"] == "failback":
            return FailbackWave(self).run(wave, names)
        if options["mode"] == "drill_cleanup":
            return self._clean_up(wave, names)
        following = next_wave(wave, options["run_waves"], statuses, options["approve_each_wave"])

        # plan
        if prepared and prepared.get("execution_id") == options["execution_id"] and str(wave) in prepared["waves"]:
            match, configured = prepared["waves"][str(wave)], True
        else:
            match, configured = self.match({str(wave): names})[str(wave)], False
        for note in match.get("notes") or []:
            self.show(f"wave {wave}: {note}")
        if not can_go_ahead(match, options["allow_partial_wave"]):
            servers, job_ids, tally, _status = from_results(match)
            record = recorder.record_wave_end(wave, "FAILED", servers=servers, job_ids=job_ids,
                                              error=blocked_error(wave, match), lease_seconds=options["lease_seconds"],
                                              counts=tally, next_wave=following)
            return self.outcome(wave, record, match, None, changed=True, blocked=True)

        recovery = None
        if match["pairs"]:
            # act
            if not configured:
                self.configure(match["pairs"])
            recovery = self._recover(wave, match["pairs"])
        # verify and record
        servers, job_ids, tally, status = from_results(match, recovery, (recovery or {}).get("ip_validation"))
        if recovery is not None and recovery["timed_out"]:
            status = "TIMED_OUT"
        record = recorder.record_wave_end(wave, status, servers=servers, job_ids=job_ids,
                                          lease_seconds=options["lease_seconds"], counts=tally, next_wave=following)
        self.publish(wave, record, match)
        # The wave is recorded (or, in check mode, would be) whatever its launches did.
        return self.outcome(wave, record, match, recovery, changed=True)

    def _clean_up(self, wave, names):
        """Clean up one drilled wave: stop the launch-into targets (tagged only), then disconnect and delete the
        drill's recovery instances; never TerminateRecoveryInstances, never an EC2 termination (docs/DRS_BEHAVIOUR.md
        section 4). Every server the match found is cleaned up, paired or not: a drill instance must not outlive
        a pairing problem."""
        match = self.match({str(wave): names})[str(wave)]
        servers = match["pairs"] + problems_of(match)
        try:
            result = clean_up(self.connections, {"servers": servers,
                                                 "non_drill_instances": self.options["cleanup_non_drill"]},
                              check_mode=self.check_mode)
        except StepFailed as failed:
            result = dict(failed.result, msg=str(failed.error), error=failed.error.to_dict())
        except DROrchestrationError as error:
            result = {"msg": str(error), "error": error.to_dict()}
        status = result.get("wave_status") or "FAILED"
        record = self.recorder().record_wave_end(wave, status, servers=result.get("records") or [],
                                                 error=result.get("error"), counts=result.get("counts"),
                                                 lease_seconds=self.options["lease_seconds"])
        record["summary"] = [f"Wave {wave}: {status}"] + (result.get("summary") or [])
        outcome = self.outcome(wave, record, match, None, changed=True)
        outcome["cleanup"] = result
        if status != "COMPLETED":
            outcome["msg"] = (f"The clean-up of wave {wave} ended {status}: {result.get('msg') or 'see the servers above'} "
                              f"Fix the cause and rerun with -e drs_execution_id={self.options['execution_id']}: what is "
                              "already cleaned up is left alone.")
        return outcome

    def progress_callback(self, wave):
        """JobMonitor's on_progress: a progress line whenever the counts change, and every PROGRESS_SECONDS."""
        state = {"last": None, "shown_at": self.clock()}

        def on_progress(snapshot):
            line = progress_line(snapshot["counts"], snapshot["elapsed"])
            now = self.clock()
            changed_counts = line.split(" (", maxsplit=1)[0] != (state["last"] or "").split(" (", maxsplit=1)[0]
            if changed_counts or now - state["shown_at"] >= PROGRESS_SECONDS:
                self.show(f"wave {wave}: {line}")
                state["last"], state["shown_at"] = line, now

        return on_progress

    def _recover(self, wave, pairs):
        options = self.options
        begin = self.clock()
        result = recover(
            self.connections.recovery_drs(), self.connections.recovery_ec2(), pairs,
            {"mode": "drill" if options["mode"] == "drill" else "recovery", "execution_id": options["execution_id"],
             "wave": str(wave), "servers_per_job": options["servers_per_job"],
             "poll_interval": float(options["poll_interval"]), "wait_timeout": options["wait_timeout"],
             "fail_on_launch_failure": False, "validate_ips": "both" if options["expect_source_ip"] else "target"},
            check_mode=self.check_mode, on_progress=self.progress_callback(wave))
        result.pop("failure", None)
        result["wait_seconds"] = round(self.clock() - begin, 1)
        return result

    def publish(self, wave, record, match):
        """Monitoring must never stop a recovery: a publishing failure is shown and the run goes on."""
        if not self.options["publish_metrics"]:
            return None
        try:
            cloudwatch = metrics.CloudWatchClient(self.connections.client("cloudwatch"))
            return metrics.publish(cloudwatch, self.options["metrics_namespace"], self.options["protection_group"],
                                   EXECUTION_TYPES[self.options["mode"]], record, wave=wave, match=match,
                                   check_mode=self.check_mode)
        except Exception as error:  # pylint: disable=broad-exception-caught
            self.show(f"wave {wave}: the CloudWatch metrics were not published ({error}); the run goes on")
            return None

    def outcome(self, wave, record, match, recovery, changed, blocked=False):
        status = record["wave_status"]
        failed = status != "COMPLETED"
        outcome = {
            "wave": wave, "wave_status": status, "counts": record.get("counts") or {}, "summary": record["summary"],
            "next_wave_running": record.get("next_wave_running"), "changed": changed, "failed": failed,
            "skipped": False, "record": record, "match": match, "recovery": recovery, "blocked": blocked,
        }
        if failed:
            outcome["msg"] = end_message(wave, status, self.options["execution_id"], match, blocked)
        return outcome


def run(connections, params, check_mode=False, show=None):
    """The drs_wave entry point: with params["wave"], run that wave of params["waves"] ({wave: [names]}, the
    run's plan); without, prepare every wave of the plan. Raises the collection's errors on bad input."""
    waves = {}
    for key, names in (params["waves"] or {}).items():
        if not str(key).isdigit() or not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ConfigurationError(f"waves: wave {key!r} must be a wave number with a list of server names.",
                                     server=str(key), remediation="Give waves as {wave: [name, ...]}, the "
                                                                  "hosts_by_wave result of drs_wave_plan.")
        waves[int(key)] = names
    options = {k: params.get(k) for k in DEFAULTS}
    options["run_waves"] = sorted(waves)
    if params.get("poll_interval") is not None and float(params["poll_interval"]) <= 0:
        raise ConfigurationError(f"poll_interval must be greater than 0; got {params['poll_interval']}.",
                                 remediation="Set drs_poll_interval to a number of seconds, for example 30.")
    if params.get("wait_timeout") is not None and params["wait_timeout"] <= 0:
        raise ConfigurationError(f"wait_timeout must be greater than 0; got {params['wait_timeout']}.",
                                 remediation="Set drs_wait_timeout to a number of seconds, for example 3600.")
    engine = WaveEngine(connections, options, check_mode=check_mode, show=show)
    if params.get("wave") is None:
        if options["mode"] in ("failback", "drill_cleanup"):
            raise ConfigurationError(f"A {options['mode']} has no prepare step: give the wave to run.",
                                     remediation="Set wave (the role's wave tasks do).")
        return engine.prepare(waves)
    if params["wave"] not in waves:
        raise ConfigurationError(f"Wave {params['wave']} is not one of the run's waves "
                                 f"({', '.join(str(w) for w in sorted(waves))}).", server=str(params["wave"]))
    return engine.run_wave(params["wave"], waves[params["wave"]], prepared=params.get("prepared"))
