#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: drs_instance_match
short_description: Pair DRS source servers with pre-provisioned launch-into targets
version_added: 0.1.0
description:
  - Reads the DRS source servers of the recovery region, finds their source EC2 instances in the primary
    region (by C(identificationHints.awsInstanceID)) and pairs each with the instance in the recovery region
    that carries the same match tag value (default C(Name), compared case-insensitively and ignoring extra
    whitespace).
  - Explicit O(overrides) win over tag matching. Duplicate names on either side are reported as
    ambiguous, never guessed. A target claimed by two servers invalidates both pairs.
  - With O(protection_group), the pairs stored for that group by M(elasticdr.orchestration.drs_instance_pair)
    are explicit pairs too (by source server ID, reported with RV(pairs[].matched_by=stored_pair)), so a stored
    pair holds even when the target's match tag differs; an entry of O(overrides) for the same server (by ID or
    by name) wins over the stored pair. Stored pairs of servers not selected are not used.
  - Every pair is validated (launch-into tag, target state, architecture, platform and boot mode, root
    device, instance type family, subnet and AZ, security groups, private IP). Checks of severity
    C(error) make a pair invalid; C(warning) checks are reported only.
  - If the primary region cannot be read (it may be the disaster), the module matches from what DRS
    recorded about each source server and says so in RV(notes).
  - The module only reads; it never changes anything.
  - Its action plugin runs the matcher in the controller process (the plays run on a local connection), so a match
    costs no module process (docs/ARCHITECTURE.md).
author:
  - elasticdr maintainers (@elasticdr)
options:
  names:
    description:
      - Match only the servers with these match-tag values (typically the inventory hosts of a wave).
      - Names with no DRS source server are reported in RV(unmatched).
    type: list
    elements: str
  waves:
    description:
      - Match the servers of several waves at once, as a dictionary from a wave to the names (match-tag values) of
        its servers, and return each wave's result in RV(waves) besides the whole result. One read of the estate
        serves every wave, and a target claimed by servers of two waves invalidates both.
      - Mutually exclusive with O(names).
    type: dict
  source_server_ids:
    description:
      - Match only these source servers.
    type: list
    elements: str
  overrides:
    description:
      - Explicit pairs, from a server name (match-tag value) or source server ID to a target instance ID.
    type: dict
    default: {}
  match_tag:
    description:
      - The tag whose value pairs a source instance with its target.
    type: str
    default: Name
  wave_tag:
    description:
      - The tag whose value is reported as the wave of each pair.
    type: str
    default: "drs:wave"
  require_stopped:
    description:
      - Treat a target that is not stopped as invalid instead of a warning (drs_recovery can stop tagged
        targets itself).
    type: bool
    default: false
  require_same_private_ip:
    description:
      - Treat a target whose private IP differs from the source's as invalid instead of a warning.
    type: bool
    default: false
  fallback_to_drs_records:
    description:
      - When the source instances cannot be read, match from the DRS source server records instead of failing.
    type: bool
    default: true
  fail_on_unmatched:
    description:
      - Fail when any selected server ends up unmatched, ambiguous or invalid (the full result is still returned).
    type: bool
    default: false
  protection_group:
    description:
      - Use the pairs stored for this protection group (in C(<table_prefix>-instance-pairs) of the recovery region
        and account) as explicit pairs, below O(overrides).
    type: str
  table_prefix:
    description:
      - The prefix of the state tables, read only with O(protection_group).
    type: str
    default: drs-orchestration
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
- name: Match wave 1 of the inventory with its launch-into targets
  elasticdr.orchestration.drs_instance_match:
    region: us-west-2
    source_region: us-east-1
    names: "{{ groups['wave_1'] }}"
  register: match

- name: Match across accounts, with one explicit pair
  elasticdr.orchestration.drs_instance_match:
    region: us-west-2
    source_region: us-east-1
    target_role_arn: arn:aws:iam::222222222222:role/DRSOrchestration
    external_id: "{{ drs_external_id }}"
    overrides:
      legacy-db: i-0123456789abcdef0
    fail_on_unmatched: true

- name: Match using the pairs stored for the protection group (see drs_instance_pair)
  elasticdr.orchestration.drs_instance_match:
    region: us-west-2
    source_region: us-east-1
    protection_group: payments
"""

RETURN = r"""
pairs:
  description: Valid pairs, sorted by name.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The match-tag value of the source instance.
      type: str
      sample: db-01
    source_server_id:
      description: The DRS source server.
      type: str
      sample: s-0123456789abcdef0
    source_server_arn:
      description: Its ARN.
      type: str
    source_instance_id:
      description: The protected EC2 instance in the primary region.
      type: str
    source_private_ip:
      description: Its primary private IP.
      type: str
      sample: 10.20.10.11
    target_instance_id:
      description: The launch-into target in the recovery region.
      type: str
    target_private_ip:
      description: Its primary private IP, which the recovered server will have.
      type: str
    target_state:
      description: The target's EC2 state.
      type: str
    staging_account_id:
      description: The staging account the source server replicates through, if extended.
      type: str
    wave:
      description: The value of O(wave_tag) on the source instance (or the source server).
      type: str
    matched_by:
      description: C(tag), C(override), or C(stored_pair) (a pair stored for O(protection_group)).
      type: str
    name_from:
      description: C(source_instance), or C(drs_source_server) when the primary region could not be read.
      type: str
    checks:
      description: The validation checks, each with name, passed, severity and message.
      type: list
      elements: dict
unmatched:
  description: Servers (or requested names) with no target, each with a reason.
  returned: always
  type: list
  elements: dict
ambiguous:
  description: Servers whose name is shared by several sources or several targets, with the candidates.
  returned: always
  type: list
  elements: dict
invalid:
  description: Pairs that failed an error-severity check, in the same form as RV(pairs).
  returned: always
  type: list
  elements: dict
match_rate:
  description: Valid pairs divided by the servers considered.
  returned: always
  type: float
  sample: 1.0
considered:
  description: The number of servers considered.
  returned: always
  type: int
waves:
  description:
    - With O(waves), each wave's part of the result, with the keys RV(pairs), RV(unmatched), RV(ambiguous),
      RV(invalid), RV(match_rate), RV(considered) and RV(notes).
  returned: when O(waves) is given
  type: dict
  sample: {"1": {"pairs": [], "unmatched": [], "ambiguous": [], "invalid": [], "match_rate": 0.0, "considered": 0}}
notes:
  description: Things the operator should know (for example a fallback to DRS records); also shown as warnings.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.elasticdr.orchestration.plugins.module_utils import matching
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import Connections
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import argument_spec
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import run_module


def main():
    module = AnsibleAWSModule(argument_spec=argument_spec(include_source_options=True, **matching.ARGUMENT_SPEC),
                              mutually_exclusive=matching.MUTUALLY_EXCLUSIVE, supports_check_mode=True)
    run_module(module, lambda module_: matching.match_servers(Connections(module_), module_.params, warn=module_.warn))


if __name__ == "__main__":
    main()
