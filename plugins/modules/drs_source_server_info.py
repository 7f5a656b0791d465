#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: drs_source_server_info
short_description: List DRS source servers with their replication, launch and staging state
version_added: 0.1.0
description:
  - Lists the DRS source servers of a region (optionally by ID, staging account, replication direction or
    tag), each with a summary (name, source instance, replication state and lag, last launch, recovery
    instance, staging account) and, when asked, its launch configuration.
author:
  - elasticdr maintainers (@elasticdr)
options:
  source_server_ids:
    description: Only these source servers.
    type: list
    elements: str
  staging_account_ids:
    description: Only servers extended from these staging accounts.
    type: list
    elements: str
  replication_direction:
    description: Only C(FAILOVER) or C(FAILBACK) servers.
    type: str
    choices: [FAILOVER, FAILBACK]
  tags:
    description: Only servers carrying all of these tags (on the DRS source server).
    type: dict
  include_launch_configuration:
    description: Also read each server's launch configuration (one call per server).
    type: bool
    default: false
  include_raw:
    description: Also return the full DescribeSourceServers item of each server.
    type: bool
    default: false
extends_documentation_fragment:
  - elasticdr.orchestration.cross_account
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - ansible.builtin.action_common_attributes
  - elasticdr.orchestration.attributes
"""

EXAMPLES = r"""
- name: Replication state of every protected server
  elasticdr.orchestration.drs_source_server_info:
    region: us-west-2
  register: drs

- name: Wave 2 servers with their launch configuration
  elasticdr.orchestration.drs_source_server_info:
    region: us-west-2
    tags:
      "drs:wave": "2"
    include_launch_configuration: true
"""

RETURN = r"""
source_servers:
  description: One summary per source server.
  returned: always
  type: list
  elements: dict
  contains:
    source_server_id:
      description: The source server ID.
      type: str
    arn:
      description: Its ARN.
      type: str
    name:
      description: Its C(Name) tag, or the hostname DRS saw.
      type: str
    tags:
      description: Its tags.
      type: dict
    source_instance_id:
      description: The protected EC2 instance.
      type: str
    source_private_ip:
      description: The primary private IP DRS recorded.
      type: str
    replication_direction:
      description: C(FAILOVER) or C(FAILBACK).
      type: str
    replication_state:
      description: The data replication state.
      type: str
    lag_seconds:
      description: The replication lag in seconds.
      type: float
    last_launch_result:
      description: C(NOT_STARTED), C(PENDING), C(SUCCEEDED) or C(FAILED).
      type: str
    recovery_instance_id:
      description: The current recovery instance.
      type: str
    staging_account_id:
      description: The staging account, if extended.
      type: str
    origin_account_id:
      description: The account of the protected instance.
      type: str
    origin_region:
      description: The region of the protected instance.
      type: str
    launch_configuration:
      description: With O(include_launch_configuration).
      type: dict
    raw:
      description: With O(include_raw).
      type: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.elasticdr.orchestration.plugins.module_utils.drs import replication_info
from ansible_collections.elasticdr.orchestration.plugins.module_utils.drs import source_instance_id
from ansible_collections.elasticdr.orchestration.plugins.module_utils.drs import staging_account_of
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import Connections
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import argument_spec
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import run_module


def summary(server):
    props = server.get("sourceProperties") or {}
    nics = props.get("networkInterfaces") or []
    primary = next((n for n in nics if n.get("isPrimary")), nics[0] if nics else {})
    state, lag = replication_info(server)
    cloud = server.get("sourceCloudProperties") or {}
    return {
        "source_server_id": server["sourceServerID"], "arn": server.get("arn"),
        "name": (server.get("tags") or {}).get("Name") or (props.get("identificationHints") or {}).get("hostname"),
        "tags": server.get("tags") or {}, "source_instance_id": source_instance_id(server),
        "source_private_ip": (primary.get("ips") or [None])[0],
        "replication_direction": server.get("replicationDirection"), "replication_state": state, "lag_seconds": lag,
        "last_launch_result": server.get("lastLaunchResult"), "recovery_instance_id": server.get("recoveryInstanceId"),
        "staging_account_id": staging_account_of(server), "origin_account_id": cloud.get("originAccountID"),
        "origin_region": cloud.get("originRegion"),
    }


def list_servers(module):
    params = module.params
    drs = Connections(module).recovery_drs()
    servers = drs.describe_source_servers(params["source_server_ids"], params["staging_account_ids"])
    wanted_tags = params["tags"] or {}
    out = []
    for server in servers:
        if params["replication_direction"] and server.get("replicationDirection") != params["replication_direction"]:
            continue
        tags = server.get("tags") or {}
        if any(tags.get(k) != str(v) for k, v in wanted_tags.items()):
            continue
        item = summary(server)
        if params["include_launch_configuration"]:
            item["launch_configuration"] = drs.get_launch_configuration(server["sourceServerID"])
        if params["include_raw"]:
            item["raw"] = server
        out.append(item)
    out.sort(key=lambda s: (s["name"] or "", s["source_server_id"]))
    return {"changed": False, "source_servers": out}


def main():
    module = AnsibleAWSModule(
        argument_spec=argument_spec(
            source_server_ids={"type": "list", "elements": "str"},
            staging_account_ids={"type": "list", "elements": "str"},
            replication_direction={"type": "str", "choices": ["FAILOVER", "FAILBACK"]},
            tags={"type": "dict"},
            include_launch_configuration={"type": "bool", "default": False},
            include_raw={"type": "bool", "default": False},
        ),
        supports_check_mode=True,
    )
    run_module(module, list_servers)


if __name__ == "__main__":
    main()
