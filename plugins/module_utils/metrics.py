# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The CloudWatch metrics of a wave, worked out from the registered result of drs_execution (state=wave) and,
for the match rate, of drs_instance_match; and the one place that publishes them (PutMetricData).

Every value is published twice: with the dimensions ProtectionGroup, ExecutionType and Wave (one series per
wave, for the dashboard), and with ProtectionGroup alone (one series per protection group, which an alarm can
watch: CloudWatch alarms do not aggregate across dimensions). Planning is separate from publishing, so check
mode returns exactly the metrics a real run would publish.
"""

from ansible_collections.amazon.aws.plugins.module_utils.errors import AWSErrorHandler

from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ConfigurationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import DRSAPIError

NAMESPACE = "ElasticDR/Orchestration"
# PutMetricData takes at most 1000 metrics (and 1 MB) per request (CloudWatch API reference, PutMetricData).
MAX_METRICS_PER_CALL = 1000
EXECUTION_TYPES = ("FAILOVER", "FAILBACK", "DRILL")
# A wave that has not ended (RUNNING, PENDING) has no duration nor final counts yet: nothing is published.
FINAL_WAVE_STATUSES = ("COMPLETED", "PARTIAL", "FAILED", "TIMED_OUT")
# GetCommandInvocation statuses of a DRS agent installation that did not succeed (agent.py), and NotSent
# when SSM refused the command.
AGENT_FAILED_STATUSES = ("Failed", "Cancelled", "TimedOut", "NotSent")
MAX_DIMENSION_VALUE = 1024
MAX_NAMESPACE = 255

# name -> (unit, what it counts); the order in which they are published.
WAVE_METRICS = {
    "RecoveryTimeSeconds": ("Seconds", "from the wave recorded RUNNING to its final status"),
    "ServersLaunched": ("Count", "servers DRS launched (into their launch-into targets)"),
    "ServersFailed": ("Count", "servers that did not recover because of an error"),
    "IPMismatches": ("Count", "servers that did not keep the private IP they must keep"),
    "MatchRate": ("Percent", "servers matched with a valid launch-into target"),
    "AgentFailures": ("Count", "servers whose DRS agent installation failed"),
}
FAILBACK_METRICS = {
    "ReplicationLagSeconds": ("Seconds", "the largest replication lag of the wave's FAILBACK servers"),
    "ServersFailedBack": ("Count", "servers failed back into their original instances"),
}


class CloudWatchErrorHandler(AWSErrorHandler):
    _CUSTOM_EXCEPTION = DRSAPIError

    @classmethod
    def _is_missing(cls):
        from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code

        return is_boto3_error_code("ResourceNotFound")


class CloudWatchClient:
    """CloudWatch in one account and region. `client` is a retrying boto3 CloudWatch client."""

    def __init__(self, client):
        self.client = client
        self.calls = 0

    @CloudWatchErrorHandler.common_error_handler("publish {count} metrics to the CloudWatch namespace {namespace}")
    def _put(self, namespace, metric_data, count):
        self.calls += 1
        self.client.put_metric_data(aws_retry=True, Namespace=namespace, MetricData=metric_data)

    def put_metric_data(self, namespace, metric_data, batch_size=MAX_METRICS_PER_CALL):
        """Publish metric_data in requests of at most batch_size metrics; returns the number of requests."""
        calls = 0
        for start in range(0, len(metric_data), batch_size):
            batch = metric_data[start:start + batch_size]
            self._put(namespace, batch, len(batch))
            calls += 1
        return calls


def _result(value):
    """A registered module result, or {} for an absent or skipped one."""
    if not isinstance(value, dict) or value.get("skipped"):
        return {}
    return value


def _number(value):
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def match_rate(match=None, servers=None, execution_type=None):
    """Percent of the wave's servers matched with a valid launch-into target: from drs_instance_match's result
    when given (pairs against pairs, unmatched, ambiguous and invalid), else from a failover or drill wave's
    server records (NOT_MATCHED ones were not). None when there is nothing to count (and for a failback wave
    without a match result: failback pairs FAILBACK servers with the original instances, not by matching)."""
    match = _result(match)
    if match:
        matched = len(match.get("pairs") or [])
        total = matched + sum(len(match.get(k) or []) for k in ("unmatched", "ambiguous", "invalid"))
    elif execution_type != "FAILBACK" and servers:
        total = len(servers)
        matched = sum(1 for s in servers if s.get("launch_status") != "NOT_MATCHED")
    else:
        return None
    return round(100.0 * matched / total, 2) if total else None


def agent_failures(servers):
    return sum(1 for s in servers or []
               if s.get("agent_status") in AGENT_FAILED_STATUSES
               or (s.get("error") or {}).get("error") == "AgentInstallationError")


def replication_lag(servers):
    """The largest lag_seconds of the servers, or None when no server has one."""
    lags = [_number(s.get("lag_seconds")) for s in servers or []]
    lags = [lag for lag in lags if lag is not None]
    return max(lags) if lags else None


def wave_values(wave_record, execution_type, match=None):
    """{metric name: value} of an ended wave (a metric without a value is left out), or ({}, why) when the
    record says nothing to publish."""
    record = _result(wave_record)
    item = record.get("wave") if isinstance(record.get("wave"), dict) else {}
    if not item:
        return {}, "no wave record (the drs_execution task was skipped or did not record a wave)"
    status = record.get("wave_status") or item.get("status")
    if status not in FINAL_WAVE_STATUSES:
        return {}, f"wave {item.get('wave')} is {status or 'without a status'}: metrics are published when it has ended"
    tally = record.get("counts") or item.get("counts") or {}
    servers = [s for s in record.get("servers") or [] if isinstance(s, dict)]
    failed = int(tally.get("failed") or 0)
    # A server the wave meant to recover and did not, because of an error: a failed launch, a server that could
    # not be matched (failover, drill) or a failback blocked before its launch (IP check, original instance).
    failed += int(tally.get("blocked") or 0) if execution_type == "FAILBACK" else int(tally.get("not_matched") or 0)
    values = {
        "RecoveryTimeSeconds": _number(item.get("duration_seconds")),
        "ServersLaunched": int(tally.get("launched") or 0),
        "ServersFailed": failed,
        "IPMismatches": int(tally.get("ip_mismatches") or 0),
        "MatchRate": match_rate(match, servers, execution_type),
        "AgentFailures": agent_failures(servers),
    }
    if execution_type == "FAILBACK":
        values["ReplicationLagSeconds"] = replication_lag(servers)
        values["ServersFailedBack"] = int(tally.get("failed_back") or 0)
    return {k: v for k, v in values.items() if v is not None}, None


def _dimension(name, value):
    value = str(value)
    if not value or len(value) > MAX_DIMENSION_VALUE:
        raise ConfigurationError(f"The {name} dimension must be 1 to {MAX_DIMENSION_VALUE} characters, not {value!r}.",
                                 remediation=f"Give a non-empty {name} of at most {MAX_DIMENSION_VALUE} characters.")
    return {"Name": name, "Value": value}


def check_namespace(namespace):
    # CloudWatch keeps namespaces beginning with "AWS/" for AWS services and refuses them in PutMetricData.
    if not namespace or len(namespace) > MAX_NAMESPACE or namespace.startswith("AWS/") or namespace.startswith(":"):
        raise ConfigurationError(
            f"{namespace!r} is not a namespace CloudWatch accepts for custom metrics.",
            remediation=f"Use 1 to {MAX_NAMESPACE} characters not beginning with 'AWS/' or ':', such as {NAMESPACE}.")
    return namespace


def plan(protection_group, execution_type, wave_record, wave=None, match=None):
    """{"metrics": the MetricData to publish, "values": {name: value}, "wave": n, "reason": why none}."""
    if execution_type not in EXECUTION_TYPES:
        raise ConfigurationError(f"execution_type must be one of {', '.join(EXECUTION_TYPES)}.")
    values, reason = wave_values(wave_record, execution_type, match=match)
    item = _result(wave_record).get("wave") or {}
    wave = wave if wave is not None else item.get("wave") if isinstance(item, dict) else None
    if values and wave is None:
        raise ConfigurationError("No wave number: the wave record has none and the wave option is not set.",
                                 remediation="Pass the registered result of drs_execution state=wave, or set wave.")
    per_wave = [_dimension("ProtectionGroup", protection_group), _dimension("ExecutionType", execution_type)]
    if values:
        per_wave.append(_dimension("Wave", wave))
    rollup = per_wave[:1]
    # The wave's end, so that a metric published a little later still lands where the wave ended.
    timestamp = item.get("ended_at") if isinstance(item, dict) else None
    units = dict(WAVE_METRICS, **FAILBACK_METRICS)
    metrics = []
    for dimensions in (per_wave, rollup):
        for name, value in values.items():
            datum = {"MetricName": name, "Dimensions": [dict(d) for d in dimensions], "Value": value,
                     "Unit": units[name][0]}
            if timestamp:
                datum["Timestamp"] = timestamp
            metrics.append(datum)
    return {"metrics": metrics, "values": values, "wave": wave, "reason": reason}


def publish(cloudwatch, namespace, protection_group, execution_type, wave_record, wave=None, match=None,
            check_mode=False, batch_size=MAX_METRICS_PER_CALL):
    """Plan the wave's metrics and publish them (in check mode: plan only). cloudwatch: a CloudWatchClient."""
    check_namespace(namespace)
    planned = plan(protection_group, execution_type, wave_record, wave=wave, match=match)
    metrics = planned["metrics"]
    calls = 0
    if metrics and not check_mode:
        calls = cloudwatch.put_metric_data(namespace, metrics, batch_size=batch_size)
    result = {"changed": bool(metrics), "namespace": namespace, "metrics": metrics, "metric_values": planned["values"],
              "wave": planned["wave"], "published": 0 if check_mode else len(metrics), "put_metric_data_calls": calls}
    if planned["reason"]:
        result["skipped_reason"] = planned["reason"]
    return result
