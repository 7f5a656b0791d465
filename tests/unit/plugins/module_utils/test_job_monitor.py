# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""JobMonitor: one batched DescribeJobs per poll, progress and ETA, timeout, failure reasons from the log."""

import pytest

from ansible_collections.elasticdr.orchestration.plugins.module_utils.drs import DRSClient
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import RecoveryError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.job_monitor import JobMonitor
from ansible_collections.elasticdr.orchestration.plugins.module_utils.job_monitor import counts
from ansible_collections.elasticdr.orchestration.plugins.module_utils.job_monitor import failure_reasons
from ansible_collections.elasticdr.orchestration.plugins.module_utils.job_monitor import launch_remediation
from ansible_collections.elasticdr.orchestration.plugins.module_utils.job_monitor import summarise

from .fakes import FakeClock
from .fakes import FakeDRSBoto
from .fakes import jid
from .fakes import job
from .fakes import sid


class ScriptedDRS(FakeDRSBoto):
    """Jobs that move on at every DescribeJobs: script(poll_number, jobs) changes them before the answer."""

    def __init__(self, jobs, script, **kwargs):
        super().__init__(jobs=jobs, **kwargs)
        self.script = script
        self.polls = 0

    def describe_jobs(self, **params):
        if not params.get("nextToken"):
            self.polls += 1
            self.script(self.polls, self.jobs)
        return super().describe_jobs(**params)


def launch_in_order(per_poll, complete_when_done=True, fail=()):
    """A script launching `per_poll` more servers at each poll from the second on (FAILED for those in fail)."""

    def script(poll, jobs):
        done = max(0, (poll - 1) * per_poll)
        n = 0
        for item_job in jobs:
            for item in item_job["participatingServers"]:
                if n < done:
                    item["launchStatus"] = "FAILED" if item["sourceServerID"] in fail else "LAUNCHED"
                elif item["launchStatus"] == "PENDING" and poll > 1:
                    item["launchStatus"] = "IN_PROGRESS"
                n += 1
            finished = all(i["launchStatus"] in ("LAUNCHED", "FAILED") for i in item_job["participatingServers"])
            item_job["status"] = "COMPLETED" if finished and complete_when_done else "STARTED"

    return script


def monitor(fake, clock, **kwargs):
    snapshots = []
    kwargs.setdefault("poll_interval", 30)
    kwargs.setdefault("timeout", 3600)
    return JobMonitor(DRSClient(fake), sleep=clock.sleep, clock=clock, on_progress=snapshots.append, **kwargs), snapshots


def test_progress_and_eta_until_completed():
    ids = [sid(n) for n in range(4)]
    fake = ScriptedDRS([job(jid(1), ids)], launch_in_order(per_poll=1))
    clock = FakeClock()
    watcher, snapshots = monitor(fake, clock)
    result = watcher.wait([jid(1)])
    assert [(s["poll"], s["elapsed"], s["progress"], s["eta_seconds"]) for s in result["history"]] == [
        (1, 0.0, 0.0, None), (2, 30.0, 25.0, 90.0), (3, 60.0, 50.0, 60.0), (4, 90.0, 75.0, 30.0),
        (5, 120.0, 100.0, None)]
    assert snapshots == result["history"]
    assert result["history"][2]["counts"] == {"launched": 2, "failed": 0, "in_progress": 2, "pending": 0,
                                              "terminated": 0}
    assert clock.sleeps == [30] * 4
    assert result["timed_out"] is False and result["in_flight"] == [] and result["polls"] == 5
    assert result["counts"]["launched"] == 4
    assert {s["launch_status"] for s in result["servers"].values()} == {"LAUNCHED"}


def test_waits_for_completed_not_only_for_launched():
    ids = [sid(1)]

    def script(poll, jobs):
        jobs[0]["participatingServers"][0]["launchStatus"] = "LAUNCHED"
        jobs[0]["status"] = "COMPLETED" if poll >= 3 else "STARTED"

    fake = ScriptedDRS([job(jid(1), ids)], script)
    result = monitor(fake, FakeClock())[0].wait([jid(1)])
    assert result["polls"] == 3 and not result["timed_out"]


def test_timeout_returns_what_is_still_in_flight():
    ids = [sid(n) for n in range(3)]
    fake = ScriptedDRS([job(jid(1), ids[:2]), job(jid(2), ids[2:])], launch_in_order(per_poll=1))
    clock = FakeClock()
    result = monitor(fake, clock, timeout=80)[0].wait([jid(1), jid(2)])
    # polls at 0, 30 and 60 s; the next one would come after the 80 s timeout
    assert result["timed_out"] is True
    assert result["polls"] == 3 and clock.sleeps == [30, 30]
    assert [(j["jobID"], j["status"]) for j in result["jobs"]] == [(jid(1), "COMPLETED"), (jid(2), "STARTED")]
    assert result["in_flight"] == [ids[2]]


def test_timeout_with_servers_still_launching():
    ids = [sid(n) for n in range(5)]
    fake = ScriptedDRS([job(jid(1), ids)], launch_in_order(per_poll=1))
    clock = FakeClock()
    result = monitor(fake, clock, timeout=75)[0].wait([jid(1)])
    assert result["timed_out"] is True and result["polls"] == 3
    assert result["counts"] == {"launched": 2, "failed": 0, "in_progress": 3, "pending": 0, "terminated": 0}
    # The job is not COMPLETED, so even its LAUNCHED servers are still in flight (there is no LAUNCH_END).
    assert result["in_flight"] == sorted(ids)
    assert [result["servers"][i]["launch_status"] for i in ids[:2]] == ["LAUNCHED", "LAUNCHED"]


def test_a_job_id_drs_does_not_know_is_waited_for_until_the_timeout():
    fake = ScriptedDRS([job(jid(1), [sid(1)], status="COMPLETED", launch_status="LAUNCHED")], lambda p, j: None)
    result = monitor(fake, FakeClock(), timeout=60)[0].wait([jid(1), jid(2)])
    assert result["timed_out"] is True and result["polls"] == 3  # at 0, 30 and 60 s


def test_a_failed_server_gets_the_job_log_reason_and_a_remediation():
    ids = [sid(1), sid(2)]
    log = [
        {"event": "JOB_START", "logDateTime": "2026-06-15T15:00:00.000Z"},
        {"event": "CONVERSION_FAIL", "logDateTime": "2026-06-15T15:01:00.000Z",
         "eventData": {"sourceServerID": sid(2), "rawError": "first attempt"}},
        {"event": "LAUNCH_FAILED", "logDateTime": "2026-06-15T15:02:00.000Z",
         "eventData": {"sourceServerID": sid(2), "rawError": "Target instance i-0abc is running"}},
        {"event": "JOB_END", "logDateTime": "2026-06-15T15:03:00.000Z"},
    ]
    fake = ScriptedDRS([job(jid(1), ids)], launch_in_order(per_poll=2, fail={sid(2)}), job_logs={jid(1): log})
    result = monitor(fake, FakeClock())[0].wait([jid(1)])
    failed = result["servers"][sid(2)]
    assert failed["launch_status"] == "FAILED"
    error = failed["error"]
    assert error["error"] == "RecoveryError" and error["server"] == sid(2)
    assert error["cause"] == "LAUNCH_FAILED"
    assert error["details"] == {"job_id": jid(1), "event": "LAUNCH_FAILED",
                                "raw_error": "Target instance i-0abc is running"}
    assert "Target instance i-0abc is running" in error["message"]
    assert error["remediation"] == RecoveryError.remediation
    assert "error" not in result["servers"][sid(1)]
    assert result["counts"]["failed"] == 1 and result["in_flight"] == []
    assert fake.count("describe_job_log_items") == 1


def test_a_failure_without_a_log_entry_says_so():
    fake = ScriptedDRS([job(jid(1), [sid(1)])], launch_in_order(per_poll=1, fail={sid(1)}))
    result = monitor(fake, FakeClock())[0].wait([jid(1)])
    error = result["servers"][sid(1)]["error"]
    assert "no reason in the job log" in error["message"] and error["details"]["raw_error"] is None


def test_no_job_log_is_read_when_nothing_failed():
    fake = ScriptedDRS([job(jid(1), [sid(1)])], launch_in_order(per_poll=1))
    monitor(fake, FakeClock())[0].wait([jid(1)])
    assert fake.count("describe_job_log_items") == 0


@pytest.mark.parametrize("servers", [4, 600])
def test_exactly_one_describe_jobs_per_poll_whatever_the_number_of_servers(servers):
    ids = [sid(n) for n in range(servers)]
    jobs = [job(jid(n), ids[start:start + 100]) for n, start in enumerate(range(0, servers, 100))]
    fake = ScriptedDRS(jobs, launch_in_order(per_poll=servers // 4))
    result = monitor(fake, FakeClock())[0].wait([j["jobID"] for j in jobs])
    assert result["polls"] == 5
    assert fake.count("describe_jobs") == result["polls"]
    assert fake.count() == result["polls"]  # and nothing else


def test_no_jobs_means_nothing_to_wait_for():
    fake = ScriptedDRS([], lambda p, j: None)
    result = monitor(fake, FakeClock())[0].wait([])
    assert result["timed_out"] is False and result["polls"] == 1 and fake.count() == 0
    assert result["history"][0]["progress"] == 100.0


def test_summarise_keeps_the_newest_job_of_a_server_whatever_the_order_drs_returns():
    # A rerun relaunched s-1 in job 2 after it failed in job 1; job 1 is adopted for s-2.
    old = job(jid(1), {sid(1): "FAILED", sid(2): "LAUNCHED"}, status="COMPLETED", created="2026-06-15T15:00:00.000Z")
    new = job(jid(2), {sid(1): "LAUNCHED"}, status="COMPLETED", created="2026-06-15T16:00:00.000Z")
    for order in ([old, new], [new, old]):
        servers = summarise(order)
        assert servers[sid(1)]["job_id"] == jid(2) and servers[sid(1)]["launch_status"] == "LAUNCHED"
        assert servers[sid(2)]["job_id"] == jid(1)


def test_a_relaunched_server_is_not_reported_failed_from_its_old_job():
    old = job(jid(9), {sid(1): "FAILED", sid(2): "LAUNCHED"}, status="COMPLETED", created="2026-06-15T15:00:00.000Z")
    new = job(jid(1), {sid(1): "LAUNCHED"}, status="COMPLETED", created="2026-06-15T16:00:00.000Z")
    # DRSClient asks for the IDs sorted; the fake answers in its own (creation) order: new first here.
    fake = ScriptedDRS([new, old], lambda p, j: None)
    result = monitor(fake, FakeClock())[0].wait([jid(1), jid(9)])
    assert result["servers"][sid(1)]["launch_status"] == "LAUNCHED"
    assert result["counts"] == {"launched": 2, "failed": 0, "in_progress": 0, "pending": 0, "terminated": 0}
    assert fake.count("describe_job_log_items") == 0


def test_counts_and_failure_reasons():
    servers = {str(n): {"launch_status": status} for n, status in
               enumerate(["LAUNCHED", "FAILED", "IN_PROGRESS", "PENDING", "TERMINATED", "SOMETHING_NEW"])}
    assert counts(servers) == {"launched": 1, "failed": 1, "in_progress": 1, "pending": 2, "terminated": 1}
    log = [{"event": "SNAPSHOT_FAIL", "eventData": {"sourceServerID": sid(1), "rawError": "a"}},
           {"event": "SERVER_SKIPPED", "eventData": {"sourceServerID": sid(2)}},
           {"event": "LAUNCH_START", "eventData": {"sourceServerID": sid(3)}},
           {"event": "LAUNCH_FAILED", "eventData": {}}]
    reasons = failure_reasons(log)
    assert set(reasons) == {sid(1), sid(2)}
    assert reasons[sid(1)] == {"event": "SNAPSHOT_FAIL", "raw_error": "a", "time": None}


def test_a_launch_drs_was_denied_names_the_permission_the_identity_and_the_fix():
    raw = ("Launch into instance i-0abc failed: User: arn:aws:sts::123456789012:assumed-role/DRSOrchestration/run "
           "is not authorized to perform: ec2:AttachVolume on resource: "
           "arn:aws:ec2:us-west-2:123456789012:instance/i-0abc because no identity-based policy allows the "
           "ec2:AttachVolume action (called via drs.amazonaws.com)")
    fix = launch_remediation(raw)
    assert fix.startswith("Grant ec2:AttachVolume on arn:aws:ec2:us-west-2:123456789012:instance/i-0abc to "
                          "arn:aws:sts::123456789012:assumed-role/DRSOrchestration/run")
    assert "aws:CalledVia" in fix and "preflight.yml" in fix
    assert launch_remediation("Failed to launch the recovery instance (injected fault)") is None
    assert launch_remediation(None) is None
