#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: drs_preflight
short_description: Check, without changing anything, whether each wave of a protection group is ready to fail over
version_added: 0.1.0
description:
  - Evaluates every server of O(waves) and returns a readiness report per server, per wave and for the group,
    with a table for the screen in RV(summary). The module only reads; it takes no lock and writes no record.
  - A server is ready when it is paired with a valid launch-into target (the matching of
    M(elasticdr.orchestration.drs_instance_match), with the pairs stored for O(protection_group)) and its
    replication is C(CONTINUOUS) with a lag under O(lag_threshold).
  - Launch configuration drift, what M(elasticdr.orchestration.drs_launch_config) would change before the launch
    (computed by the same planner), is reported per server. It makes a server not ready only with
    O(fail_on_drift=true), since the failover applies exactly those changes first.
  - A wave is ready when all its servers are and it fits the DRS quotas, that is at most O(servers_per_job) servers
    (more only with O(allow_multi_job_waves=true), as several jobs), at most O(max_concurrent_jobs) jobs and at
    most O(max_servers_in_active_jobs) servers at once.
  - The group is ready when every wave is, the source servers replicating in the recovery account and region are
    at most O(max_replicating_servers) and, with O(protection_group), the state tables exist and no execution holds
    the protection group's lock.
  - With O(check_permissions=true) (the default) it also checks, through C(iam:SimulatePrincipalPolicy), that each
    identity of the run may make every call the run will make, that is the orchestrator (the credentials the module runs
    with), the role O(target_role_arn) in the recovery region and, when set, the role O(source_role_arn) in the
    primary region. The calls checked are the collection's own, their dependent actions and the calls DRS makes with
    the caller's credentials (C(aws:CalledVia)), on the actual launch-into targets, originals and source servers
    where they are known, with the tags the run requires on them. Each denied action makes the group not ready,
    naming the action, the identity, the region and the policy statement to add (RV(permissions)). An identity that
    may not simulate its own policies is reported with the statement that lets it. Nothing is changed, the
    simulation only evaluates policies.
  - A server named in two waves is refused. The module does not fail when something is not ready; the caller
    decides from RV(ready) (the preflight playbook fails).
author:
  - elasticdr maintainers (@elasticdr)
options:
  waves:
    description:
      - The servers (inventory host names, that is match-tag values) of each wave, by wave number; the
        RV(elasticdr.orchestration.drs_wave_plan#module:hosts_by_wave) of M(elasticdr.orchestration.drs_wave_plan).
    type: dict
    required: true
  lag_threshold:
    description: A server is ready only with a replication lag under this many seconds.
    type: float
    default: 60
  launch_disposition:
    description:
      - The launch disposition the failover will set (C(drs_launch_disposition)), to compute the drift.
    type: str
    choices: [STARTED, STOPPED]
    default: STARTED
  fail_on_drift:
    description:
      - Make a server whose launch configuration differs from what the failover will set not ready, instead of
        reporting the drift as a warning.
    type: bool
    default: false
  servers_per_job:
    description:
      - The DRS quota of source servers per recovery job, which is also the batch size the failover starts jobs
        with (M(elasticdr.orchestration.drs_recovery) O(elasticdr.orchestration.drs_recovery#module:servers_per_job)).
    type: int
    default: 100
  allow_multi_job_waves:
    description:
      - Accept a wave of more than O(servers_per_job) servers, started as several jobs (reported as a warning).
        When false such a wave is not ready.
    type: bool
    default: false
  max_concurrent_jobs:
    description: The DRS quota of concurrent jobs; a wave may not need more jobs than this.
    type: int
    default: 20
  max_servers_in_active_jobs:
    description: The DRS quota of source servers across all active jobs; a wave may not have more servers.
    type: int
    default: 500
  max_replicating_servers:
    description:
      - The DRS quota of replicating source servers per account; counted over every source server of the recovery
        account and region whose replication is neither C(STOPPED) nor C(DISCONNECTED).
    type: int
    default: 300
  protection_group:
    description:
      - Use the pairs stored for this protection group as explicit pairs (as the failover does), and check that the
        state tables exist and that no execution holds the group's lock.
    type: str
  table_prefix:
    description:
      - The prefix of the state tables, read only with O(protection_group).
      - O(check_permissions) checks the permissions on the tables (and their stack, C(<prefix>-state-tables)) of
        this prefix.
    type: str
    default: drs-orchestration
  check_permissions:
    description:
      - Check with C(iam:SimulatePrincipalPolicy) that every identity of the run may make every call of the run
        (see the description); a denied action makes the group not ready.
      - Each identity simulates its own policies, so it needs C(iam:SimulatePrincipalPolicy) on itself (the shipped
        policies grant it); set C(false) to skip the check, for example where that cannot be granted.
    type: bool
    default: true
  permission_workflows:
    description:
      - The workflows whose calls O(check_permissions) checks; every workflow when not given.
      - For example C([failover, preflight, report]) before a failover whose failback is run with other credentials.
    type: list
    elements: str
    choices: [failover, failback, drill, drill_cleanup, preflight, state_tables, report, metrics, agent]
extends_documentation_fragment:
  - elasticdr.orchestration.cross_account
  - elasticdr.orchestration.primary_region
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - ansible.builtin.action_common_attributes
  - elasticdr.orchestration.attributes
"""

EXAMPLES = r"""
- name: Plan the waves
  elasticdr.orchestration.drs_wave_plan:
    hosts: "{{ drs_run_hosts }}"
  register: plan

- name: Check the readiness of every wave
  elasticdr.orchestration.drs_preflight:
    region: us-west-2
    source_region: us-east-1
    waves: "{{ plan.hosts_by_wave }}"
    protection_group: shop
    lag_threshold: 30
  register: preflight

- name: Show the report
  ansible.builtin.debug:
    msg: "{{ preflight.summary }}"

- name: Stop unless every wave is ready
  ansible.builtin.assert:
    that: preflight.ready
    fail_msg: "Not ready: {{ preflight.not_ready_servers | join(', ') }}"
"""

RETURN = r"""
ready:
  description: Whether every wave and the group are ready.
  returned: always
  type: bool
not_ready_waves:
  description: The waves that are not ready.
  returned: always
  type: list
  elements: int
not_ready_servers:
  description: The servers that are not ready, wave after wave.
  returned: always
  type: list
  elements: str
waves:
  description: One entry per wave, ascending.
  returned: always
  type: list
  elements: dict
  contains:
    wave:
      description: The wave number.
      type: int
    ready:
      description: Whether all its servers are ready and it fits the quotas.
      type: bool
    server_count:
      description: Its number of servers.
      type: int
    jobs:
      description: The number of recovery jobs it would be started as.
      type: int
    not_ready:
      description: Its servers that are not ready.
      type: list
      elements: str
    reasons:
      description: Why the wave itself is not ready (quotas).
      type: list
      elements: str
    warnings:
      description: Quota findings that do not stop the wave.
      type: list
      elements: str
    checks:
      description: The quota checks, each with name, passed, severity and message.
      type: list
      elements: dict
    servers:
      description: One entry per server of the wave.
      type: list
      elements: dict
      contains:
        name:
          description: The server (inventory host).
          type: str
        ready:
          description: Whether it is ready.
          type: bool
        reasons:
          description: Why it is not ready.
          type: list
          elements: str
        warnings:
          description: Findings that do not stop it (target running, launch configuration drift, ...).
          type: list
          elements: str
        source_server_id:
          description: Its DRS source server.
          type: str
        target_instance_id:
          description: Its launch-into target.
          type: str
        matched_by:
          description: C(tag), C(override) or C(stored_pair).
          type: str
        name_from:
          description: C(source_instance), or C(drs_source_server) when the primary region could not be read.
          type: str
        replication_state:
          description: Its data replication state.
          type: str
        lag_seconds:
          description: Its replication lag.
          type: float
        drift:
          description: Per launch configuration field that would change, C(before) and C(after).
          type: dict
        checks:
          description: Its checks (match, the pair's failed warning checks, replication, launch_configuration).
          type: list
          elements: dict
checks:
  description: The group checks (replicating_servers; with O(protection_group) state_tables and lock).
  returned: always
  type: list
  elements: dict
reasons:
  description: Why the group is not ready, from the group checks.
  returned: always
  type: list
  elements: str
notes:
  description: Things the operator should know (for example a fallback to DRS records); also shown as warnings.
  returned: always
  type: list
  elements: str
lag_threshold:
  description: The lag threshold applied, in seconds.
  returned: always
  type: float
summary:
  description: The report as lines for the screen, a table per wave (and the permission check's findings).
  returned: always
  type: list
  elements: str
permissions:
  description: The permission check; its findings are also group checks and RV(reasons).
  returned: when O(check_permissions=true)
  type: dict
  contains:
    passed:
      description:
        - Whether no identity was denied an action and every identity could be simulated; an identity that is not
          an IAM user or role (the root user, a federated user) or that IAM does not know is a warning only.
      type: bool
    identities:
      description:
        - One entry per identity, with C(identity) (C(orchestrator), C(target role), C(source role)),
          C(caller_arn), C(principal_arn) (the user or role simulated), C(regions), C(actions_checked),
          C(simulate_calls), C(denied) and C(error) (why it could not be checked, or null).
      type: list
      elements: dict
    denied:
      description:
        - Every denied action, with C(identity), C(principal_arn), C(region), C(account), C(action), C(resources),
          C(decisions), C(missing_context), C(via), C(reasons), C(statement) (the IAM policy statement to add) and
          C(message).
      type: list
      elements: dict
    reasons:
      description: The findings that make the group not ready.
      type: list
      elements: str
    warnings:
      description: Identities that could not be simulated but are not failures (the root user, a federated user).
      type: list
      elements: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.elasticdr.orchestration.plugins.module_utils.iam import IAMClient
from ansible_collections.elasticdr.orchestration.plugins.module_utils.launch_config import LaunchSettings
from ansible_collections.elasticdr.orchestration.plugins.module_utils.matching import InstanceMatcher
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import Connections
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import argument_spec
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import run_module
from ansible_collections.elasticdr.orchestration.plugins.module_utils.pairs import check_protection_group
from ansible_collections.elasticdr.orchestration.plugins.module_utils import permission_check
from ansible_collections.elasticdr.orchestration.plugins.module_utils import permissions
from ansible_collections.elasticdr.orchestration.plugins.module_utils.readiness import Quotas
from ansible_collections.elasticdr.orchestration.plugins.module_utils.readiness import ReadinessEvaluator
from ansible_collections.elasticdr.orchestration.plugins.module_utils.readiness import summary_lines


def preflight(module):
    params = module.params
    if params["protection_group"]:
        check_protection_group(params["protection_group"])
    quotas = Quotas(servers_per_job=params["servers_per_job"], concurrent_jobs=params["max_concurrent_jobs"],
                    servers_in_active_jobs=params["max_servers_in_active_jobs"],
                    replicating_servers=params["max_replicating_servers"],
                    allow_multi_job_waves=params["allow_multi_job_waves"]).validate()
    connections = Connections(module)
    drs = connections.recovery_drs()
    source_ec2 = connections.source_ec2() if params["source_region"] else None
    matcher = InstanceMatcher(drs, source_ec2, connections.recovery_ec2())
    store = connections.state_store(params["table_prefix"]) if params["protection_group"] else None
    # The settings drs_launch_config applies in the failover (failover_wave.yml): only the disposition is chosen.
    settings = LaunchSettings(launch_disposition=params["launch_disposition"])
    report = ReadinessEvaluator(drs, matcher, settings, lag_threshold=params["lag_threshold"], quotas=quotas,
                                fail_on_drift=params["fail_on_drift"], store=store,
                                protection_group=params["protection_group"]).evaluate(params["waves"])
    if params["check_permissions"]:
        add_permissions(report, check_permissions(module, connections, report))
    for note in report["notes"]:
        module.warn(note)
    return dict(changed=False, **report)


def check_permissions(module, connections, report):
    """The permission check of every identity of the run (module_utils/permission_check.py)."""
    params = module.params
    connector = connections.connector
    recovery_region = connections.region
    primary_region = params["source_region"]
    roles = {"target role": connections.target_role, "source role": connections.source_role}
    subjects = []
    for label, role_arn, needs in permission_check.subjects_needs(connections.target_role[0],
                                                                  connections.source_role[0], primary_region,
                                                                  recovery_region):
        external_id = roles[label][1] if label in roles else None
        # An identity simulates its own policies, with its own credentials (IAM is global: any region's client).
        client = IAMClient(connector.client("iam", role_arn=role_arn, external_id=external_id),
                           connector.client("sts", role_arn=role_arn, external_id=external_id),
                           retry=connector.retry_decorator)
        subjects.append(permission_check.Subject(label, client, role_arn, needs))
    rows = [row for wave in report["waves"] for row in wave["servers"]]
    known = {
        ("ec2", "instance", recovery_region): [r["target_instance_id"] for r in rows if r.get("target_instance_id")],
        ("drs", "source-server", recovery_region): [r["source_server_id"] for r in rows if r.get("source_server_id")],
    }
    if primary_region and primary_region != recovery_region:
        known[("ec2", "instance", primary_region)] = [r["source_instance_id"] for r in rows
                                                      if r.get("source_instance_id")]
    # The state tables and their stack are named after the table prefix (permissions.py names the default one).
    renames = {}
    if params["table_prefix"] != permissions.STATE_TABLE_PREFIX:
        renames[permissions.STATE_TABLE_PREFIX + "-"] = params["table_prefix"] + "-"
    return permission_check.PermissionCheck(workflows=params["permission_workflows"],
                                            renames=renames).run(subjects, known=known)


def add_permissions(report, found):
    """The permission findings as group checks of the readiness report."""
    report["permissions"] = {k: found[k] for k in ("passed", "identities", "denied", "reasons", "warnings")}
    report["checks"].extend(found["checks"])
    report["reasons"].extend(found["reasons"])
    report["notes"].extend(found["warnings"])
    report["ready"] = report["ready"] and found["passed"]
    lines = summary_lines(report)
    report["summary"] = lines[:-1] + permission_check.summary_lines(found) + lines[-1:]


def main():
    module = AnsibleAWSModule(
        argument_spec=argument_spec(
            include_source_options=True,
            waves={"type": "dict", "required": True},
            lag_threshold={"type": "float", "default": 60},
            launch_disposition={"type": "str", "choices": ["STARTED", "STOPPED"], "default": "STARTED"},
            fail_on_drift={"type": "bool", "default": False},
            servers_per_job={"type": "int", "default": 100},
            allow_multi_job_waves={"type": "bool", "default": False},
            max_concurrent_jobs={"type": "int", "default": 20},
            max_servers_in_active_jobs={"type": "int", "default": 500},
            max_replicating_servers={"type": "int", "default": 300},
            protection_group={"type": "str"},
            table_prefix={"type": "str", "default": "drs-orchestration"},
            check_permissions={"type": "bool", "default": True},
            permission_workflows={"type": "list", "elements": "str",
                                  "choices": ["failover", "failback", "drill", "drill_cleanup", "preflight",
                                              "state_tables", "report", "metrics", "agent"]},
        ),
        supports_check_mode=True,
    )
    run_module(module, preflight)


if __name__ == "__main__":
    main()
