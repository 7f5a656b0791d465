# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: drs_role_credentials
short_description: Session credentials of a role, for tasks that cannot assume it themselves
description:
  - Assumes O(_terms[0]) with the ExternalId and returns its session credentials (C(access_key), C(secret_key),
    C(session_token)) for the C(access_key), C(secret_key) and C(session_token) options of amazon.aws modules.
  - Use it in a task's or a block's C(vars) or C(module_defaults), never in C(set_fact) or C(register); that way the
    credentials are templated into the task that uses them and never become host variables.
  - The credentials are kept in the memory of the worker process running the task, so the three options of one task
    use the same session.
  - With O(on_error=report) a failed AssumeRole returns a mapping whose only key C(error) says why, instead of
    failing, so a play can check the role before any change and report why it cannot be assumed.
options:
  _terms:
    description: The ARN of the role to assume.
    required: true
  external_id:
    description: The ExternalId the role's trust policy requires.
    type: str
  require_external_id:
    description: Refuse to assume the role without O(external_id).
    type: bool
    default: true
  role_session_name:
    description: The role session name (shown in CloudTrail).
    type: str
    default: elasticdr-orchestration
  duration_seconds:
    description: How long the session lasts.
    type: int
    default: 3600
  on_error:
    description: C(fail) raises an error when the role cannot be assumed; C(report) returns a mapping with C(error).
    type: str
    choices: [fail, report]
    default: fail
extends_documentation_fragment:
  - amazon.aws.boto3
  - amazon.aws.common.plugins
  - amazon.aws.region.plugins
"""

EXAMPLES = r"""
- name: Deploy a stack in the recovery account
  vars:
    recovery_credentials: >-
      {{ lookup('elasticdr.orchestration.drs_role_credentials', drs_target_role_arn,
                external_id=drs_external_id, region=drs_recovery_region) }}
  amazon.aws.cloudformation:
    stack_name: example
    template_body: "{{ lookup('file', 'stack.yaml') }}"
    region: "{{ drs_recovery_region }}"
    access_key: "{{ recovery_credentials.access_key }}"
    secret_key: "{{ recovery_credentials.secret_key }}"
    session_token: "{{ recovery_credentials.session_token }}"
"""

RETURN = r"""
_raw:
  description: One mapping with C(access_key), C(secret_key) and C(session_token), or C(error) with O(on_error=report).
  type: list
  elements: dict
"""

try:
    import botocore
except ImportError:
    botocore = None  # reported by AWSLookupBase

from ansible.errors import AnsibleLookupError

from ansible_collections.amazon.aws.plugins.plugin_utils.lookup import AWSLookupBase

# (role, external id, session name, region, endpoint, caller key) -> credentials, for this worker process only.
_SESSIONS = {}


class LookupModule(AWSLookupBase):
    def run(self, terms, variables=None, **kwargs):
        super().run(terms, variables, **kwargs)
        if len(terms) != 1 or not isinstance(terms[0], str) or ":role/" not in terms[0]:
            raise AnsibleLookupError(
                f"drs_role_credentials needs one IAM role ARN such as arn:aws:iam::222222222222:role/DRSOrchestration, "
                f"not {terms!r}.")
        role_arn = terms[0]
        external_id = self.get_option("external_id")
        if self.get_option("require_external_id") and not external_id:
            return self._failed(f"Assuming {role_arn} needs an ExternalId: set drs_external_id (or DRS_EXTERNAL_ID) "
                                "to the value in the role's trust policy, or require_external_id=false for a role "
                                "whose trust policy has none.")
        key = (role_arn, external_id, self.get_option("role_session_name"), self.region,
               self.get_option("endpoint_url"), self.get_option("access_key"))
        if key not in _SESSIONS:
            params = {"RoleArn": role_arn, "RoleSessionName": self.get_option("role_session_name"),
                      "DurationSeconds": self.get_option("duration_seconds")}
            if external_id:
                params["ExternalId"] = external_id
            try:
                credentials = self.client("sts").assume_role(**params)["Credentials"]
            except botocore.exceptions.ClientError as error:
                code = error.response.get("Error", {}).get("Code", "error")
                return self._failed(f"{code} ({error.response.get('Error', {}).get('Message', '')}); check the "
                                    "role's trust policy and the ExternalId.")
            except botocore.exceptions.BotoCoreError as error:
                return self._failed(f"{error}")
            _SESSIONS[key] = {"access_key": credentials["AccessKeyId"], "secret_key": credentials["SecretAccessKey"],
                              "session_token": credentials["SessionToken"]}
        return [_SESSIONS[key]]

    def _failed(self, why):
        if self.get_option("on_error") == "report":
            return [{"error": why}]
        raise AnsibleLookupError(why)
