# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    # The DynamoDB state tables, which the state_tables playbook creates in the recovery region and account.
    DOCUMENTATION = r"""
options:
  table_prefix:
    description:
      - The prefix of the DynamoDB state tables, C(<table_prefix>-instance-pairs), C(<table_prefix>-executions) and
        C(<table_prefix>-failback-state), in the recovery region and account.
    type: str
    default: drs-orchestration
"""

    # Options of the modules that write an execution's record under its protection group's lock
    # (elasticdr.orchestration.state_tables.execution).
    EXECUTION = r"""
options:
  protection_group:
    description: The protection group the execution belongs to. The lock, like the stored instance pairs, is per group.
    type: str
    required: true
  execution_id:
    description: The execution's ID (C(drs_execution_id)), the key of its record and the holder of the group's lock.
    type: str
    required: true
  lease_seconds:
    description: How long the protection group's lock holds without renewal, in seconds; recording a wave renews it.
    type: int
    default: 7200
"""
