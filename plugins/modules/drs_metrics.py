#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: drs_metrics
short_description: Publish the CloudWatch metrics of a failover, failback or drill wave
version_added: 0.1.0
description:
  - Works out the metrics of an ended wave from the registered result of
    M(elasticdr.orchestration.drs_execution) with O(elasticdr.orchestration.drs_execution#module:state=wave)
    (O(wave_record)) and publishes them with PutMetricData under one O(namespace), in requests of at most 1000
    metrics.
  - Every wave - C(RecoveryTimeSeconds) (Seconds), C(ServersLaunched), C(ServersFailed), C(IPMismatches),
    C(AgentFailures) (Count) and, when it can be worked out, C(MatchRate) (Percent). A failback wave also has
    C(ServersFailedBack) (Count) and, when its servers report a lag, C(ReplicationLagSeconds) (Seconds, the
    largest of the wave).
  - C(ServersFailed) counts the servers the wave meant to recover and did not because of an error - a failed
    launch, and a server that could not be matched (failover, drill) or whose failback was blocked before its launch.
  - Each value is published twice - with the dimensions C(ProtectionGroup), C(ExecutionType) and C(Wave) (a series
    per wave), and with C(ProtectionGroup) alone (a series per protection group, for alarms, since CloudWatch alarms
    do not aggregate across dimensions). The timestamp is the wave's end (C(ended_at) of the record).
  - A wave that has not ended (RUNNING) or a skipped O(wave_record) publishes nothing and reports no change.
  - C(docs/MONITORING.md) describes the metrics, the CloudFormation dashboard and alarms of
    C(extensions/cloudwatch/drs-monitoring.cfn.yaml), and CloudWatch Logs Insights queries.
author:
  - elasticdr maintainers (@elasticdr)
options:
  protection_group:
    description: The protection group of the execution (the C(ProtectionGroup) dimension).
    type: str
    required: true
  execution_type:
    description:
      - The kind of execution (the C(ExecutionType) dimension). C(FAILBACK) adds the failback metrics; a C(FAILBACK)
        wave has no C(MatchRate) unless O(match) is given.
    type: str
    choices: [FAILOVER, FAILBACK, DRILL]
    required: true
  wave:
    description: The wave number (the C(Wave) dimension). Defaults to the wave of O(wave_record).
    type: int
  wave_record:
    description:
      - The registered result of M(elasticdr.orchestration.drs_execution) with
        O(elasticdr.orchestration.drs_execution#module:state=wave) for the ended wave. Its C(wave) (C(duration_seconds),
        C(ended_at), C(status)), C(wave_status), C(counts) and C(servers) are read; other keys are ignored.
    type: dict
    required: true
  match:
    description:
      - The registered result of M(elasticdr.orchestration.drs_instance_match) for the wave. C(MatchRate) is then
        the share of its C(pairs) among pairs, C(unmatched), C(ambiguous) and C(invalid).
      - Without it, the match rate of a failover or drill wave comes from the server records of O(wave_record)
        (those C(NOT_MATCHED) were not matched).
    type: dict
  namespace:
    description: The CloudWatch namespace of the metrics. Namespaces beginning with C(AWS/) are refused.
    type: str
    default: ElasticDR/Orchestration
notes:
  - PutMetricData is not idempotent - running the module twice for a wave publishes its values twice (CloudWatch
    keeps both data points; Maximum and Average statistics are unchanged, Sum doubles).
  - The metrics go to the recovery region (O(region)) and, with O(target_role_arn), to the recovery account.
attributes:
  check_mode:
    details: Publishes nothing and returns the metrics a real run would publish (changed when there are any).
extends_documentation_fragment:
  - elasticdr.orchestration.cross_account
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - ansible.builtin.action_common_attributes
  - elasticdr.orchestration.attributes
"""

EXAMPLES = r"""
- name: Record wave 1
  elasticdr.orchestration.drs_execution:
    region: us-west-2
    protection_group: shop
    execution_id: "{{ drs_execution_id }}"
    state: wave
    wave: 1
    match: "{{ wave_match }}"
    recovery: "{{ wave_recovery }}"
    ip_validation: "{{ wave_ips }}"
  register: wave_record

- name: Publish the metrics of wave 1
  elasticdr.orchestration.drs_metrics:
    region: us-west-2
    protection_group: shop
    execution_type: FAILOVER
    wave_record: "{{ wave_record }}"
    match: "{{ wave_match }}"

- name: Publish the metrics of a failback wave under another namespace, in the recovery account
  elasticdr.orchestration.drs_metrics:
    region: us-west-2
    target_role_arn: arn:aws:iam::222222222222:role/DRSOrchestration
    external_id: "{{ drs_external_id }}"
    protection_group: shop
    execution_type: FAILBACK
    wave_record: "{{ failback_wave_record }}"
    namespace: Shop/DisasterRecovery
"""

RETURN = r"""
namespace:
  description: The namespace the metrics were (or would be) published under.
  returned: always
  type: str
  sample: ElasticDR/Orchestration
metrics:
  description: The metric data as given to PutMetricData (in check mode, as it would be).
  returned: always
  type: list
  elements: dict
  contains:
    MetricName:
      description: The metric.
      type: str
      sample: ServersFailed
    Dimensions:
      description: C(ProtectionGroup), C(ExecutionType) and C(Wave), or C(ProtectionGroup) alone.
      type: list
      elements: dict
    Value:
      description: The value.
      type: float
    Unit:
      description: C(Seconds), C(Count) or C(Percent).
      type: str
    Timestamp:
      description: The wave's end, when the record has it.
      type: str
metric_values:
  description: The wave's value of each metric published, by metric name.
  returned: always
  type: dict
  sample: {"RecoveryTimeSeconds": 612.4, "ServersLaunched": 4, "ServersFailed": 0, "IPMismatches": 0, "MatchRate": 100.0}
wave:
  description: The wave number of the C(Wave) dimension.
  returned: always
  type: int
published:
  description: How many metric data were published (0 in check mode).
  returned: always
  type: int
put_metric_data_calls:
  description: How many PutMetricData requests were made.
  returned: always
  type: int
skipped_reason:
  description: Why nothing was published (a skipped wave record, or a wave that has not ended).
  returned: when nothing is published
  type: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.elasticdr.orchestration.plugins.module_utils import metrics
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import Connections
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import argument_spec
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import run_module


def publish(module):
    params = module.params
    connections = Connections(module)
    role, external_id = connections.target_role
    # Built (and the role assumed) in check mode too, so that a refused role fails there as in a real run.
    cloudwatch = metrics.CloudWatchClient(connections.connector.client("cloudwatch", role_arn=role, external_id=external_id))
    return metrics.publish(cloudwatch, params["namespace"], params["protection_group"], params["execution_type"],
                           params["wave_record"], wave=params["wave"], match=params["match"],
                           check_mode=module.check_mode)


def main():
    module = AnsibleAWSModule(
        argument_spec=argument_spec(
            protection_group={"type": "str", "required": True},
            execution_type={"type": "str", "choices": ["FAILOVER", "FAILBACK", "DRILL"], "required": True},
            wave={"type": "int"},
            wave_record={"type": "dict", "required": True},
            match={"type": "dict"},
            namespace={"type": "str", "default": "ElasticDR/Orchestration"},
        ),
        supports_check_mode=True,
    )
    run_module(module, publish)


if __name__ == "__main__":
    main()
