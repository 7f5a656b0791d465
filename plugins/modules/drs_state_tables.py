#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: drs_state_tables
short_description: Check the DynamoDB state tables and make sure old records expire
version_added: 0.1.0
description:
  - Reads the three state tables (C(<prefix>-instance-pairs), C(<prefix>-executions),
    C(<prefix>-failback-state)) in the recovery region and fails, naming each, when one is missing or not ACTIVE.
  - With O(ensure_ttl=true), enables time to live on the C(ttl) attribute of any table where it is off (the
    CloudFormation template of the C(state_tables) playbook sets it; this catches tables made another way).
author:
  - elasticdr maintainers (@elasticdr)
options:
  ensure_ttl:
    description: Enable time to live on the C(ttl) attribute where it is off.
    type: bool
    default: true
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
- name: The state tables are there, and old records expire
  elasticdr.orchestration.drs_state_tables:
    region: us-west-2
    table_prefix: drs-orchestration
"""

RETURN = r"""
tables:
  description: Per table kind (pairs, executions, failback), its name, status, global secondary indexes and TTL.
  returned: always
  type: dict
ttl_enabled:
  description: Tables whose time to live was turned on (or would be, in check mode).
  returned: always
  type: list
  elements: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import StateStoreError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import Connections
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import argument_spec
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import run_module


def check(module):
    store = Connections(module).state_store(module.params["table_prefix"])
    tables = store.describe_tables()
    problems = [f"{t['name']} does not exist" if t["status"] is None else f"{t['name']} is {t['status']}"
                for t in tables.values() if t["status"] != "ACTIVE"]
    if problems:
        raise StateStoreError("State tables not ready: " + "; ".join(problems) + ".")
    enabled = []
    if module.params["ensure_ttl"]:
        for table in tables.values():
            if (table["ttl"] or {}).get("status") not in ("ENABLED", "ENABLING"):
                enabled.append(table["name"])
                if not module.check_mode:
                    store.enable_ttl(table["name"])
                table["ttl"] = {"status": "ENABLED", "attribute": "ttl"}
    return {"changed": bool(enabled), "tables": tables, "ttl_enabled": enabled}


def main():
    module = AnsibleAWSModule(
        argument_spec=argument_spec(
            table_prefix={"type": "str", "default": "drs-orchestration"},
            ensure_ttl={"type": "bool", "default": True},
        ),
        supports_check_mode=True,
    )
    run_module(module, check)


if __name__ == "__main__":
    main()
