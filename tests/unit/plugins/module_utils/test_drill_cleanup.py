# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""DrillCleaner: drill recovery instances are stopped (tagged targets only), disconnected and deleted; nothing is
ever terminated; refusals name every server and come before any change; a second run changes nothing."""

import pytest

from ansible_collections.elasticdr.orchestration.plugins.module_utils.drill_cleanup import DrillCleaner
from ansible_collections.elasticdr.orchestration.plugins.module_utils.drill_cleanup import normalise_servers
from ansible_collections.elasticdr.orchestration.plugins.module_utils.drill_cleanup import outcome
from ansible_collections.elasticdr.orchestration.plugins.module_utils.drill_cleanup import records_of
from ansible_collections.elasticdr.orchestration.plugins.module_utils.drs import DRSClient
from ansible_collections.elasticdr.orchestration.plugins.module_utils.ec2 import EC2Client
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ConfigurationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ValidationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.models import ServerRecord

from .fakes import FakeDRSBoto
from .fakes import FakeEC2Boto
from .fakes import FakeClock
from .fakes import client_error
from .fakes import iid
from .fakes import instance
from .fakes import jid
from .fakes import sid


class CleanupDRSBoto(FakeDRSBoto):
    """The fake DRS client with disconnect and delete, behaving as DRS does (section 6): delete needs a
    disconnected instance; neither touches EC2."""

    def disconnect_recovery_instance(self, **params):
        params = self._record("disconnect_recovery_instance", params)
        for item in self.recovery_instances:
            if item["recoveryInstanceID"] == params["recoveryInstanceID"]:
                item["dataReplicationInfo"] = {"dataReplicationState": "DISCONNECTED"}
                item.pop("failback", None)
                return {}
        raise client_error("ResourceNotFoundException", 404, "no such recovery instance", "DisconnectRecoveryInstance")

    def delete_recovery_instance(self, **params):
        params = self._record("delete_recovery_instance", params)
        for item in self.recovery_instances:
            if item["recoveryInstanceID"] == params["recoveryInstanceID"]:
                if (item.get("dataReplicationInfo") or {}).get("dataReplicationState") != "DISCONNECTED":
                    raise client_error("ConflictException", 409, "disconnect it first", "DeleteRecoveryInstance")
                self.recovery_instances.remove(item)
                return {}
        raise client_error("ResourceNotFoundException", 404, "no such recovery instance", "DeleteRecoveryInstance")


def recovery_instance(n, is_drill=True, state="RUNNING", failback="FAILBACK_NOT_STARTED", disconnected=False,
                      instance_id=None):
    rid = instance_id or iid(100 + n)
    item = {"recoveryInstanceID": rid, "ec2InstanceID": rid, "ec2InstanceState": state, "sourceServerID": sid(n),
            "jobID": jid(n), "isDrill": is_drill,
            "dataReplicationInfo": {"dataReplicationState": "DISCONNECTED" if disconnected else "NOT_STARTED"}}
    if failback:
        item["failback"] = {"state": failback}
    return item


class World:
    """Servers 1..n; server k drilled into target iid(100 + k), running and tagged unless told otherwise."""

    def __init__(self, n=2, records=None, instances=None, stop_after=0):
        self.records = records if records is not None else [recovery_instance(k) for k in range(1, n + 1)]
        self.instances = instances if instances is not None else [
            instance(instance_id=iid(100 + k), name=f"server-{k}", state="running", ip=f"10.0.0.{k}")
            for k in range(1, n + 1)]
        self.drs_fake = CleanupDRSBoto(recovery_instances=self.records)
        self.ec2_fake = FakeEC2Boto(self.instances, stop_after=stop_after)
        self.log = []  # every mutating call of both fakes, in order
        for fake in (self.drs_fake, self.ec2_fake):
            fake._record = self._logging(fake, fake._record)
        self.clock = FakeClock()
        self.cleaner = DrillCleaner(DRSClient(self.drs_fake), EC2Client(self.ec2_fake), stop_poll=1,
                                    sleep=self.clock.sleep)

    @staticmethod
    def servers(*numbers):
        return [{"name": f"server-{k}", "source_server_id": sid(k), "target_instance_id": iid(100 + k),
                 "source_instance_id": iid(k), "source_private_ip": f"10.1.0.{k}"} for k in numbers]

    def _logging(self, fake, record):
        def logged(operation, params):
            if operation in fake.MUTATING:
                self.log.append(operation)
            return record(operation, params)
        return logged

    def mutations(self):
        return list(self.log)


def _by_name(result):
    return {s["name"]: s for s in result["servers"]}


def test_drills_are_stopped_disconnected_and_deleted_never_terminated():
    world = World(2)
    plan = world.cleaner.plan(world.servers(1, 2))
    assert world.mutations() == [], "planning must not change anything"
    assert [s["actions"] for s in plan["servers"]] == [["stop", "disconnect", "delete"]] * 2
    predicted = outcome(plan["servers"], check_mode=True)
    assert predicted["changed"] is True and predicted["stopped"] == [iid(101), iid(102)]
    assert predicted["summary"][0].startswith("Drill clean-up: would stop 2 target(s), would disconnect 2")

    result = outcome(plan["servers"], world.cleaner.apply(plan))
    assert world.mutations() == ["stop_instances", "disconnect_recovery_instance", "delete_recovery_instance",
                                 "disconnect_recovery_instance", "delete_recovery_instance"]
    assert not {"terminate_instances", "terminate_recovery_instances"} & set(world.mutations())
    assert {s["cleanup_status"] for s in result["servers"]} == {"CLEANED"}
    assert result["wave_status"] == "COMPLETED" and result["counts"]["cleaned"] == 2
    assert result["deleted"] == [iid(101), iid(102)] and world.drs_fake.recovery_instances == []
    assert {i["State"]["Name"] for i in world.ec2_fake.instances.values()} == {"stopped"}
    assert all(s["instance_state"] == "stopped" for s in result["servers"])

    # A second run finds nothing to do.
    before = len(world.mutations())
    again = outcome(world.cleaner.plan(world.servers(1, 2))["servers"])
    assert again["changed"] is False and {s["cleanup_status"] for s in again["servers"]} == {"NOTHING_TO_CLEAN"}
    assert len(world.mutations()) == before


def test_a_stopping_target_is_waited_for_and_a_stopped_or_missing_one_is_not_stopped():
    records = [recovery_instance(1), recovery_instance(2), recovery_instance(3, state="NOT_FOUND")]
    instances = [instance(instance_id=iid(101), state="stopping"), instance(instance_id=iid(102), state="stopped")]
    world = World(records=records, instances=instances, stop_after=0)
    world.ec2_fake.set_stopping(iid(101), 2)
    plan = world.cleaner.plan(world.servers(1, 2, 3))
    actions = {s["name"]: s["actions"] for s in plan["servers"]}
    assert actions == {"server-1": ["stop", "disconnect", "delete"], "server-2": ["disconnect", "delete"],
                       "server-3": ["disconnect", "delete"]}
    result = outcome(plan["servers"], world.cleaner.apply(plan))
    assert world.ec2_fake.count("stop_instances") == 0  # already stopping: only waited for
    assert world.clock.sleeps, "the stopping target was waited for"
    assert world.ec2_fake.instances[iid(101)]["State"]["Name"] == "stopped"
    assert _by_name(result)["server-3"]["instance_state"] == "not-found"
    assert {s["cleanup_status"] for s in result["servers"]} == {"CLEANED"}


def test_a_disconnected_record_is_only_deleted():
    world = World(records=[recovery_instance(1, disconnected=True)],
                  instances=[instance(instance_id=iid(101), state="stopped")])
    plan = world.cleaner.plan(world.servers(1))
    assert plan["servers"][0]["actions"] == ["delete"]
    world.cleaner.apply(plan)
    assert world.mutations() == ["delete_recovery_instance"]


def test_refusals_name_every_server_and_come_before_any_change():
    records = [recovery_instance(1), recovery_instance(2, is_drill=False), recovery_instance(3),
               recovery_instance(4, failback="FAILBACK_IN_PROGRESS")]
    instances = [instance(instance_id=iid(101), state="running"), instance(instance_id=iid(102), state="running"),
                 instance(instance_id=iid(103), state="running", tagged=False),
                 instance(instance_id=iid(104), state="running")]
    world = World(records=records, instances=instances)
    with pytest.raises(ValidationError) as raised:
        world.cleaner.plan(world.servers(1, 2, 3, 4))
    error = raised.value
    assert error.server == "server-2, server-3, server-4"
    assert f"recovery instance {iid(102)} is not a drill" in error.message
    assert f"instance {iid(103)} is running and not tagged AWSDRS=AllowLaunchingIntoThisInstance" in error.message
    assert "replicating back (failback state FAILBACK_IN_PROGRESS)" in error.message
    assert "server-1" not in error.message
    assert "non_drill_instances=skip" in error.remediation
    assert [p["server"] for p in error.details["problems"]] == ["server-2", "server-3", "server-4"]
    assert world.mutations() == []


@pytest.mark.parametrize("choice, status, actions", [
    ("skip", "SKIPPED", []),
    ("clean", "WOULD_CLEAN", ["stop", "disconnect", "delete"]),
])
def test_recovery_instances_that_are_not_drills_are_skipped_or_cleaned_on_request(choice, status, actions):
    world = World(records=[recovery_instance(1, is_drill=False)])
    item = world.cleaner.plan(world.servers(1), non_drill=choice)["servers"][0]
    assert item["cleanup_status"] == status and item["actions"] == actions and item["is_drill"] is False


def test_an_unknown_choice_and_a_bad_id_are_configuration_errors():
    world = World(1)
    with pytest.raises(ConfigurationError, match="non_drill_instances must be one of refuse, skip, clean"):
        world.cleaner.plan(world.servers(1), non_drill="terminate")
    with pytest.raises(ConfigurationError) as raised:
        world.cleaner.plan([{"name": "db-01", "source_server_id": "i-0123"}])
    assert "db-01: 'i-0123'" in raised.value.message
    assert world.mutations() == [] and world.drs_fake.count() == 0


def test_match_results_are_accepted_as_they_are():
    entries = normalise_servers([
        {"name": "db-01", "source_server_id": sid(1), "target_instance_id": iid(101), "checks": []},  # a pair
        {"name": "db-01", "source_server_id": sid(1)},  # the same server again
        {"name": "ghost", "source_server_id": None, "reason": "no DRS source server"},  # unmatched by name
        {"name": None, "source_server_id": sid(2), "reason": "the source instance has no Name tag"},
    ])
    assert entries == [
        {"name": "db-01", "source_server_id": sid(1), "target_instance_id": iid(101), "source_instance_id": None,
         "source_private_ip": None},
        {"name": "ghost", "source_server_id": None, "reason": "no DRS source server"},
        {"name": sid(2), "source_server_id": sid(2), "target_instance_id": None, "source_instance_id": None,
         "source_private_ip": None},
    ]
    world = World(1)
    result = outcome(world.cleaner.plan(entries)["servers"], check_mode=True)
    statuses = {s["name"]: s["cleanup_status"] for s in result["servers"]}
    assert statuses == {"db-01": "WOULD_CLEAN", "ghost": "NOT_MATCHED", sid(2): "NOTHING_TO_CLEAN"}
    assert result["wave_status"] == "COMPLETED"


def test_an_aws_error_on_one_server_fails_it_and_the_others_go_on():
    world = World(2)
    plan = world.cleaner.plan(world.servers(1, 2))
    original = world.drs_fake.disconnect_recovery_instance

    def refuse_first(**params):
        if params["recoveryInstanceID"] == iid(101):
            world.drs_fake._record("disconnect_recovery_instance", params)
            raise client_error("AccessDeniedException", 403, "not allowed", "DisconnectRecoveryInstance")
        return original(**params)

    world.drs_fake.disconnect_recovery_instance = refuse_first
    result = outcome(plan["servers"], world.cleaner.apply(plan))
    servers = _by_name(result)
    assert servers["server-1"]["cleanup_status"] == "FAILED"
    assert servers["server-1"]["error"]["cause"] == "AccessDeniedException"
    assert "run the clean-up again" in servers["server-1"]["error"]["remediation"]
    assert servers["server-2"]["cleanup_status"] == "CLEANED"
    assert result["wave_status"] == "PARTIAL" and result["deleted"] == [iid(102)]


def test_records_fit_the_execution_record_and_names_stay_unique():
    records = [recovery_instance(1), recovery_instance(1, instance_id=iid(999))]
    instances = [instance(instance_id=iid(101), state="stopped", ip="10.0.0.1"),
                 instance(instance_id=iid(999), state="stopped")]
    world = World(records=records, instances=instances)
    result = outcome(world.cleaner.plan(world.servers(1))["servers"], check_mode=True)
    names = [r["name"] for r in result["records"]]
    assert names == [f"server-1 ({iid(101)})", f"server-1 ({iid(999)})"]
    for record in records_of(result["servers"]):
        ServerRecord.from_dict(record)  # validates: IDs, IPs
        assert record["launch_status"] == "WOULD_CLEAN"
    assert result["records"][0]["target_private_ip"] == "10.0.0.1"
    assert result["records"][0]["source_instance_id"] == iid(1) and result["records"][0]["source_private_ip"] == "10.1.0.1"
