# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Reverse replication for failback: adopt what exists, start the rest, wait for CONTINUOUS with a small lag."""

import pytest

from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ConfigurationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.failback import ReverseReplication
from ansible_collections.elasticdr.orchestration.plugins.module_utils.failback import failback_servers_by_instance
from ansible_collections.elasticdr.orchestration.plugins.module_utils.failback import server_id_from_arn

from .fakes import FakeClock
from .fakes import drs_client
from .fakes import iid
from .fakes import job
from .fakes import sid
from .fakes import source_server

ORIGIN_ARN = "arn:aws:drs:us-east-1:111111111111:source-server/"


def recovery_instance(n):
    return {"recoveryInstanceID": iid(100 + n), "ec2InstanceID": iid(100 + n), "sourceServerID": sid(n),
            "originEnvironment": "AWS", "isDrill": False}


class Regions:
    """Recovery region: original source servers s-1..s-n and their recovery instances i-101..;
    origin region: whatever FAILBACK servers exist already."""

    def __init__(self, n=3, origin_servers=()):
        originals = [source_server(sid(k), iid(k), staging_account="333333333333" if k == 1 else None)
                     for k in range(1, n + 1)]
        self.recovery, self.recovery_fake = drs_client(
            servers=originals, recovery_instances=[recovery_instance(k) for k in range(1, n + 1)])
        self.origin, self.origin_fake = drs_client(servers=list(origin_servers))
        self.recovery_fake.on_reverse_replication = self._reverse
        self.reversed = []
        self.runner = ReverseReplication(self.recovery, self.origin)

    def _reverse(self, recovery_instance_id):
        """ReverseReplication creates a FAILBACK server in the origin region that protects the instance."""
        new_id = sid(0x900 + len(self.reversed))
        self.reversed.append(recovery_instance_id)
        self.origin_fake.servers.append(source_server(new_id, recovery_instance_id, direction="FAILBACK",
                                                      state="INITIATING", lag=None, arn=ORIGIN_ARN + new_id))
        return ORIGIN_ARN + new_id

    def set_replication(self, server_id, state, lag):
        for n, server in enumerate(self.origin_fake.servers):
            if server["sourceServerID"] == server_id:
                self.origin_fake.servers[n] = dict(server, dataReplicationInfo={"dataReplicationState": state,
                                                                                "lagDuration": lag})

    def mutating_calls(self):
        return self.recovery_fake.mutating_calls() + self.origin_fake.mutating_calls()


def existing_failback_server():
    # Protects i-101 (the recovery instance of s-1); its link from the recovery side went stale long ago.
    return source_server(sid(0x501), iid(101), direction="FAILBACK", arn=ORIGIN_ARN + sid(0x501))


def test_plan_adopts_an_existing_failback_server_found_by_instance_id():
    unrelated = [source_server(sid(0x502), iid(102), direction="FAILOVER"),  # not a FAILBACK server
                 source_server(sid(0x503), iid(999), direction="FAILBACK")]  # protects another instance
    regions = Regions(3, origin_servers=[existing_failback_server()] + unrelated)
    entries = regions.runner.plan([iid(101), iid(102), iid(103)])
    by_id = {e["recovery_instance_id"]: e for e in entries}
    assert by_id[iid(101)]["needs_start"] is False
    assert by_id[iid(101)]["reversed_source_server_id"] == sid(0x501)
    assert by_id[iid(101)]["reversed_source_server_arn"] == ORIGIN_ARN + sid(0x501)
    assert [by_id[i]["needs_start"] for i in (iid(102), iid(103))] == [True, True]
    assert by_id[iid(102)]["reversed_source_server_id"] is None
    assert by_id[iid(101)]["original_source_server_id"] == sid(1)
    assert by_id[iid(101)]["original_instance_id"] == iid(1)
    assert by_id[iid(101)]["staging_account_id"] == "333333333333"
    assert by_id[iid(102)]["staging_account_id"] is None
    assert regions.mutating_calls() == []


def test_start_reverses_only_what_is_missing_and_a_second_plan_adopts_everything():
    regions = Regions(3, origin_servers=[existing_failback_server()])
    entries = regions.runner.plan([iid(101), iid(102), iid(103)])
    started = regions.runner.start(entries)
    assert started == [iid(102), iid(103)] and regions.reversed == [iid(102), iid(103)]
    assert [e["reversed_source_server_id"] for e in entries] == [sid(0x501), sid(0x900), sid(0x901)]
    assert all(e["needs_start"] is False for e in entries)
    again = regions.runner.plan([iid(101), iid(102), iid(103)])
    assert [e["needs_start"] for e in again] == [False, False, False]
    assert [e["reversed_source_server_id"] for e in again] == [sid(0x501), sid(0x900), sid(0x901)]
    assert regions.runner.start(again) == []
    assert regions.recovery_fake.count("reverse_replication") == 2


def test_start_marks_created_only_the_servers_the_origin_region_did_not_have():
    # i-101 has a FAILBACK server already (adopted, not started); i-102 has a stopped one (started again, resumed:
    # it keeps its own launch configuration); i-103 has none (created from the template).
    resumed = source_server(sid(0x502), iid(102), direction="FAILBACK", state="STOPPED", lag=None,
                            arn=ORIGIN_ARN + sid(0x502))
    regions = Regions(3, origin_servers=[existing_failback_server(), resumed])
    regions.recovery_fake.on_reverse_replication = lambda rid: (
        ORIGIN_ARN + sid(0x502) if rid == iid(102) else regions._reverse(rid))
    entries = regions.runner.plan([iid(101), iid(102), iid(103)])
    assert regions.runner.start(entries) == [iid(102), iid(103)]
    assert [e["created"] for e in entries] == [False, False, True]
    assert entries[2]["reversed_source_server_id"] == sid(0x900)


def test_without_a_plan_nothing_is_known_to_be_created():
    regions = Regions(1)
    entries = [{"recovery_instance_id": iid(101), "needs_start": True}]
    assert regions.runner.start(entries) == [iid(101)]
    assert entries[0]["created"] is False


def test_an_unknown_recovery_instance_is_refused_before_any_change():
    regions = Regions(1)
    with pytest.raises(ConfigurationError) as info:
        regions.runner.plan([iid(101), iid(0xBAD)])
    assert info.value.server == iid(0xBAD) and "run the failover first" in info.value.remediation
    assert regions.mutating_calls() == []


def stopped_failback_server():
    """The FAILBACK server of i-101 after a failback and the standby that stopped its replication."""
    return source_server(sid(0x501), iid(101), direction="FAILBACK", state="STOPPED", lag=None,
                         arn=ORIGIN_ARN + sid(0x501))


def test_a_stopped_failback_server_replicates_again_for_the_next_failback():
    regions = Regions(1, origin_servers=[stopped_failback_server()])
    entries = regions.runner.plan([iid(101)])
    assert entries[0]["needs_start"] is True and entries[0]["failed_back"] is False
    assert regions.origin_fake.count("describe_jobs") == 0  # no execution given: no job read
    assert regions.runner.start(entries) == [iid(101)]


def test_jobs_are_read_only_when_a_failback_server_exists_that_a_job_could_have_launched():
    regions = Regions(2)  # a first failback: no FAILBACK server yet
    entries = regions.runner.plan([iid(101), iid(102)], execution_id="exec-1", wave="1")
    assert [e["needs_start"] for e in entries] == [True, True]
    assert [e["failed_back"] for e in entries] == [False, False]
    assert regions.origin_fake.count("describe_jobs") == 0


@pytest.mark.parametrize("status,launch_status,execution,wave,failed_back", [
    ("COMPLETED", "LAUNCHED", "exec-1", "1", True),   # this wave of this execution launched it
    ("STARTED", "PENDING", "exec-1", "1", True),      # and is launching it: drs_recovery adopts that job
    ("COMPLETED", "FAILED", "exec-1", "1", False),    # its launch failed: it must replicate to be retried
    ("COMPLETED", "LAUNCHED", "exec-0", "1", False),  # an earlier failback cycle launched it
    ("COMPLETED", "LAUNCHED", "exec-1", "2", False),  # another wave's job
])
def test_a_failback_server_this_execution_launched_is_past_reverse_replication(
        status, launch_status, execution, wave, failed_back):
    regions = Regions(1, origin_servers=[stopped_failback_server()])
    tags = {"elasticdr:execution-id": execution, "elasticdr:wave": wave}
    regions.origin_fake.jobs.append(job("drsjob-a1", {sid(0x501): launch_status}, status=status, tags=tags,
                                        created="2099-01-01T00:00:00.000Z"))
    entries = regions.runner.observe(regions.runner.plan([iid(101)], execution_id="exec-1", wave="1"), 60)
    assert entries[0]["failed_back"] is failed_back
    assert entries[0]["needs_start"] is not failed_back  # stopped, so started again unless failed back
    assert entries[0]["ready"] is failed_back and entries[0]["replication_state"] == "STOPPED"
    assert regions.origin_fake.count("describe_jobs") == 1
    assert regions.mutating_calls() == []


@pytest.mark.parametrize("state,lag,ready", [
    ("CONTINUOUS", "PT30S", True),
    ("CONTINUOUS", "PT59.9S", True),
    ("CONTINUOUS", "PT60S", False),
    ("CONTINUOUS", "PT2M", False),
    ("CONTINUOUS", None, False),
    ("INITIAL_SYNC", "PT1S", False),
    ("STALLED", "PT1S", False),
    ("BACKLOG", "PT1S", False),
])
def test_readiness_is_continuous_with_a_lag_under_the_threshold(state, lag, ready):
    regions = Regions(1, origin_servers=[existing_failback_server()])
    regions.set_replication(sid(0x501), state, lag)
    entries = regions.runner.observe(regions.runner.plan([iid(101)]), lag_threshold=60)
    assert entries[0]["ready"] is ready
    assert entries[0]["replication_state"] == state


def test_an_entry_without_a_reversed_server_is_not_ready():
    regions = Regions(1)
    entries = regions.runner.observe(regions.runner.plan([iid(101)]), lag_threshold=60)
    assert entries[0]["ready"] is False and entries[0]["replication_state"] is None
    assert regions.origin_fake.count("describe_source_servers") == 1  # only plan's read; observe had no ID


def test_wait_polls_until_every_server_is_ready_with_one_read_per_poll():
    regions = Regions(2, origin_servers=[existing_failback_server()])
    entries = regions.runner.plan([iid(101), iid(102)])
    regions.runner.start(entries)
    script = {1: ("INITIAL_SYNC", "PT10M"), 2: ("CONTINUOUS", "PT5M"), 3: ("CONTINUOUS", "PT12S")}
    polls = []

    def progress(snapshot):
        polls.append([(e["replication_state"], e["lag_seconds"], e["ready"]) for e in snapshot])

    def advance(fake):
        step = script.get(regions.origin_fake.count("describe_source_servers") - 1, ("CONTINUOUS", "PT12S"))
        regions.set_replication(sid(0x900), *step)  # s-501 is ready from the start; the new one catches up

    regions.origin_fake.on_describe_source_servers = advance
    reads_before = regions.origin_fake.count("describe_source_servers")
    clock = FakeClock()
    result, timed_out, count = regions.runner.wait(entries, lag_threshold=60, poll_interval=30, sleep=clock.sleep,
                                                   clock=clock, on_progress=progress)
    assert timed_out is False and count == 3 and clock.sleeps == [30, 30]
    assert polls[0] == [("CONTINUOUS", 5.0, True), ("INITIAL_SYNC", 600.0, False)]
    assert polls[1][1] == ("CONTINUOUS", 300.0, False)
    assert polls[2][1] == ("CONTINUOUS", 12.0, True)
    assert all(e["ready"] for e in result)
    assert regions.origin_fake.count("describe_source_servers") - reads_before == count


def test_wait_times_out_when_replication_never_catches_up():
    regions = Regions(1, origin_servers=[existing_failback_server()])
    regions.set_replication(sid(0x501), "BACKLOG", "PT20M")
    clock = FakeClock()
    entries, timed_out, polls = regions.runner.wait(regions.runner.plan([iid(101)]), timeout=100, poll_interval=30,
                                                    sleep=clock.sleep, clock=clock)
    assert timed_out is True and polls == 4 and clock.sleeps == [30, 30, 30]
    assert entries[0]["ready"] is False and entries[0]["lag_seconds"] == 1200.0


def test_helpers():
    assert server_id_from_arn(ORIGIN_ARN + sid(7)) == sid(7)
    assert server_id_from_arn(None) is None
    servers = [source_server(sid(1), iid(1), direction="FAILBACK"), source_server(sid(2), iid(2)),
               source_server(sid(3), None, direction="FAILBACK")]
    assert {k: v["sourceServerID"] for k, v in failback_servers_by_instance(servers).items()} == {iid(1): sid(1)}
