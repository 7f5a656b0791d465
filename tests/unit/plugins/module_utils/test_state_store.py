"""StateStore against moto's DynamoDB, in process: pairs, the lease lock, executions, failback state."""
import boto3
import pytest
from moto import mock_aws

from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import LockError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import StateStoreError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.retry import DRSRetry
from ansible_collections.elasticdr.orchestration.plugins.module_utils.state_store import StateStore
from ansible_collections.elasticdr.orchestration.plugins.module_utils.state_store import table_names


def create_tables(client, prefix):
    """The state tables with the keys and the StatusIndex the collection uses (the tests' one copy)."""
    names = table_names(prefix)
    client.create_table(
        TableName=names["pairs"], BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "protection_group", "AttributeType": "S"},
                              {"AttributeName": "source_server_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "protection_group", "KeyType": "HASH"},
                   {"AttributeName": "source_server_id", "KeyType": "RANGE"}])
    client.create_table(
        TableName=names["executions"], BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "execution_id", "AttributeType": "S"},
                              {"AttributeName": "record_key", "AttributeType": "S"},
                              {"AttributeName": "execution_status", "AttributeType": "S"},
                              {"AttributeName": "started_at", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "execution_id", "KeyType": "HASH"},
                   {"AttributeName": "record_key", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[{"IndexName": "StatusIndex", "Projection": {"ProjectionType": "ALL"},
                                 "KeySchema": [{"AttributeName": "execution_status", "KeyType": "HASH"},
                                               {"AttributeName": "started_at", "KeyType": "RANGE"}]}])
    client.create_table(
        TableName=names["failback"], BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "protection_group", "AttributeType": "S"},
                              {"AttributeName": "source_server_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "protection_group", "KeyType": "HASH"},
                   {"AttributeName": "source_server_id", "KeyType": "RANGE"}])


class FakeClock:
    def __init__(self, now=1_000_000.0):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def store():
    with mock_aws():
        raw = boto3.client("dynamodb", region_name="us-east-1")
        create_tables(raw, "test")
        clock = FakeClock()
        yield StateStore(RetryingBotoClientWrapper(raw, DRSRetry.honour_retry_after(retries=2)), "test", clock=clock)


def test_missing_tables_are_named():
    with mock_aws():
        raw = boto3.client("dynamodb", region_name="us-east-1")
        store = StateStore(RetryingBotoClientWrapper(raw, DRSRetry.honour_retry_after(retries=1)), "absent")
        with pytest.raises(StateStoreError) as caught:
            store.check_tables()
        message = str(caught.value)
        for name in table_names("absent").values():
            assert name in message


def test_pairs_round_trip_and_lock_item_is_not_a_pair(store):
    store.check_tables()
    store.put_pair({"protection_group": "shop", "source_server_id": "s-0123456789abcdef0", "name": "db-01",
                    "target_instance_id": "i-0123456789abcdef0", "wave": 1, "lag": 1.5})
    store.acquire_lock("shop", "exec-1")
    pairs = store.get_pairs("shop")
    assert [(p["name"], p["wave"], p["lag"]) for p in pairs] == [("db-01", 1, 1.5)]
    store.delete_pair("shop", "s-0123456789abcdef0")
    assert store.get_pairs("shop") == []


def test_lock_refuses_another_holder_and_names_it(store):
    store.acquire_lock("shop", "exec-1", lease_seconds=60)
    store.acquire_lock("shop", "exec-1", lease_seconds=60)  # the holder renews
    with pytest.raises(LockError) as caught:
        store.acquire_lock("shop", "exec-2")
    assert "exec-1" in str(caught.value)
    assert caught.value.details["stale"] is False


def test_stale_lock_is_broken_only_on_request(store):
    store.acquire_lock("shop", "exec-1", lease_seconds=60)
    store.clock.now += 120
    with pytest.raises(LockError) as caught:
        store.acquire_lock("shop", "exec-2")
    assert caught.value.details["stale"] is True
    assert "drs_break_lock" in caught.value.remediation
    store.acquire_lock("shop", "exec-2", break_stale=True)
    assert store.get_lock("shop")["holder"] == "exec-2"


def test_release_only_by_holder(store):
    store.acquire_lock("shop", "exec-1")
    assert store.release_lock("shop", "exec-2") is False
    assert store.get_lock("shop")["holder"] == "exec-1"
    assert store.release_lock("shop", "exec-1") is True
    assert store.get_lock("shop") is None


def test_execution_with_many_servers_round_trips(store):
    store.put_execution({"execution_id": "exec-1", "protection_group": "shop", "status": "RUNNING",
                         "started_at": "2026-11-26T00:00:00.000Z"})
    store.put_wave("exec-1", {"wave": 1, "status": "COMPLETED", "job_ids": ["drsjob-0123456789abcdef0"]})
    servers = [{"name": f"web-{i:03d}", "launch_status": "LAUNCHED", "lag_seconds": 0.5} for i in range(60)]
    store.put_servers("exec-1", 1, servers)
    record = store.get_execution("exec-1")
    assert record["execution"]["status"] == "RUNNING" and "execution_status" not in record["execution"]
    assert record["waves"][1]["job_ids"] == ["drsjob-0123456789abcdef0"]
    assert len(record["servers"][1]) == 60
    assert record["servers"][1]["web-059"]["lag_seconds"] == 0.5
    assert [e["execution_id"] for e in store.executions_by_status("RUNNING")] == ["exec-1"]


def test_wave_and_server_items_expire_like_their_execution(store):
    """The executions table's TTL removes items whose `ttl` has passed: without one, wave and server items would
    outlive their execution item (which ExecutionRecorder gives a ttl 90 days ahead)."""
    store.put_wave("exec-1", {"wave": 1, "status": "RUNNING"})
    store.put_wave("exec-1", {"wave": 2, "status": "PENDING", "ttl": 5})
    store.put_servers("exec-1", 1, [{"name": "db-01", "launch_status": "LAUNCHED"}])
    record = store.get_execution("exec-1")
    ninety_days = store.clock() + 90 * 86400
    assert record["waves"][1]["ttl"] == ninety_days and record["servers"][1]["db-01"]["ttl"] == ninety_days
    assert record["waves"][2]["ttl"] == 5


def test_failback_states(store):
    store.put_failback_states([{"protection_group": "shop", "source_server_id": f"s-0123456789abcde{i:02d}",
                                "status": "REPLICATING"} for i in range(30)])
    assert len(store.get_failback_states("shop")) == 30


def test_the_waves_of_an_execution_are_read_without_its_server_items(store):
    store.put_execution({"execution_id": "ex-w", "protection_group": "pg", "status": "RUNNING"})
    store.put_wave("ex-w", {"wave": 1, "status": "COMPLETED"})
    store.put_wave("ex-w", {"wave": 2, "status": "RUNNING"})
    store.put_servers("ex-w", 1, [{"name": f"s-{n:03d}", "launch_status": "LAUNCHED"} for n in range(30)])
    waves = store.get_execution_waves("ex-w")
    assert waves["execution"]["status"] == "RUNNING" and waves["execution"]["protection_group"] == "pg"
    assert {w: i["status"] for w, i in waves["waves"].items()} == {1: "COMPLETED", 2: "RUNNING"}
    assert "servers" not in waves
    full = store.get_execution("ex-w")
    assert full["execution"] == waves["execution"] and full["waves"] == waves["waves"] and len(full["servers"][1]) == 30
    assert store.get_execution_waves("nothing") == {"execution": None, "waves": {}}
