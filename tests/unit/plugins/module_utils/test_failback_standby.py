"""RecoveryRegionStandby: the recovery region back to standby after a failback, checked before any change."""
import pytest

from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ValidationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.failback_standby import RecoveryRegionStandby

TAG = {"Key": "AWSDRS", "Value": "AllowLaunchingIntoThisInstance"}


class DRS:
    def __init__(self, states):
        self.states = states
        self.calls = []

    def describe_source_servers(self, ids):
        self.calls.append(("describe", sorted(ids)))
        return [{"sourceServerID": i, "dataReplicationInfo": {"dataReplicationState": self.states[i]}}
                for i in ids if i in self.states]

    def stop_replication(self, source_server_id):
        self.calls.append(("stop_replication", source_server_id))
        self.states[source_server_id] = "STOPPED"


class EC2:
    def __init__(self, instances):
        self.instances = instances
        self.stopped = []

    def describe_instances(self, ids):
        return {i: self.instances[i] for i in ids if i in self.instances}

    def stop_launch_into_targets(self, instances):
        ids = [i["InstanceId"] for i in instances if i["State"]["Name"] == "running"]
        for i in ids:
            self.instances[i]["State"]["Name"] = "stopped"
        self.stopped.extend(ids)
        return ids


def _instance(iid, state="running", tagged=True):
    return {"InstanceId": iid, "State": {"Name": state}, "Tags": [TAG] if tagged else []}


SERVERS = [{"name": "db-01", "failback_source_server_id": "s-a", "recovery_instance_id": "i-1"},
           {"name": "db-02", "failback_source_server_id": "s-b", "recovery_instance_id": "i-2"}]


def test_stops_replication_first_then_the_instances_and_a_second_run_does_nothing():
    drs = DRS({"s-a": "CONTINUOUS", "s-b": "STOPPED"})
    ec2 = EC2({"i-1": _instance("i-1"), "i-2": _instance("i-2", state="stopped")})
    standby = RecoveryRegionStandby(drs, ec2)
    entries = standby.plan(SERVERS)
    assert [e["actions"] for e in entries] == [["stop_replication", "stop_instance"], []]
    assert standby.apply(entries) == (["s-a"], ["i-1"])
    assert drs.calls[-1] == ("stop_replication", "s-a") and ec2.instances["i-1"]["State"]["Name"] == "stopped"
    again = standby.plan(SERVERS)
    assert [e["actions"] for e in again] == [[], []] and standby.apply(again) == ([], [])


@pytest.mark.parametrize("instances, fragment", [
    ({"i-1": _instance("i-1", tagged=False), "i-2": _instance("i-2")}, "db-01: recovery instance i-1 is not tagged"),
    ({"i-2": _instance("i-2")}, "db-01: recovery instance i-1 is not found"),
    ({"i-1": _instance("i-1", state="terminated"), "i-2": _instance("i-2")}, "i-1 is terminated"),
])
def test_a_bad_recovery_instance_is_refused_before_any_change(instances, fragment):
    drs = DRS({"s-a": "CONTINUOUS", "s-b": "CONTINUOUS"})
    ec2 = EC2(instances)
    with pytest.raises(ValidationError) as raised:
        RecoveryRegionStandby(drs, ec2).plan(SERVERS)
    assert fragment in str(raised.value) and raised.value.server == "db-01"
    assert "drs_standby_after_failback=false" in raised.value.remediation
    assert [c for c in drs.calls if c[0] == "stop_replication"] == [] and ec2.stopped == []


def test_a_failback_server_not_found_is_refused_before_any_change():
    drs = DRS({"s-b": "CONTINUOUS"})
    ec2 = EC2({"i-1": _instance("i-1"), "i-2": _instance("i-2")})
    with pytest.raises(ValidationError) as raised:
        RecoveryRegionStandby(drs, ec2).plan(SERVERS)
    assert "db-01: FAILBACK source server s-a is not found" in str(raised.value) and ec2.stopped == []


def test_each_half_can_be_left_out():
    drs = DRS({"s-a": "CONTINUOUS", "s-b": "CONTINUOUS"})
    ec2 = EC2({"i-1": _instance("i-1"), "i-2": _instance("i-2")})
    only_replication = RecoveryRegionStandby(drs, ec2).plan(SERVERS, stop_instances=False)
    assert [e["actions"] for e in only_replication] == [["stop_replication"]] * 2
    only_instances = RecoveryRegionStandby(None, ec2).plan(SERVERS, stop_replication=False)
    assert [e["actions"] for e in only_instances] == [["stop_instance"]] * 2
