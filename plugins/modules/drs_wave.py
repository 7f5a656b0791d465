#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: drs_wave
short_description: Run one wave of a failover, drill, failback or drill clean-up, plan to record
version_added: 0.3.0
description:
  - Runs one wave of an execution started with the role's C(start) tasks, in the engine's order, plan, act, wait,
    verify, record (docs/ARCHITECTURE.md).
  - B(plan) matches the wave's servers with their launch-into targets by Name tag (or takes the match of
    O(prepared)). A wave with a server that cannot be paired with a valid target is not started, and is recorded
    C(FAILED) with the servers at fault and the fix, unless O(allow_partial_wave=true).
  - B(act) configures DRS to launch into the targets, stops the targets and starts the recovery (or drill) jobs,
    at most O(servers_per_job) servers per job; jobs this execution already started for the wave are adopted,
    never started twice.
  - B(wait) polls the jobs, showing a progress line whenever the counts change (and every 30 seconds).
  - B(verify) checks that every recovered server kept its target's private IP.
  - B(record) writes the wave and its servers to the execution record, with the next wave of O(waves) recorded
    C(RUNNING) in the same step, and publishes the CloudWatch metrics when O(publish_metrics=true) (a publishing
    failure is shown and the run goes on).
  - The execution record holds the run's state. A wave it records C(COMPLETED) is skipped; a resumed wave adopts
    its jobs.
  - Without O(wave), prepares the run before its first launch. It matches the servers of every wave not yet
    completed in one read, and configures DRS for every wave that can go ahead. It returns the match to pass as
    O(prepared) to each wave.
  - The action plugin runs the engine in the controller process (the plays run on a local connection), so a wave
    costs no module process; docs/ARCHITECTURE.md gives the measurements behind that choice.
  - Fails when the wave does not end C(COMPLETED), with the wave status and how to resume in the failure's C(msg).
author:
  - elasticdr maintainers (@elasticdr)
options:
  mode:
    description:
      - C(failover) launches recovery jobs, C(drill) drill jobs (the instances stay drill instances).
      - C(failback) fails the wave back into its original instances in the primary region (O(source_region));
        what the failover left is found and checked before any change, reverse replication is started and waited
        for, the FAILBACK servers are launched into the originals, their IPs checked, the originals re-protected
        and the recovery region returned to standby (docs/FAILOVER_FAILBACK_WORKFLOWS.md). The record keeps each
        server's failback state; a failure names the step it stopped at.
      - C(drill_cleanup) stops the targets of a drilled wave and removes its drill recovery instances
        (M(elasticdr.orchestration.drs_drill_cleanup)).
    type: str
    choices: [failover, drill, failback, drill_cleanup]
    default: failover
  waves:
    description:
      - The run's waves and their servers, a dict of wave number to list of server names, the C(hosts_by_wave) result of
        M(elasticdr.orchestration.drs_wave_plan).
    type: dict
    required: true
  wave:
    description: The wave to run. Omitted, prepare every wave of O(waves) instead.
    type: int
  prepared:
    description: The result of the call without O(wave), whose match and launch configuration the wave reuses.
    type: dict
  approve_each_wave:
    description: Do not record the next wave C(RUNNING) with this one; it starts only once approved.
    type: bool
    default: false
  allow_partial_wave:
    description: Recover the servers that can be paired even when others of the wave cannot.
    type: bool
    default: false
  launch_disposition:
    description: Whether DRS starts the recovered instance.
    type: str
    choices: [STARTED, STOPPED]
    default: STARTED
  servers_per_job:
    description: Servers per StartRecovery job (the DRS quota is 100).
    type: int
    default: 100
  poll_interval:
    description: Seconds between polls of the jobs.
    type: float
    default: 30
  wait_timeout:
    description: Seconds to wait for the jobs; then the wave is recorded C(TIMED_OUT).
    type: int
    default: 3600
  expect_source_ip:
    description: Also require each recovered server to keep its source server's private IP.
    type: bool
    default: false
  publish_metrics:
    description: Publish the wave's CloudWatch metrics (M(elasticdr.orchestration.drs_metrics) lists them).
    type: bool
    default: false
  metrics_namespace:
    description: The CloudWatch namespace of the metrics.
    type: str
    default: ElasticDR/Orchestration
  failover_execution_id:
    description: With O(mode=failback), the failover whose records say which recovery instances to fail back.
    type: str
  lag_threshold:
    description: With O(mode=failback), the replication lag in seconds under which a FAILBACK server is ready.
    type: float
    default: 60
  replication_timeout:
    description: With O(mode=failback), seconds to wait for reverse replication (and re-protection).
    type: int
    default: 7200
  install_agent:
    description: With O(mode=failback), install the DRS agent on recovery instances that need it (SSM).
    type: bool
    default: false
  agent_timeout:
    description: With O(mode=failback), seconds to wait for the agent installations.
    type: int
    default: 900
  tag_originals:
    description: With O(mode=failback), tag the original instances C(AWSDRS=AllowLaunchingIntoThisInstance).
    type: bool
    default: true
  failback_launch_template:
    description: With O(mode=failback), set the primary region's launch configuration template for launch-into.
    type: bool
    default: true
  standby_after_failback:
    description: With O(mode=failback), stop the FAILBACK servers' replication and the recovery instances after.
    type: bool
    default: true
  wait_reprotect:
    description: With O(mode=failback), wait for the re-protected originals to reach continuous replication.
    type: bool
    default: false
  cleanup_non_drill:
    description: With O(mode=drill_cleanup), what to do with a recovery instance that is not a drill's.
    type: str
    choices: [refuse, skip, clean]
    default: refuse
attributes:
  check_mode:
    details: Matches, plans and predicts each server's launch (C(WOULD_LAUNCH)); makes no mutating call.
  action_group:
    support: full
extends_documentation_fragment:
  - elasticdr.orchestration.cross_account
  - elasticdr.orchestration.primary_region
  - elasticdr.orchestration.state_tables
  - elasticdr.orchestration.state_tables.execution
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - ansible.builtin.action_common_attributes
  - elasticdr.orchestration.attributes
"""

EXAMPLES = r"""
- name: Prepare every wave before the first launch
  elasticdr.orchestration.drs_wave:
    protection_group: shop
    execution_id: "{{ drs_execution_id }}"
    waves: "{{ plan.hosts_by_wave }}"
    source_region: us-east-1
  register: prepared

- name: Fail over wave 1
  elasticdr.orchestration.drs_wave:
    protection_group: shop
    execution_id: "{{ drs_execution_id }}"
    waves: "{{ plan.hosts_by_wave }}"
    prepared: "{{ prepared }}"
    wave: 1
"""

RETURN = r"""
wave:
  description: The wave run.
  returned: with wave
  type: int
wave_status:
  description: C(COMPLETED), C(PARTIAL), C(FAILED) or C(TIMED_OUT) (recorded), or C(COMPLETED) for a skipped wave.
  returned: with wave
  type: str
counts:
  description: Servers per outcome (launched, failed, not_matched, ip_mismatches, would_launch, ...).
  returned: with wave
  type: dict
summary:
  description: The lines shown for the wave, a headline and one line per server.
  returned: with wave
  type: list
  elements: str
skipped:
  description: Whether the execution had completed the wave already.
  returned: with wave
  type: bool
next_wave_running:
  description: The wave recorded C(RUNNING) with this one, if any.
  returned: with wave
  type: int
record:
  description: The wave and server items as written (drs_execution's result for state=wave).
  returned: with wave, unless skipped
  type: dict
match:
  description: The wave's match (drs_instance_match's result).
  returned: with wave, unless skipped
  type: dict
recovery:
  description: The wave's recovery (drs_recovery's result), none when no server could be launched.
  returned: with wave, unless skipped
  type: dict
waves:
  description: Without wave, the match of every wave that can go ahead, by wave number.
  returned: without wave
  type: dict
blocked:
  description: Without wave, the servers at fault of each wave that cannot go ahead, by wave number.
  returned: without wave
  type: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.elasticdr.orchestration.plugins.module_utils import wave_engine
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import Connections
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import argument_spec
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import run_module


def main():
    module = AnsibleAWSModule(argument_spec=argument_spec(include_source_options=True, **wave_engine.ARGUMENT_SPEC),
                              supports_check_mode=True)

    def body(module_):
        result = wave_engine.run(Connections(module_, servers_per_job=module_.params["servers_per_job"]),
                                 module_.params, check_mode=module_.check_mode)
        if result.get("failed"):
            module_.fail_json(**result)
        return result

    run_module(module, body)


if __name__ == "__main__":
    main()
