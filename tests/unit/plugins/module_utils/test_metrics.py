"""metrics: the CloudWatch metrics of a wave from drs_execution's result, check mode, batching, refusals, and a
round trip through moto's CloudWatch."""
import datetime

import boto3
import pytest
from moto import mock_aws

from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper
from ansible_collections.elasticdr.orchestration.plugins.module_utils import failback_record
from ansible_collections.elasticdr.orchestration.plugins.module_utils import metrics
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ConfigurationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import DRSAPIError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.retry import DRSRetry
from ansible_collections.elasticdr.orchestration.plugins.module_utils.wave_summary import wave_counts
from ansible_collections.elasticdr.orchestration.plugins.module_utils.wave_summary import wave_servers
from ansible_collections.elasticdr.orchestration.plugins.module_utils.wave_summary import wave_status

from .fakes import client_error

ENDED = "2026-11-27T10:15:00.000Z"


class FakeCloudWatch:
    """A low-level CloudWatch client that records PutMetricData requests (or refuses them)."""

    def __init__(self, error=None):
        self.requests = []
        self.error = error

    def put_metric_data(self, aws_retry=False, **params):
        if self.error:
            raise self.error
        self.requests.append(params)
        return {}


def failover_record(wave=2, duration=612.5, status=None):
    """What drs_execution state=wave returns for a failover wave: 3 launched (one changed its IP), one failed,
    one not matched."""
    pairs = [{"name": f"app-0{n}", "source_server_id": f"s-{n}", "target_instance_id": f"i-{n}"} for n in range(1, 5)]
    unmatched = [{"name": "app-05", "reason": "no launch-into target"}]
    recovery = [{"source_server_id": f"s-{n}", "launch_status": "LAUNCHED" if n < 4 else "FAILED"} for n in range(1, 5)]
    ips = [{"source_server_id": f"s-{n}", "actual_ip": f"10.0.0.{n}", "preserved": n != 2} for n in range(1, 4)]
    servers = wave_servers(pairs, unmatched, recovery, ips)
    return {"changed": True, "wave_status": status or wave_status(servers), "counts": wave_counts(servers),
            "servers": servers, "wave": {"wave": wave, "status": status or wave_status(servers), "ended_at": ENDED,
                                         "duration_seconds": duration}}


def by_name(result, dimensions=3):
    return {m["MetricName"]: m for m in result["metrics"] if len(m["Dimensions"]) == dimensions}


def test_failover_wave_metrics_per_wave_and_per_protection_group():
    client = metrics.CloudWatchClient(FakeCloudWatch())
    result = metrics.publish(client, metrics.NAMESPACE, "shop", "FAILOVER", failover_record())
    assert result["changed"] and result["published"] == 12 and result["put_metric_data_calls"] == 1
    assert result["metric_values"] == {"RecoveryTimeSeconds": 612.5, "ServersLaunched": 3, "ServersFailed": 2,
                                       "IPMismatches": 1, "MatchRate": 80.0, "AgentFailures": 0}
    per_wave = by_name(result)
    assert per_wave["ServersFailed"]["Dimensions"] == [{"Name": "ProtectionGroup", "Value": "shop"},
                                                       {"Name": "ExecutionType", "Value": "FAILOVER"},
                                                       {"Name": "Wave", "Value": "2"}]
    assert {n: m["Unit"] for n, m in per_wave.items()} == {
        "RecoveryTimeSeconds": "Seconds", "ServersLaunched": "Count", "ServersFailed": "Count", "IPMismatches": "Count",
        "MatchRate": "Percent", "AgentFailures": "Count"}
    rollup = by_name(result, dimensions=1)
    assert set(rollup) == set(per_wave)
    assert all(m["Dimensions"] == [{"Name": "ProtectionGroup", "Value": "shop"}] for m in rollup.values())
    assert all(m["Timestamp"] == ENDED for m in result["metrics"])
    [request] = client.client.requests
    assert request == {"Namespace": "ElasticDR/Orchestration", "MetricData": result["metrics"]}


def test_match_result_gives_the_match_rate_and_the_wave_option_the_wave():
    match = {"pairs": [{}, {}, {}], "unmatched": [{}], "ambiguous": [], "invalid": [{}, {}, {}, {}]}
    result = metrics.publish(metrics.CloudWatchClient(FakeCloudWatch()), "Shop/DR", "shop", "DRILL", failover_record(),
                             wave=7, match=match)
    assert result["metric_values"]["MatchRate"] == 37.5 and result["wave"] == 7 and result["namespace"] == "Shop/DR"
    assert by_name(result)["MatchRate"]["Dimensions"][1:] == [{"Name": "ExecutionType", "Value": "DRILL"},
                                                              {"Name": "Wave", "Value": "7"}]
    assert metrics.match_rate({"pairs": [], "unmatched": []}) is None
    assert metrics.match_rate({"skipped": True}, [{"launch_status": "LAUNCHED"}], "FAILOVER") == 100.0
    assert metrics.match_rate(None, [{"launch_status": "LAUNCHED"}], "FAILBACK") is None


def failback_results(check_mode=False):
    """Registered results of a failback wave: fb-1 failed back (lag 4 s), fb-2's agent failed, fb-3 blocked by the
    IP check of its original."""
    names = ("fb-1", "fb-2", "fb-3")
    found = {"servers": [{"name": n, "source_server_id": f"s-{n}", "recovery_instance_id": f"i-rec-{n}",
                          "original_instance_id": f"i-orig-{n}", "original_private_ip": "10.1.0.1"} for n in names]}
    ip_before = {"results": [{"source_server_id": "s-fb-3", "name": "fb-3", "instance_id": "i-orig-fb-3",
                              "actual_ip": "10.1.0.9", "preserved": False,
                              "error": {"details": {"expected_ip": "10.1.0.1"}}}]}
    agent = {"servers": [{"source_server_id": "s-fb-2", "status": "Failed",
                          "error": {"error": "AgentInstallationError", "message": "installer failed"}}]}
    replication = {"servers": [{"recovery_instance_id": "i-rec-fb-1", "reversed_source_server_id": "s-rev-1",
                                "replication_state": "CONTINUOUS", "lag_seconds": 4, "ready": True},
                               {"recovery_instance_id": "i-rec-fb-2", "reversed_source_server_id": "s-rev-2",
                                "replication_state": "CONTINUOUS", "lag_seconds": 41.5, "ready": True}]}
    targets = {"pairs": [{"source_server_id": "s-rev-1", "original_source_server_id": "s-fb-1"}]}
    recovery = {"servers": [{"source_server_id": "s-rev-1", "launch_status": "LAUNCHED", "recovery_instance_id": "i-orig-fb-1"}]}
    ip_after = {"results": [{"source_server_id": "s-rev-1", "actual_ip": "10.1.0.1", "preserved": True}]}
    built = failback_record.build(found=found, ip_before=ip_before, agent=agent, replication=replication,
                                  targets=targets, recovery=recovery, ip_after=ip_after, check_mode=check_mode)
    return {"wave_status": built["status"], "counts": built["counts"], "servers": built["servers"],
            "wave": {"wave": 1, "status": built["status"], "ended_at": ENDED, "duration_seconds": 3600}}


def test_failback_wave_adds_lag_and_servers_failed_back_and_counts_blocked_and_agent_failures():
    record = failback_results()
    assert record["counts"]["failed_back"] == 1 and record["counts"]["blocked"] == 1
    result = metrics.publish(metrics.CloudWatchClient(FakeCloudWatch()), metrics.NAMESPACE, "shop", "FAILBACK", record)
    assert result["metric_values"] == {"RecoveryTimeSeconds": 3600.0, "ServersLaunched": 1,
                                       "ServersFailed": record["counts"]["failed"] + 1, "IPMismatches": 1,
                                       "AgentFailures": 1, "ReplicationLagSeconds": 41.5, "ServersFailedBack": 1}
    assert by_name(result)["ReplicationLagSeconds"]["Unit"] == "Seconds"
    assert len(result["metrics"]) == 14
    # Without a lag in any server record there is no ReplicationLagSeconds (rather than a made-up 0).
    for server in record["servers"]:
        server.pop("lag_seconds", None)
    assert "ReplicationLagSeconds" not in metrics.plan("shop", "FAILBACK", record)["values"]


def test_check_mode_publishes_nothing_and_returns_the_metrics():
    fake = FakeCloudWatch()
    real = metrics.publish(metrics.CloudWatchClient(FakeCloudWatch()), metrics.NAMESPACE, "shop", "FAILOVER",
                           failover_record())
    checked = metrics.publish(metrics.CloudWatchClient(fake), metrics.NAMESPACE, "shop", "FAILOVER", failover_record(),
                              check_mode=True)
    assert fake.requests == [] and checked["changed"] is True
    assert checked["metrics"] == real["metrics"] and checked["published"] == 0 and checked["put_metric_data_calls"] == 0


@pytest.mark.parametrize("record, why", [
    ({"skipped": True, "changed": False}, "no wave record"),
    (None, "no wave record"),
    ({"wave_status": "RUNNING", "wave": {"wave": 3, "status": "RUNNING"}, "servers": []}, "wave 3 is RUNNING"),
])
def test_nothing_to_publish_for_a_skipped_record_or_a_wave_that_has_not_ended(record, why):
    fake = FakeCloudWatch()
    result = metrics.publish(metrics.CloudWatchClient(fake), metrics.NAMESPACE, "shop", "FAILOVER", record)
    assert result["changed"] is False and result["metrics"] == [] and fake.requests == []
    assert result["skipped_reason"].startswith(why)


def test_a_wave_without_duration_or_timestamp_leaves_them_out():
    record = failover_record()
    del record["wave"]["duration_seconds"], record["wave"]["ended_at"]
    result = metrics.plan("shop", "FAILOVER", record)
    assert "RecoveryTimeSeconds" not in result["values"]
    assert all("Timestamp" not in m for m in result["metrics"])


def test_put_metric_data_in_batches_of_at_most_1000():
    fake = FakeCloudWatch()
    data = [{"MetricName": "ServersLaunched", "Value": n} for n in range(2500)]
    assert metrics.CloudWatchClient(fake).put_metric_data("N", data) == 3
    assert [len(r["MetricData"]) for r in fake.requests] == [1000, 1000, 500]
    assert [d["Value"] for r in fake.requests for d in r["MetricData"]] == list(range(2500))

    fake = FakeCloudWatch()
    result = metrics.publish(metrics.CloudWatchClient(fake), metrics.NAMESPACE, "shop", "FAILOVER", failover_record(),
                             batch_size=5)
    assert result["put_metric_data_calls"] == 3 and [len(r["MetricData"]) for r in fake.requests] == [5, 5, 2]


def test_refusals_come_before_any_call():
    fake = FakeCloudWatch()
    client = metrics.CloudWatchClient(fake)
    for namespace in ("AWS/DRS", "", "x" * 256):
        with pytest.raises(ConfigurationError, match="namespace"):
            metrics.publish(client, namespace, "shop", "FAILOVER", failover_record())
    with pytest.raises(ConfigurationError, match="ProtectionGroup dimension"):
        metrics.publish(client, metrics.NAMESPACE, "p" * 1025, "FAILOVER", failover_record())
    with pytest.raises(ConfigurationError, match="execution_type"):
        metrics.publish(client, metrics.NAMESPACE, "shop", "FAILOVER_CLEANUP", failover_record())
    record = failover_record()
    del record["wave"]["wave"]
    with pytest.raises(ConfigurationError, match="No wave number"):
        metrics.publish(client, metrics.NAMESPACE, "shop", "FAILOVER", record)
    assert fake.requests == []


def test_an_aws_error_names_the_namespace():
    refused = client_error("AccessDenied", 403, "not allowed", operation="PutMetricData")
    client = metrics.CloudWatchClient(FakeCloudWatch(error=refused))
    with pytest.raises(DRSAPIError) as raised:
        metrics.publish(client, metrics.NAMESPACE, "shop", "FAILOVER", failover_record())
    assert "ElasticDR/Orchestration" in str(raised.value.message) and raised.value.code == "AccessDenied"


def test_round_trip_through_moto():
    recent = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
    record = failover_record()
    record["wave"]["ended_at"] = recent.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    with mock_aws():
        raw = boto3.client("cloudwatch", region_name="us-west-2")
        client = metrics.CloudWatchClient(RetryingBotoClientWrapper(raw, DRSRetry.honour_retry_after(retries=1)))
        metrics.publish(client, metrics.NAMESPACE, "shop", "FAILOVER", record)
        listed = raw.list_metrics(Namespace=metrics.NAMESPACE)["Metrics"]
        assert len(listed) == 12
        stats = raw.get_metric_statistics(
            Namespace=metrics.NAMESPACE, MetricName="IPMismatches", Statistics=["Maximum"], Period=60,
            Dimensions=[{"Name": "ProtectionGroup", "Value": "shop"}, {"Name": "ExecutionType", "Value": "FAILOVER"},
                        {"Name": "Wave", "Value": "2"}],
            StartTime=recent - datetime.timedelta(minutes=1), EndTime=recent + datetime.timedelta(minutes=1))
        assert [(p["Maximum"], p["Unit"]) for p in stats["Datapoints"]] == [(1.0, "Count")]
