#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: drs_execution
short_description: Record a failover, failback or drill execution in DynamoDB, under the protection group's lock
version_added: 0.1.0
description:
  - With O(state=started), takes the protection group's lock (a DynamoDB conditional write with a lease) for
    O(execution_id) and creates the execution record, or resumes it when the record exists. A lock held by
    another execution is refused with an error that names the holder; a stale (expired) lease is broken only
    with O(break_lock=true). Returns which waves are already completed, so a rerun skips them.
  - With O(state=wave), records a wave (RUNNING when it starts, its final status when it ends) and, one item
    each, its servers (private IPs, staging account, job, launch result, errors), and renews the lease.
  - With O(state=finished), records the final status and releases the lock.
  - The tables are created by the C(state_tables) playbook; a missing table is reported by name.
author:
  - elasticdr maintainers (@elasticdr)
options:
  state:
    description: Which step of the execution to record.
    type: str
    choices: [started, wave, finished]
    required: true
  execution_type:
    description: The kind of execution. Required with O(state=started).
    type: str
    choices: [FAILOVER, FAILBACK, DRILL, DRILL_CLEANUP]
  waves:
    description: With O(state=started), the waves the run plans to process.
    type: list
    elements: int
  primary_region:
    description: With O(state=started), the primary region, kept in the record.
    type: str
  break_lock:
    description: With O(state=started), take over a lock whose lease has expired. A live lease is never broken.
    type: bool
    default: false
  operator:
    description: Who runs the execution (kept in the record and the lock).
    type: str
  wave:
    description: With O(state=wave), the wave number.
    type: int
  wave_status:
    description:
      - With O(state=wave), the wave's status. Omitted with O(match)/O(recovery)/O(ip_validation), it is worked
        out from them (COMPLETED when every server launched and kept its IP, FAILED when none did, PARTIAL
        otherwise).
    type: str
    choices: [PENDING, RUNNING, COMPLETED, PARTIAL, FAILED, TIMED_OUT, SKIPPED]
  first_wave_running:
    description:
      - With O(state=started), also record C(RUNNING) the first of O(waves) the execution has not completed, in the
        same run (RV(running_wave) says which), so that no module run stands between the start and the first wave.
    type: bool
    default: false
  next_wave:
    description:
      - With O(state=wave), the wave that comes next. When this wave is recorded C(COMPLETED), the same run records
        the next one C(RUNNING), as a call with O(wave_status=RUNNING) would, so that no module run stands between
        the end of one wave and the start of the next (RV(next_wave_running) says whether it did).
    type: int
  servers:
    description:
      - With O(state=wave), the wave's servers, each a dict with C(name) and any of C(source_server_id),
        C(source_instance_id), C(target_instance_id), C(recovery_instance_id), C(source_private_ip),
        C(target_private_ip), C(recovery_private_ip), C(staging_account_id), C(job_id), C(launch_status),
        C(ip_preserved), C(error), C(reversed_source_server_id), C(replication_state), C(lag_seconds).
        Other keys are ignored.
    type: list
    elements: dict
  match:
    description:
      - With O(state=wave), the registered result of M(elasticdr.orchestration.drs_instance_match) for the wave;
        its pairs become server records, and its unmatched, ambiguous and invalid entries are recorded as
        C(NOT_MATCHED) with the reason.
    type: dict
  recovery:
    description:
      - With O(state=wave), the registered result of M(elasticdr.orchestration.drs_recovery), which gives the launch
        status, recovery instance, job and error of each server, and the wave's jobs.
    type: dict
  ip_validation:
    description:
      - With O(state=wave), the registered result of M(elasticdr.orchestration.drs_ip_validate), which gives the
        recovered private IP of each server and whether it was preserved.
    type: dict
  job_ids:
    description: With O(state=wave), the DRS jobs of the wave.
    type: list
    elements: str
  counts:
    description: With O(state=wave), server counts per outcome.
    type: dict
  status:
    description: With O(state=finished), the final status.
    type: str
    choices: [COMPLETED, PARTIAL, FAILED, TIMED_OUT, CANCELLED]
  error:
    description: With O(state=wave) or O(state=finished), the error to keep in the record.
    type: dict
  release_lock:
    description: With O(state=finished), release the lock.
    type: bool
    default: true
attributes:
  check_mode:
    details: Reads the record and the lock, refuses a lock held by another execution, and writes nothing.
extends_documentation_fragment:
  - elasticdr.orchestration.cross_account
  - elasticdr.orchestration.state_tables
  - elasticdr.orchestration.state_tables.execution
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - ansible.builtin.action_common_attributes
  - elasticdr.orchestration.attributes
"""

EXAMPLES = r"""
- name: Start (or resume) the execution under the protection group's lock
  elasticdr.orchestration.drs_execution:
    region: "{{ drs_recovery_region }}"
    protection_group: "{{ drs_protection_group }}"
    execution_id: "{{ drs_execution_id }}"
    state: started
    execution_type: FAILOVER
    waves: [1, 2, 3]
  register: execution

- name: Record wave 1
  elasticdr.orchestration.drs_execution:
    region: "{{ drs_recovery_region }}"
    protection_group: "{{ drs_protection_group }}"
    execution_id: "{{ drs_execution_id }}"
    state: wave
    wave: 1
    wave_status: COMPLETED
    servers: "{{ wave_servers }}"

- name: Finish and release the lock
  elasticdr.orchestration.drs_execution:
    region: "{{ drs_recovery_region }}"
    protection_group: "{{ drs_protection_group }}"
    execution_id: "{{ drs_execution_id }}"
    state: finished
    status: COMPLETED
"""

RETURN = r"""
execution:
  description: The execution header as written (or as it would be written in check mode).
  returned: always
  type: dict
resumed:
  description: With O(state=started), whether the record existed (a rerun of the same execution).
  returned: when state is started
  type: bool
wave_statuses:
  description: With O(state=started), the status of every wave recorded so far, by wave number.
  returned: when state is started
  type: dict
completed_waves:
  description: With O(state=started), the waves already COMPLETED, which a rerun skips.
  returned: when state is started
  type: list
  elements: int
wave:
  description: With O(state=wave), the wave item as written.
  returned: when state is wave
  type: dict
servers:
  description: With O(state=wave), the server items as written.
  returned: when state is wave
  type: list
  elements: dict
wave_status:
  description: With O(state=wave), the status recorded for the wave.
  returned: when state is wave
  type: str
running_wave:
  description: With O(first_wave_running), the wave recorded C(RUNNING), or null when every wave is completed.
  returned: when O(first_wave_running) is true
  type: int
next_wave_running:
  description: With O(next_wave), the wave recorded C(RUNNING), or null when this wave did not complete.
  returned: when O(next_wave) is given
  type: int
counts:
  description: With O(state=wave), servers per outcome (launched, failed, ip_mismatches, not_matched, ...).
  returned: when state is wave
  type: dict
summary:
  description: With O(state=wave), a one-screen summary of the wave, a line per server.
  returned: when state is wave
  type: list
  elements: str
lock_released:
  description: With O(state=finished), whether the lock was released.
  returned: when state is finished
  type: bool
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ConfigurationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.executions import ExecutionRecorder
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import Connections
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import argument_spec
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import run_module
from ansible_collections.elasticdr.orchestration.plugins.module_utils.state_store import StateStore
from ansible_collections.elasticdr.orchestration.plugins.module_utils.wave_summary import from_results


def record(module):
    params = module.params
    connections = Connections(module)
    role, external_id = connections.target_role
    store = StateStore(connections.connector.client("dynamodb", role_arn=role, external_id=external_id),
                       params["table_prefix"])
    recorder = ExecutionRecorder(store, params["protection_group"], params["execution_id"],
                                 check_mode=module.check_mode)
    if params["state"] == "started":
        if not params["execution_type"]:
            raise ConfigurationError("execution_type is required with state=started.")
        if params["next_wave"] is not None:
            raise ConfigurationError("next_wave is an option of state=wave; with state=started use "
                                     "first_wave_running.")
        result = recorder.start(params["execution_type"], waves=params["waves"],
                                primary_region=params["primary_region"], recovery_region=connections.region,
                                lease_seconds=params["lease_seconds"], break_lock=params["break_lock"],
                                operator=params["operator"],
                                is_drill=params["execution_type"] in ("DRILL", "DRILL_CLEANUP"))
        if params["first_wave_running"]:
            to_run = [w for w in sorted(params["waves"] or []) if w not in result["completed_waves"]]
            result["running_wave"] = to_run[0] if to_run else None
            if to_run:
                recorder.record_wave(to_run[0], "RUNNING", lease_seconds=params["lease_seconds"])
        return result
    if params["state"] == "wave":
        servers, job_ids = params["servers"], params["job_ids"]
        status, tally = params["wave_status"], params["counts"]
        if params["match"] or params["recovery"] or params["ip_validation"]:
            servers, job_ids, tally, status = from_results(params["match"], params["recovery"],
                                                           params["ip_validation"], servers, job_ids, tally, status)
        if params["wave"] is None or not status:
            raise ConfigurationError("wave and wave_status (or match/recovery/ip_validation results) are "
                                     "required with state=wave.")
        error = params["error"]
        result = recorder.record_wave_end(params["wave"], status, servers=servers, job_ids=job_ids, error=error,
                                          lease_seconds=params["lease_seconds"], counts=tally,
                                          next_wave=params["next_wave"])
        return result
    if not params["status"]:
        raise ConfigurationError("status is required with state=finished.")
    return recorder.finish(params["status"], error=params["error"], release_lock=params["release_lock"])


def main():
    module = AnsibleAWSModule(
        argument_spec=argument_spec(
            protection_group={"type": "str", "required": True},
            execution_id={"type": "str", "required": True},
            table_prefix={"type": "str", "default": "drs-orchestration"},
            state={"type": "str", "choices": ["started", "wave", "finished"], "required": True},
            execution_type={"type": "str", "choices": ["FAILOVER", "FAILBACK", "DRILL", "DRILL_CLEANUP"]},
            waves={"type": "list", "elements": "int"},
            primary_region={"type": "str"},
            lease_seconds={"type": "int", "default": 7200},
            break_lock={"type": "bool", "default": False},
            operator={"type": "str"},
            wave={"type": "int"},
            next_wave={"type": "int"},
            first_wave_running={"type": "bool", "default": False},
            wave_status={"type": "str",
                         "choices": ["PENDING", "RUNNING", "COMPLETED", "PARTIAL", "FAILED", "TIMED_OUT", "SKIPPED"]},
            servers={"type": "list", "elements": "dict"},
            match={"type": "dict"},
            recovery={"type": "dict"},
            ip_validation={"type": "dict"},
            job_ids={"type": "list", "elements": "str"},
            counts={"type": "dict"},
            status={"type": "str", "choices": ["COMPLETED", "PARTIAL", "FAILED", "TIMED_OUT", "CANCELLED"]},
            error={"type": "dict"},
            release_lock={"type": "bool", "default": True},
        ),
        supports_check_mode=True,
    )
    run_module(module, record)


if __name__ == "__main__":
    main()
