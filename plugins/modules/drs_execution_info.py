#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: drs_execution_info
short_description: Read the record of a failover, failback or drill execution
version_added: 0.1.0
description:
  - Reads an execution record from the C(<table_prefix>-executions) table of the recovery region and account and
    returns its header, its waves in order with their servers by name (each server as recorded, with its launch
    status, recovery instance, private IPs, job and error), and a summary with counts per launch status, overall
    and per wave, and durations.
  - With O(status), lists the executions in that status instead (newest first), through the table's
    C(StatusIndex).
  - An execution that does not exist is reported with RV(found=false), not as a failure, unless
    O(fail_if_missing=true).
  - The module only reads; it never changes anything.
author:
  - elasticdr maintainers (@elasticdr)
options:
  execution_id:
    description:
      - The execution to read (C(drs_execution_id)). Required unless O(status) is given; not together with O(status).
    type: str
  status:
    description:
      - List the executions in this status instead of reading one.
    type: str
    choices: [PENDING, RUNNING, COMPLETED, PARTIAL, FAILED, TIMED_OUT, CANCELLED]
  protection_group:
    description:
      - Only executions of this protection group. With O(execution_id), an execution of another protection group
        is reported as not found (with a warning).
    type: str
  fail_if_missing:
    description:
      - Fail when nothing is found (the execution, or any execution in O(status)) instead of returning
        RV(found=false).
    type: bool
    default: false
  render:
    description:
      - With O(execution_id), also render the record for people in RV(report). C(text) gives lines for the screen
        (per wave and server the status, IDs, private IPs of source, target and recovery instance, job, errors with
        their remediation, and durations). C(html) gives a self-contained HTML page with the same content and a
        timeline of the waves and servers. The page uses inline CSS only, with no script, font, image or link,
        and every recorded value is HTML-escaped.
      - Not with O(status).
    type: list
    elements: str
    choices: [text, html]
    default: []
extends_documentation_fragment:
  - elasticdr.orchestration.cross_account
  - elasticdr.orchestration.state_tables
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - ansible.builtin.action_common_attributes
  - elasticdr.orchestration.attributes
"""

EXAMPLES = r"""
- name: Show how far an execution got
  elasticdr.orchestration.drs_execution_info:
    region: us-west-2
    execution_id: "{{ drs_execution_id }}"
    fail_if_missing: true
  register: execution

- name: Report the failed servers of every wave
  ansible.builtin.debug:
    msg: "{{ execution.waves | map(attribute='servers') | flatten | selectattr('launch_status', 'equalto', 'FAILED') }}"

- name: List the running executions of a protection group
  elasticdr.orchestration.drs_execution_info:
    region: us-west-2
    status: RUNNING
    protection_group: payments
  register: running

- name: Render an execution for people (the report playbook does this)
  elasticdr.orchestration.drs_execution_info:
    region: us-west-2
    execution_id: "{{ drs_execution_id }}"
    fail_if_missing: true
    render: [text, html]
  register: rendered

- name: Keep the page
  ansible.builtin.copy:
    content: "{{ rendered.report.html }}"
    dest: "/var/tmp/{{ rendered.report.file_name }}"
    mode: "0644"
"""

RETURN = r"""
found:
  description: Whether the execution (or, with O(status), any execution) was found.
  returned: always
  type: bool
execution:
  description: The execution's header as recorded (protection group, type, status, start and end, regions, ...).
  returned: when found with O(execution_id)
  type: dict
  contains:
    execution_id:
      description: The execution.
      type: str
    protection_group:
      description: Its protection group.
      type: str
    execution_type:
      description: C(FAILOVER), C(FAILBACK), C(DRILL) or C(DRILL_CLEANUP).
      type: str
    status:
      description: The execution's status.
      type: str
      sample: RUNNING
    started_at:
      description: When it started (UTC, ISO 8601).
      type: str
waves:
  description: The recorded waves, sorted by wave number.
  returned: when found with O(execution_id)
  type: list
  elements: dict
  contains:
    wave:
      description: The wave number.
      type: int
    status:
      description: The wave's status.
      type: str
    job_ids:
      description: The DRS jobs of the wave.
      type: list
      elements: str
    servers:
      description:
        - The wave's servers, sorted by name, with the fields recorded (launch_status, source_server_id,
          recovery_instance_id, target_private_ip, recovery_private_ip, job_id, error, ...).
      type: list
      elements: dict
summary:
  description: Counts and durations.
  returned: when found with O(execution_id)
  type: dict
  contains:
    status:
      description: The execution's status.
      type: str
    servers:
      description: The number of servers recorded.
      type: int
    wave_count:
      description: The number of waves recorded.
      type: int
    launch_status:
      description: Servers per launch status (C(UNKNOWN) for a server recorded without one).
      type: dict
      sample: {"LAUNCHED": 10, "FAILED": 2}
    waves:
      description: Per wave, sorted by wave number, its status, number of servers, servers per launch status,
        duration_seconds and in_progress.
      type: list
      elements: dict
    duration_seconds:
      description: From start to end, or to now while the execution is PENDING or RUNNING; null when unknown.
      type: float
    in_progress:
      description: Whether the execution is PENDING or RUNNING.
      type: bool
executions:
  description: With O(status), the headers of the executions in that status, newest first.
  returned: when O(status) is given
  type: list
  elements: dict
report:
  description: With O(render), the record rendered for people.
  returned: when found with O(execution_id) and O(render)
  type: dict
  contains:
    text:
      description: With C(text) in O(render), the report as lines for the screen.
      type: list
      elements: str
    html:
      description: With C(html) in O(render), the report as one self-contained HTML page.
      type: str
    file_name:
      description: A file name for the page, C(<execution_id>.html) with any character other than letters,
        digits, C(.), C(_) and C(-) replaced by C(_).
      type: str
      sample: shop-failover-20260615T150000Z-123456.html
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ConfigurationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.execution_report import describe_execution
from ansible_collections.elasticdr.orchestration.plugins.module_utils.execution_report import list_executions
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import Connections
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import argument_spec
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import run_module
from ansible_collections.elasticdr.orchestration.plugins.module_utils.report import render


def _missing(module, message, server, warn=False):
    """Nothing found: a failure only when asked for; a warning only when the record exists elsewhere."""
    if module.params["fail_if_missing"]:
        raise ConfigurationError(
            message, server=server,
            remediation="Check the execution id (drs_execution_id), table_prefix, and that region/target_role_arn name "
                        "the recovery region and account; list executions with status=RUNNING (or another status), "
                        "or set fail_if_missing=false to accept found=false.")
    if warn:
        module.warn(message)


def describe(module):
    params = module.params
    connections = Connections(module)
    store = connections.state_store(params["table_prefix"])
    group = params["protection_group"]
    where = f"in {store.tables['executions']} ({connections.region})"
    if params["status"]:
        if params["render"]:
            raise ConfigurationError("render needs execution_id: only one execution is rendered at a time.",
                                     remediation="Give execution_id instead of status, or leave render out.")
        executions = list_executions(store.executions_by_status(params["status"]), group)
        if not executions:
            scope = f" of protection group {group}" if group else ""
            _missing(module, f"No {params['status']} execution{scope} {where}.", group)
        return {"changed": False, "found": bool(executions), "executions": executions}
    execution_id = params["execution_id"]
    record = store.get_execution(execution_id)
    header = record["execution"]
    if header is None:
        _missing(module, f"No execution {execution_id} {where}.", execution_id)
        return {"changed": False, "found": False}
    if group and header.get("protection_group") != group:
        _missing(module, f"Execution {execution_id} belongs to protection group {header.get('protection_group')}, "
                         f"not {group}.", execution_id, warn=True)
        return {"changed": False, "found": False}
    described = describe_execution(record)
    if params["render"]:
        described["report"] = render(described, params["render"])
    return dict(changed=False, found=True, **described)


def main():
    module = AnsibleAWSModule(
        argument_spec=argument_spec(
            execution_id={"type": "str"},
            status={"type": "str",
                    "choices": ["PENDING", "RUNNING", "COMPLETED", "PARTIAL", "FAILED", "TIMED_OUT", "CANCELLED"]},
            protection_group={"type": "str"},
            table_prefix={"type": "str", "default": "drs-orchestration"},
            fail_if_missing={"type": "bool", "default": False},
            render={"type": "list", "elements": "str", "choices": ["text", "html"], "default": []},
        ),
        required_one_of=[["execution_id", "status"]],
        mutually_exclusive=[["execution_id", "status"]],
        supports_check_mode=True,
    )
    run_module(module, describe)


if __name__ == "__main__":
    main()
