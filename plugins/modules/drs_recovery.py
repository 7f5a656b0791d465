#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: drs_recovery
short_description: Start DRS recoveries or drills for source servers and wait for them
version_added: 0.1.0
description:
  - Starts recovery (or drill) jobs for O(servers), batched to the per-job quota, optionally stopping their
    launch-into targets first (DRS does not stop them; only instances tagged
    C(AWSDRS=AllowLaunchingIntoThisInstance) are ever stopped), and waits until every job is C(COMPLETED).
  - Jobs are tagged with O(execution_id) and O(wave). Run again with the same execution id, the module adopts
    the jobs it already started instead of launching again; a server in a running job or already
    C(LAUNCHED) is never launched twice. Servers whose launch C(FAILED) are launched again when
    O(retry_failed=true).
  - A DRS job has no failed status; each server's result is its C(launchStatus), and the reason for a
    failure comes from the job log. The module returns both per server, with a remediation.
  - Everything is checked before the first change (servers exist, targets exist, are tagged and can be
    stopped).
  - With O(execution_id) and O(wait=true), the collection's action plugin shows a line per poll while the jobs
    run (launched, in progress and failed servers, percentage and ETA), in the play output and the AWX job log.
author:
  - elasticdr maintainers (@elasticdr)
options:
  servers:
    description:
      - The servers to recover, each a dict with C(source_server_id) (required) and optionally
        C(target_instance_id) and C(name). RV(elasticdr.orchestration.drs_instance_match#module:pairs) can be
        passed as they are.
      - Without C(target_instance_id), the target is read from the server's launch configuration.
    type: list
    elements: dict
    required: true
  mode:
    description: C(recovery) or C(drill). Both launch; a drill leaves replication as it is.
    type: str
    choices: [recovery, drill]
    default: recovery
  execution_id:
    description:
      - Names this execution. Jobs are tagged with it so that a rerun adopts them.
    type: str
  wave:
    description: The wave, recorded in the job tags with O(execution_id).
    type: str
  stop_targets:
    description:
      - Stop running launch-into targets before the launch and wait until they are stopped.
      - When false, a running target makes the module fail before starting anything.
    type: bool
    default: true
  retry_failed:
    description: On a rerun with the same O(execution_id), launch again the servers whose launch failed.
    type: bool
    default: true
  wait:
    description: Wait until every job is C(COMPLETED). Without waiting, the jobs started are returned at once.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for the jobs. On timeout the module fails and returns what is still in flight; the jobs
        go on in DRS, and a rerun with the same O(execution_id) adopts them.
    type: int
    default: 3600
  waited_seconds:
    description:
      - Seconds already spent waiting for these jobs, counted against O(wait_timeout). The collection's action
        plugin for this module sets it, since it polls and shows progress while the wave runs and then lets the
        module adopt the jobs and report.
    type: float
    default: 0
  poll_interval:
    description: Seconds between job polls (one batched DescribeJobs per poll, whatever the number of servers).
    type: float
    default: 30
  servers_per_job:
    description: The most source servers in one job, 1 to 200 (the DRS quota is 100 by default).
    type: int
    default: 100
  fail_on_launch_failure:
    description: Fail when any server ends C(FAILED). The full per-server result is returned either way.
    type: bool
    default: true
  return_after:
    description:
      - With O(wait), return after waiting this many seconds even though jobs are still in flight, without failing
        and with RV(waiting) true; a call with the same O(execution_id) (and O(retry_failed=false)) then adopts the
        jobs and waits on. 0 waits until the jobs end or O(wait_timeout) passes.
      - The collection's action plugin for this module uses it to show a progress line between waits while the
        module itself polls, at O(poll_interval), in one process. With O(execution_id) it waits in slices of this
        length (30 seconds, or O(poll_interval) if longer, when 0) until the jobs end or O(wait_timeout) passes.
    type: float
    default: 0
  validate_ips:
    description:
      - After the jobs end (and in check mode), check in the same run that each target has the private IP that
        M(elasticdr.orchestration.drs_ip_validate) would expect, and return the result in RV(ip_validation).
        C(target), C(source) or C(both) is its O(elasticdr.orchestration.drs_ip_validate#module:expect); C(none)
        checks nothing.
      - Each entry of O(servers) then needs C(target_private_ip) (and C(source_private_ip) for C(source) or
        C(both)), as RV(elasticdr.orchestration.drs_instance_match#module:pairs) have; a missing one fails the
        module before any change.
      - A mismatch is reported, never a failure of this module.
    type: str
    choices: [none, target, source, both]
    default: none
  record:
    description:
      - Once the jobs end (and in check mode), record the wave in the execution O(execution_id) in the same run, as
        M(elasticdr.orchestration.drs_execution) with O(elasticdr.orchestration.drs_execution#module:state=wave)
        and the results of the match, this recovery and its IP check would, and return that module's result in
        RV(record). A failover then needs no module run of its own between the end of a wave's jobs and the launch
        of the next wave.
      - Needs O(execution_id) and O(wave). Nothing is recorded when the module returns waiting, times out or fails;
        the caller records the wave then.
    type: dict
    suboptions:
      protection_group:
        description: The protection group of the execution.
        type: str
        required: true
      table_prefix:
        description: Prefix of the state tables.
        type: str
        default: drs-orchestration
      match:
        description:
          - The wave's match, as M(elasticdr.orchestration.drs_instance_match) returns it (its C(pairs),
            C(unmatched), C(ambiguous) and C(invalid) become the wave's server records).
        type: dict
      next_wave:
        description:
          - When the wave ends C(COMPLETED), record this wave as C(RUNNING) too, as
            O(elasticdr.orchestration.drs_execution#module:next_wave) does.
        type: int
      lease_seconds:
        description: How long the protection group's lock is renewed for.
        type: int
        default: 7200
attributes:
  check_mode:
    details: Reads and validates everything and returns what would be stopped, adopted and launched.
extends_documentation_fragment:
  - elasticdr.orchestration.cross_account
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - ansible.builtin.action_common_attributes
  - elasticdr.orchestration.attributes
"""

EXAMPLES = r"""
- name: Recover wave 1 into its targets
  elasticdr.orchestration.drs_recovery:
    region: us-west-2
    servers: "{{ match.pairs }}"
    execution_id: "{{ drs_execution_id }}"
    wave: "1"
    poll_interval: 30
    wait_timeout: 3600
  register: wave1

- name: Drill two servers without waiting
  elasticdr.orchestration.drs_recovery:
    region: us-west-2
    mode: drill
    servers:
      - source_server_id: s-0123456789abcdef0
      - source_server_id: s-0123456789abcdef1
    wait: false
"""

RETURN = r"""
servers:
  description: One entry per server.
  returned: always
  type: list
  elements: dict
  contains:
    source_server_id:
      description: The source server.
      type: str
    name:
      description: The name given for it.
      type: str
    target_instance_id:
      description: Its launch-into target, if any.
      type: str
    job_id:
      description: The job it ran in.
      type: str
    launch_status:
      description: C(PENDING), C(IN_PROGRESS), C(LAUNCHED), C(FAILED) or C(TERMINATED); C(WOULD_LAUNCH) in check mode.
      type: str
    recovery_instance_id:
      description: The recovery instance (the target itself with launch-into).
      type: str
    adopted:
      description: Whether the server's job was adopted from an earlier run of the execution.
      type: bool
    error:
      description: For a failed server, the error with cause, job-log reason and remediation.
      type: dict
started_jobs:
  description: IDs of the jobs this run started.
  returned: always
  type: list
  elements: str
adopted_jobs:
  description: IDs of the jobs adopted from an earlier run.
  returned: always
  type: list
  elements: str
stopped_targets:
  description: Target instances stopped (or that would be stopped) before the launch.
  returned: always
  type: list
  elements: str
counts:
  description: Servers per outcome (launched, failed, in_progress, pending, terminated).
  returned: always
  type: dict
timed_out:
  description: Whether waiting ended on O(wait_timeout).
  returned: always
  type: bool
in_flight:
  description: Servers not finished when the module returned.
  returned: always
  type: list
  elements: str
polls:
  description: How many times the jobs were polled.
  returned: always
  type: int
progress:
  description: One entry per poll with counts, progress percentage and ETA.
  returned: always
  type: list
  elements: dict
waiting:
  description: Whether the module returned after O(return_after) with jobs still in flight.
  returned: always
  type: bool
ip_validation:
  description:
    - With O(validate_ips), the result of the private-IP check of the targets, as
      M(elasticdr.orchestration.drs_ip_validate) returns it (RV(elasticdr.orchestration.drs_ip_validate#module:results),
      C(mismatches), C(preservation_rate), C(captured)).
  returned: when O(validate_ips) is not C(none) and the module did not return waiting
  type: dict
record:
  description:
    - With O(record), the wave as recorded, as M(elasticdr.orchestration.drs_execution) returns it with
      O(elasticdr.orchestration.drs_execution#module:state=wave) (C(wave), C(servers), C(wave_status), C(counts),
      C(next_wave_running), C(summary)).
  returned: when O(record) is given and the jobs ended
  type: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ConfigurationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.executions import ExecutionRecorder
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import Connections
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import argument_spec
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import run_module
from ansible_collections.elasticdr.orchestration.plugins.module_utils.recovery import RECOVERY_DEFAULTS
from ansible_collections.elasticdr.orchestration.plugins.module_utils.recovery import check_options
from ansible_collections.elasticdr.orchestration.plugins.module_utils.recovery import recover
from ansible_collections.elasticdr.orchestration.plugins.module_utils.recovery import server_items
from ansible_collections.elasticdr.orchestration.plugins.module_utils.wave_summary import from_results


def run(module):
    params = module.params
    options = {k: params[k] for k in RECOVERY_DEFAULTS}
    check_options(options)
    server_items(params["servers"])
    if params["record"] and not (params["execution_id"] and params["wave"]):
        raise ConfigurationError("record needs execution_id and wave: the wave is recorded in that execution.",
                                 remediation="Give execution_id and wave, or leave record out and record the wave "
                                             "with drs_execution.")
    if params["record"] and not str(params["wave"]).isdigit():
        raise ConfigurationError(f"record needs a wave number; got wave={params['wave']}.", server=params["wave"],
                                 remediation="Give the wave's number as wave.")
    connections = Connections(module, servers_per_job=params["servers_per_job"])
    result = recover(connections.recovery_drs(), connections.recovery_ec2(), params["servers"], options,
                     check_mode=module.check_mode)
    failure = result.pop("failure")
    if failure is not None:
        module.fail_json(msg=str(failure), error=failure.to_dict(), **result)
    if not params["record"] or result["waiting"] or not params["wait"]:
        return result
    # The wave recorded from this run's result, in the same process (see the record option).
    options = params["record"]
    recorder = ExecutionRecorder(connections.state_store(options["table_prefix"]), options["protection_group"],
                                 params["execution_id"], check_mode=module.check_mode)
    servers_, job_ids_, tally, status = from_results(options["match"], result, result.get("ip_validation"))
    return dict(result, record=recorder.record_wave_end(
        int(params["wave"]), status, servers=servers_, job_ids=job_ids_, lease_seconds=options["lease_seconds"],
        counts=tally, next_wave=options["next_wave"]))


def main():
    module = AnsibleAWSModule(
        argument_spec=argument_spec(
            servers={"type": "list", "elements": "dict", "required": True},
            mode={"type": "str", "choices": ["recovery", "drill"], "default": "recovery"},
            execution_id={"type": "str"},
            wave={"type": "str"},
            stop_targets={"type": "bool", "default": True},
            retry_failed={"type": "bool", "default": True},
            wait={"type": "bool", "default": True},
            wait_timeout={"type": "int", "default": 3600},
            waited_seconds={"type": "float", "default": 0},
            poll_interval={"type": "float", "default": 30},
            servers_per_job={"type": "int", "default": 100},
            fail_on_launch_failure={"type": "bool", "default": True},
            return_after={"type": "float", "default": 0},
            validate_ips={"type": "str", "choices": ["none", "target", "source", "both"], "default": "none"},
            record={"type": "dict", "options": {
                "protection_group": {"type": "str", "required": True},
                "table_prefix": {"type": "str", "default": "drs-orchestration"},
                "match": {"type": "dict"},
                "next_wave": {"type": "int"},
                "lease_seconds": {"type": "int", "default": 7200},
            }},
        ),
        supports_check_mode=True,
    )
    run_module(module, run)


if __name__ == "__main__":
    main()
