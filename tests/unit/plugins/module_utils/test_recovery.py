# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""RecoveryRunner: everything is read and checked before the first change; reruns adopt their jobs."""

import datetime

import botocore.exceptions
import pytest

from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ConfigurationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import DRSAPIError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ValidationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.models import iso
from ansible_collections.elasticdr.orchestration.plugins.module_utils.recovery import RecoveryRunner
from ansible_collections.elasticdr.orchestration.plugins.module_utils.recovery import execution_jobs
from ansible_collections.elasticdr.orchestration.plugins.module_utils.recovery import job_tags
from ansible_collections.elasticdr.orchestration.plugins.module_utils.recovery import plan_launches

from .fakes import drs_client
from .fakes import ec2_client
from .fakes import iid
from .fakes import instance
from .fakes import jid
from .fakes import job
from .fakes import sid
from .fakes import source_server

NOW = datetime.datetime(2026, 6, 20, 12, 0, tzinfo=datetime.timezone.utc)


def recent(minutes):
    """A creation time `minutes` ago (execution_jobs looks 14 days back from the real now)."""
    return iso(datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=minutes))


def tags(execution_id="ex-1", wave=1, mode="recovery"):
    return job_tags(execution_id, wave, mode)


class World:
    """n source servers, server k with launch-into target iid(100 + k) (stopped and tagged unless told)."""

    def __init__(self, n=3, targets=None, jobs=(), launch_into=True, stop_after=0, servers_per_job=100):
        self.ids = [sid(k) for k in range(1, n + 1)]
        self.target_of = {s: iid(100 + k) for k, s in enumerate(self.ids, start=1)}
        configs = {s: {"sourceServerID": s, "launchIntoInstanceProperties":
                       {"launchIntoEC2InstanceID": self.target_of[s]}} for s in self.ids} if launch_into else {}
        self.drs, self.drs_fake = drs_client(servers=[source_server(s, iid(k)) for k, s in enumerate(self.ids, 1)],
                                             jobs=list(jobs), launch_configs=configs, servers_per_job=servers_per_job)
        overrides = targets or {}
        self.ec2, self.ec2_fake = ec2_client(
            *[instance(instance_id=self.target_of[s], name=f"server-{k}", **overrides.get(s, {}))
              for k, s in enumerate(self.ids, 1) if overrides.get(s) != "absent"],
            stop_after=stop_after)
        self.runner = RecoveryRunner(self.drs, self.ec2)

    def servers(self, with_targets=False):
        return [{"source_server_id": s, "target_instance_id": self.target_of[s] if with_targets else None}
                for s in self.ids]

    def mutating_calls(self):
        return self.drs_fake.mutating_calls() + self.ec2_fake.mutating_calls()


# ------------------------------------------------------------------------------------------ helpers
def test_job_tags():
    assert job_tags("ex-1") == {"elasticdr:execution-id": "ex-1"}
    assert job_tags("ex-1", 0, "drill") == {"elasticdr:execution-id": "ex-1", "elasticdr:wave": "0",
                                            "elasticdr:mode": "drill"}


def test_execution_jobs_keeps_launch_jobs_of_this_execution_and_wave_oldest_first():
    jobs = [
        job(jid(1), [sid(1)], tags=tags(wave=1), created="2026-06-19T10:00:00.000Z"),
        job(jid(2), [sid(2)], tags=tags(wave=2), created="2026-06-19T09:00:00.000Z"),
        job(jid(3), [sid(3)], tags=tags(execution_id="other"), created="2026-06-19T08:00:00.000Z"),
        dict(job(jid(4), [sid(1)], tags=tags(wave=1), created="2026-06-19T11:00:00.000Z"), type="TERMINATE"),
        job(jid(5), [sid(1)], tags=tags(wave=1), created="2026-06-19T07:00:00.000Z"),
        job(jid(6), [sid(1)], created="2026-06-19T07:00:00.000Z"),
    ]
    drs, fake = drs_client(jobs=jobs)
    assert [j["jobID"] for j in execution_jobs(drs, "ex-1", wave=1, now=NOW)] == [jid(5), jid(1)]
    assert [j["jobID"] for j in execution_jobs(drs, "ex-1", now=NOW)] == [jid(5), jid(2), jid(1)]
    assert fake.calls[0][1]["filters"] == {"fromDate": "2026-06-06T12:00:00.000Z"}  # 14 days back


@pytest.mark.parametrize("job_status,launch_status,retry_failed,expected", [
    ("PENDING", "PENDING", True, "adopt"),
    ("STARTED", "IN_PROGRESS", True, "adopt"),
    ("STARTED", "FAILED", True, "adopt"),  # the job is still active: wait for it
    ("COMPLETED", "LAUNCHED", True, "adopt"),
    ("COMPLETED", "FAILED", True, "launch"),
    ("COMPLETED", "FAILED", False, "adopt"),
])
def test_plan_launches(job_status, launch_status, retry_failed, expected):
    existing = [job(jid(1), {sid(1): launch_status}, status=job_status)]
    plan = plan_launches([sid(1), sid(2)], existing, retry_failed=retry_failed)
    assert sid(2) in plan["launch"]  # no job yet
    if expected == "adopt":
        assert plan["adopt"] == {sid(1): jid(1)} and plan["launch"] == [sid(2)]
    else:
        assert plan["adopt"] == {} and plan["launch"] == [sid(1), sid(2)]


def test_plan_launches_follows_the_latest_job_of_each_server():
    existing = [job(jid(1), {sid(1): "LAUNCHED", sid(2): "FAILED"}, status="COMPLETED"),
                job(jid(2), {sid(2): "LAUNCHED"}, status="COMPLETED"),
                job(jid(3), {sid(1): "FAILED"}, status="COMPLETED")]
    plan = plan_launches([sid(1), sid(2)], existing)
    assert plan == {"adopt": {sid(2): jid(2)}, "launch": [sid(1)]}


# ------------------------------------------------------------------------------------------ prepare
def test_prepare_reads_targets_and_plans_without_changing_anything():
    world = World(3, targets={sid(1): {"state": "running"}})
    plan = world.runner.prepare(world.servers(), execution_id="ex-1", wave=1)
    assert plan["launch"] == world.ids and plan["adopt"] == {}
    assert plan["targets"] == world.target_of
    assert [i["InstanceId"] for i in plan["to_stop"]] == [world.target_of[sid(1)]]
    assert plan["replication"][sid(2)] == ("CONTINUOUS", 5.0)
    assert set(plan["servers"]) == set(world.ids)
    assert world.mutating_calls() == []
    assert world.ec2_fake.count("describe_instances") == 1  # one batched read of every target


def test_prepare_uses_given_targets_without_reading_launch_configurations():
    world = World(2)
    world.runner.prepare(world.servers(with_targets=True))
    assert world.drs_fake.count("get_launch_configuration") == 0


def test_servers_without_launch_into_have_no_target_to_check():
    world = World(2, launch_into=False)
    plan = world.runner.prepare(world.servers(), stop_targets=False)
    assert plan["targets"] == {} and plan["to_stop"] == [] and plan["launch"] == world.ids
    assert world.ec2_fake.count() == 0


def _refused(world, error_class, servers=None, **kwargs):
    with pytest.raises(error_class) as info:
        world.runner.prepare(world.servers() if servers is None else servers, **kwargs)
    assert world.mutating_calls() == []
    assert world.drs_fake.count("start_recovery") == 0 and world.ec2_fake.count("stop_instances") == 0
    return info.value


def test_prepare_refuses_unknown_servers():
    world = World(2)
    unknown = sid(0xABC)
    error = _refused(world, ConfigurationError, servers=world.servers() + [{"source_server_id": unknown}])
    assert error.server == unknown and unknown in error.message
    assert "drs_source_server_info" in error.remediation


def test_prepare_refuses_duplicate_ids_before_any_call():
    world = World(2)
    error = _refused(world, ConfigurationError, servers=world.servers() + world.servers()[:1])
    assert error.server == sid(1) and "more than once" in error.message
    assert world.drs_fake.count() == 0 and world.ec2_fake.count() == 0


@pytest.mark.parametrize("target,words", [
    ({"tagged": False}, "is not tagged AWSDRS=AllowLaunchingIntoThisInstance"),
    ("absent", "does not exist"),
    ({"state": "terminated"}, "is terminated"),
    ({"state": "shutting-down"}, "is shutting-down"),
])
@pytest.mark.parametrize("with_targets", [True, False])
def test_prepare_refuses_targets_that_cannot_be_launched_into(target, words, with_targets):
    world = World(3, targets={sid(2): target})
    error = _refused(world, ValidationError, servers=world.servers(with_targets=with_targets))
    assert error.server == sid(2)
    assert words in error.message and world.target_of[sid(2)] in error.message
    assert [p["source_server_id"] for p in error.details["problems"]] == [sid(2)]
    assert words in error.details["problems"][0]["problem"]


@pytest.mark.parametrize("with_targets", [True, False])
@pytest.mark.parametrize("state", ["running", "pending", "stopping"])
def test_a_running_target_is_refused_when_stop_targets_is_false(state, with_targets):
    world = World(2, targets={sid(1): {"state": state}})
    error = _refused(world, ValidationError, servers=world.servers(with_targets=with_targets), stop_targets=False)
    assert error.server == sid(1) and "stop_targets=true" in error.message


def test_every_problem_is_reported_at_once():
    world = World(3, targets={sid(1): {"tagged": False}, sid(3): "absent"})
    error = _refused(world, ValidationError)
    assert error.server == f"{sid(1)}, {sid(3)}"
    assert [p["source_server_id"] for p in error.details["problems"]] == [sid(1), sid(3)]


def test_a_drs_failure_while_reading_stops_before_any_change():
    world = World(2)
    world.drs_fake.fail["get_launch_configuration"] = botocore.exceptions.EndpointConnectionError(
        endpoint_url="https://drs.us-east-1.amazonaws.com")
    _refused(world, DRSAPIError)


def test_a_rerun_adopts_its_jobs_and_does_not_stop_their_targets():
    world = World(3, targets={sid(1): {"state": "running"}, sid(2): {"state": "running"}})
    world.drs_fake.jobs = [
        job(jid(1), {sid(1): "LAUNCHED", sid(3): "FAILED"}, status="COMPLETED", tags=tags(), created=recent(30)),
        job(jid(2), {sid(2): "IN_PROGRESS"}, status="STARTED", tags=tags(), created=recent(20)),
    ]
    plan = world.runner.prepare(world.servers(), execution_id="ex-1", wave=1)
    assert plan["adopt"] == {sid(1): jid(1), sid(2): jid(2)} and plan["launch"] == [sid(3)]
    assert plan["to_stop"] == []  # the running targets are the recovered servers now


def test_a_rerun_with_stop_targets_false_is_not_blocked_by_adopted_running_servers():
    # After a launch into s-1's target, that target is the running recovered server; resuming the
    # execution with stop_targets=false must adopt it, not refuse it as a running target.
    world = World(2, targets={sid(1): {"state": "running"}})
    world.drs_fake.jobs = [job(jid(1), {sid(1): "LAUNCHED", sid(2): "FAILED"}, status="COMPLETED", tags=tags(),
                               created=recent(30))]
    plan = world.runner.prepare(world.servers(), execution_id="ex-1", wave=1, stop_targets=False)
    assert plan["adopt"] == {sid(1): jid(1)} and plan["launch"] == [sid(2)]
    # A running target of a server that is launched again is still refused.
    world.ec2_fake.instances[world.target_of[sid(2)]]["State"] = {"Name": "running"}
    error = _refused(world, ValidationError, execution_id="ex-1", wave=1, stop_targets=False)
    assert error.server == sid(2)


# ------------------------------------------------------------------------------------------ stop and start
def test_stop_targets_stops_tagged_running_targets_and_waits_until_stopped():
    world = World(2, targets={sid(1): {"state": "running"}}, stop_after=2)
    plan = world.runner.prepare(world.servers())
    sleeps = []
    stopped = world.runner.stop_targets(plan["to_stop"], poll=5, sleep=sleeps.append)
    assert stopped == [world.target_of[sid(1)]]
    assert world.ec2_fake.instances[world.target_of[sid(1)]]["State"]["Name"] == "stopped"
    assert sleeps == [5, 5]
    assert [p["InstanceIds"] for op, p in world.ec2_fake.calls if op == "stop_instances"] == [[world.target_of[sid(1)]]]


def test_a_target_already_stopping_is_waited_for_before_the_launch():
    world = World(2)
    world.ec2_fake.set_stopping(world.target_of[sid(1)], polls=2)
    plan = world.runner.prepare(world.servers())
    sleeps = []
    world.runner.stop_targets(plan["to_stop"], poll=5, sleep=sleeps.append)
    # DRS needs the target stopped, not stopping: by the time start() may run, it is.
    assert world.ec2_fake.instances[world.target_of[sid(1)]]["State"]["Name"] == "stopped"
    assert world.ec2_fake.count("stop_instances") == 0


def test_stop_targets_refuses_untagged_instances():
    world = World(1)
    untagged = instance(instance_id=iid(0xF00), state="running", tagged=False)
    with pytest.raises(ValidationError):
        world.runner.stop_targets([untagged])
    assert world.ec2_fake.count("stop_instances") == 0


def test_stop_targets_that_do_not_stop_in_time_raise():
    world = World(1, targets={sid(1): {"state": "running"}}, stop_after=1000)
    plan = world.runner.prepare(world.servers())
    with pytest.raises(ValidationError) as info:
        world.runner.stop_targets(plan["to_stop"], timeout=0, sleep=lambda s: None)
    assert info.value.server == world.target_of[sid(1)] and "stopping" in info.value.message
    assert "force-stop" in info.value.remediation


def test_start_tags_jobs_and_batches_by_servers_per_job():
    world = World(5, servers_per_job=2)
    jobs = world.runner.start(world.ids, is_drill=True, execution_id="ex-1", wave=3)
    assert [len(j["participatingServers"]) for j in jobs] == [2, 2, 1]
    calls = [p for op, p in world.drs_fake.calls if op == "start_recovery"]
    assert all(p["isDrill"] is True and p["tags"] == tags(wave=3, mode="drill") for p in calls)
    world.runner.start(world.ids[:1], is_drill=False)
    assert world.drs_fake.calls[-1][1]["tags"] == {} and world.drs_fake.calls[-1][1]["isDrill"] is False


def test_prepare_start_and_rerun():
    world = World(3)
    plan = world.runner.prepare(world.servers(), execution_id="ex-9", wave=1)
    world.runner.start(plan["launch"], is_drill=False, execution_id="ex-9", wave=1)
    again = world.runner.prepare(world.servers(), execution_id="ex-9", wave=1)
    assert again["launch"] == [] and set(again["adopt"]) == set(world.ids)
    # The job ends with s-2 FAILED: a rerun launches s-2 only (retry_failed), or nothing.
    started = world.drs_fake.jobs[-1]
    started["status"] = "COMPLETED"
    for item in started["participatingServers"]:
        item["launchStatus"] = "FAILED" if item["sourceServerID"] == sid(2) else "LAUNCHED"
    assert world.runner.prepare(world.servers(), execution_id="ex-9", wave=1)["launch"] == [sid(2)]
    assert world.runner.prepare(world.servers(), execution_id="ex-9", wave=1, retry_failed=False)["launch"] == []
    assert world.runner.prepare(world.servers(), execution_id="ex-9", wave=2)["launch"] == world.ids
