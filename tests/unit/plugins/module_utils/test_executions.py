"""ExecutionRecorder against moto's DynamoDB: start/resume under the lock, waves, finish, check mode."""
import boto3
import pytest
from moto import mock_aws

from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ConfigurationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import LockError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import StateStoreError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ValidationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.executions import ExecutionRecorder
from ansible_collections.elasticdr.orchestration.plugins.module_utils.retry import DRSRetry
from ansible_collections.elasticdr.orchestration.plugins.module_utils.state_store import StateStore

from .test_state_store import FakeClock
from .test_state_store import create_tables


class Writes:
    """Counts DynamoDB writes made through the wrapped client."""

    MUTATING = ("put_item", "delete_item", "batch_write_item", "update_item")

    def __init__(self, client):
        self.client = client
        self.writes = 0

    def __getattr__(self, name):
        attr = getattr(self.client, name)
        if name in self.MUTATING:
            def counted(*args, **kwargs):
                self.writes += 1
                return attr(*args, **kwargs)
            return counted
        return attr


@pytest.fixture
def store():
    with mock_aws():
        raw = boto3.client("dynamodb", region_name="us-west-2")
        create_tables(raw, "t")
        client = Writes(RetryingBotoClientWrapper(raw, DRSRetry.honour_retry_after(retries=2)))
        yield StateStore(client, "t", clock=FakeClock())


def ticking():
    times = iter(f"2026-11-27T00:00:{s:02d}.000Z" for s in range(60))
    return lambda: next(times)


def test_start_creates_then_resumes_and_skips_completed_waves(store):
    first = ExecutionRecorder(store, "shop", "exec-1", now=ticking())
    started = first.start("FAILOVER", waves=[1, 2], primary_region="us-east-1", recovery_region="us-west-2")
    assert started["resumed"] is False and started["completed_waves"] == []
    first.record_wave(1, "COMPLETED", servers=[{"name": "db-01", "source_server_id": "s-0123456789abcdef0",
                                                "launch_status": "LAUNCHED", "target_private_ip": "10.0.0.1",
                                                "ignored_key": "x"}], job_ids=["drsjob-0123456789abcdef0"])
    first.record_wave(2, "FAILED", servers=[{"name": "web-01", "launch_status": "FAILED"}])
    again = ExecutionRecorder(store, "shop", "exec-1", now=ticking()).start("FAILOVER", waves=[1, 2])
    assert again["resumed"] is True
    assert again["completed_waves"] == [1]
    assert again["wave_statuses"] == {1: "COMPLETED", 2: "FAILED"}
    assert again["execution"]["resume_count"] == 1
    record = store.get_execution("exec-1")
    assert record["servers"][1]["db-01"]["target_private_ip"] == "10.0.0.1"
    assert "ignored_key" not in record["servers"][1]["db-01"]


def test_an_execution_run_one_wave_at_a_time_keeps_every_planned_wave(store):
    ExecutionRecorder(store, "shop", "exec-1", now=ticking()).start("FAILOVER", waves=[1])
    resumed = ExecutionRecorder(store, "shop", "exec-1", now=ticking()).start("FAILOVER", waves=[2])
    assert resumed["execution"]["planned_waves"] == [1, 2]
    assert store.get_execution("exec-1")["execution"]["planned_waves"] == [1, 2]


def test_a_wave_keeps_its_start_and_gets_a_duration_when_it_ends(store):
    recorder = ExecutionRecorder(store, "shop", "exec-1", now=ticking())
    recorder.start("FAILOVER")                       # 00:00:00
    recorder.record_wave(1, "RUNNING")               # 00:00:01
    recorder.record_wave(1, "RUNNING")               # 00:00:02, still the same start
    ended = recorder.record_wave(1, "COMPLETED")     # 00:00:03
    assert ended["wave"]["started_at"] == "2026-11-27T00:00:01.000Z"
    assert ended["wave"]["duration_seconds"] == 2.0
    assert store.get_execution("exec-1")["waves"][1]["ended_at"] == "2026-11-27T00:00:03.000Z"


def test_another_execution_is_refused_with_the_holder_named(store):
    ExecutionRecorder(store, "shop", "exec-1").start("FAILOVER")
    with pytest.raises(LockError) as caught:
        ExecutionRecorder(store, "shop", "exec-2").start("FAILOVER")
    assert "exec-1" in str(caught.value)


def test_resuming_as_another_type_or_group_is_refused(store):
    ExecutionRecorder(store, "shop", "exec-1").start("FAILOVER")
    with pytest.raises(ConfigurationError) as caught:
        ExecutionRecorder(store, "shop", "exec-1").start("FAILBACK")
    assert "FAILOVER" in str(caught.value) and "new drs_execution_id" in caught.value.remediation


def test_finish_releases_the_lock_so_the_next_run_proceeds(store):
    recorder = ExecutionRecorder(store, "shop", "exec-1", now=ticking())
    recorder.start("DRILL")
    done = recorder.finish("COMPLETED")
    assert done["lock_released"] is True
    assert store.get_execution("exec-1")["execution"]["status"] == "COMPLETED"
    ExecutionRecorder(store, "shop", "exec-2").start("DRILL_CLEANUP")
    assert store.get_lock("shop")["holder"] == "exec-2"


def test_check_mode_writes_nothing_but_still_refuses_a_held_lock(store):
    ExecutionRecorder(store, "shop", "exec-1").start("FAILOVER")
    before = store.client.writes
    planned = ExecutionRecorder(store, "shop", "exec-1", check_mode=True).start("FAILOVER")
    assert planned["resumed"] is True and planned["changed"] is True
    ExecutionRecorder(store, "shop", "exec-1", check_mode=True).record_wave(1, "COMPLETED",
                                                                            servers=[{"name": "db-01"}])
    ExecutionRecorder(store, "shop", "exec-1", check_mode=True).finish("COMPLETED")
    assert store.client.writes == before
    with pytest.raises(LockError):
        ExecutionRecorder(store, "shop", "exec-2", check_mode=True).start("FAILOVER")
    assert store.client.writes == before


def test_bad_server_records_are_refused_before_any_write(store):
    recorder = ExecutionRecorder(store, "shop", "exec-1")
    recorder.start("FAILOVER")
    before = store.client.writes
    with pytest.raises(ValidationError):
        recorder.record_wave(1, "COMPLETED", servers=[{"name": "db-01", "target_private_ip": "not-an-ip"}])
    with pytest.raises(ConfigurationError):
        recorder.record_wave(1, "COMPLETED", servers=[{"name": "db-01"}, {"name": "db-01"}])
    with pytest.raises(ConfigurationError):
        recorder.record_wave(1, "DONE")
    assert store.client.writes == before


def test_missing_tables_are_reported_before_anything_else():
    with mock_aws():
        raw = boto3.client("dynamodb", region_name="us-west-2")
        store = StateStore(RetryingBotoClientWrapper(raw, DRSRetry.honour_retry_after(retries=1)), "none")
        with pytest.raises(StateStoreError) as caught:
            ExecutionRecorder(store, "shop", "exec-1").start("FAILOVER")
        assert "none-executions" in str(caught.value)


def test_the_end_of_a_wave_marks_the_next_running_only_when_it_completed(store):
    recorder = ExecutionRecorder(store, "shop", "exec-1", now=ticking())
    recorder.start("FAILOVER", waves=[1, 2, 3])
    servers = [{"name": "db-01", "source_server_id": "s-0123456789abcdef0", "launch_status": "LAUNCHED"}]
    done = recorder.record_wave_end(1, "COMPLETED", servers=servers, counts={"launched": 1}, next_wave=2)
    assert done["wave_status"] == "COMPLETED" and done["next_wave_running"] == 2
    assert done["summary"][0].startswith("Wave 1: COMPLETED - 1 launched")
    failed = recorder.record_wave_end(2, "FAILED", servers=[dict(servers[0], name="web-01", launch_status="FAILED")],
                                      counts={"failed": 1}, next_wave=3)
    assert failed["next_wave_running"] is None
    alone = recorder.record_wave_end(3, "SKIPPED")
    assert "next_wave_running" not in alone
    waves = store.get_execution("exec-1")["waves"]
    assert {w: item["status"] for w, item in waves.items()} == {1: "COMPLETED", 2: "FAILED", 3: "SKIPPED"}


def test_check_mode_plans_the_end_of_a_wave_and_writes_nothing(store):
    ExecutionRecorder(store, "shop", "exec-1").start("FAILOVER", waves=[1, 2])
    before = store.get_execution("exec-1")
    planned = ExecutionRecorder(store, "shop", "exec-1", check_mode=True).record_wave_end(1, "COMPLETED", next_wave=2)
    assert planned["next_wave_running"] == 2 and planned["wave"]["status"] == "COMPLETED"
    assert store.get_execution("exec-1") == before
