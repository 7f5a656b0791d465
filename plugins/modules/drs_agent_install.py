#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: drs_agent_install
short_description: Install the DRS replication agent on recovery instances through SSM Run Command
version_added: 0.1.0
description:
  - Reinstalls the AWS Replication Agent on each recovery instance in O(servers) as a recovery instance of its
    source server (C(aws-replication-installer-init --region <region> --install-as-recovery-instance
    <source server ID> --no-prompt), the procedure of the DRS user guide), so that reverse replication can carry
    it back to the primary region. Use it when a recovery instance has no working agent.
  - Sends one SSM Run Command per instance (C(AWS-RunShellScript) on Linux, C(AWS-RunPowerShellScript) on Windows)
    in O(region), then polls each command invocation until it succeeds, fails, or O(wait_timeout) passes.
  - Every instance is checked (it exists and is running, as SSM needs) before the first command. A refused command
    or a failed installation fails the module with an C(AgentInstallationError) per instance, naming the instance
    and saying what to do; the result of every instance is returned either way.
  - The instance needs the SSM agent, an instance profile that allows SSM and DRS agent installation, and HTTPS
    access to the region's DRS bucket and endpoint.
author:
  - elasticdr maintainers (@elasticdr)
options:
  servers:
    description:
      - The recovery instances, each a dict with C(recovery_instance_id) (or C(instance_id)), C(source_server_id)
        (the source server it is a recovery instance of) and optionally C(name).
        RV(elasticdr.orchestration.drs_failback_info#module:agent_servers) can be passed as they are.
    type: list
    elements: dict
    required: true
  wait_timeout:
    description:
      - Seconds to wait for the installations (also the commands' execution timeout). Instances still installing
        then fail with an C(AgentInstallationError).
    type: int
    default: 900
  poll_interval:
    description: Seconds between polls of the command invocations.
    type: float
    default: 5
attributes:
  check_mode:
    details: Checks the instances and returns the document and commands each would get; sends nothing.
extends_documentation_fragment:
  - elasticdr.orchestration.cross_account
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - ansible.builtin.action_common_attributes
  - elasticdr.orchestration.attributes
"""

EXAMPLES = r"""
- name: Reinstall the agent on the recovery instances of wave 1 before reverse replication
  elasticdr.orchestration.drs_agent_install:
    region: us-west-2
    servers: "{{ found.agent_servers }}"
    wait_timeout: 900

- name: One instance
  elasticdr.orchestration.drs_agent_install:
    region: us-west-2
    servers:
      - name: db-01
        recovery_instance_id: i-0123456789abcdef0
        source_server_id: s-0123456789abcdef0
"""

RETURN = r"""
servers:
  description: One entry per instance.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The name given.
      type: str
    instance_id:
      description: The recovery instance.
      type: str
    source_server_id:
      description: The source server it is installed as a recovery instance of.
      type: str
    platform:
      description: C(linux) or C(windows).
      type: str
    document:
      description: The SSM document.
      type: str
    commands:
      description: The commands sent.
      type: list
      elements: str
    command_id:
      description: The SSM command.
      type: str
    status:
      description:
        - The invocation status (C(Success), C(Failed), C(TimedOut), C(Cancelled), C(InProgress), ...), C(NotSent) when
          SSM refused the command, C(WOULD_INSTALL) in check mode.
      type: str
    response_code:
      description: The installer's exit code.
      type: int
    stdout:
      description: The end of its standard output.
      type: str
    stderr:
      description: The end of its standard error.
      type: str
    error:
      description: The AgentInstallationError of a failed instance, with a remediation.
      type: dict
installed:
  description: The instances where the installer succeeded.
  returned: always
  type: list
  elements: str
failed:
  description: The instances where it did not.
  returned: always
  type: list
  elements: str
timed_out:
  description: Whether waiting ended on O(wait_timeout).
  returned: always
  type: bool
errors:
  description: The AgentInstallationError of each failed instance.
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.elasticdr.orchestration.plugins.module_utils.failback_steps import install_agents
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import argument_spec
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import run_step


def main():
    module = AnsibleAWSModule(
        argument_spec=argument_spec(
            servers={"type": "list", "elements": "dict", "required": True},
            wait_timeout={"type": "int", "default": 900},
            poll_interval={"type": "float", "default": 5},
        ),
        supports_check_mode=True,
    )
    run_step(module, install_agents)


if __name__ == "__main__":
    main()
