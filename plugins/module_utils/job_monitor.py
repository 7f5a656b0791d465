# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Watching DRS jobs until they end: one batched DescribeJobs per poll, whatever the number of servers.

A job is only PENDING -> STARTED -> COMPLETED; there is no failed job status. The result of each server is
its participatingServers[].launchStatus, and the reason for a failure is the job log's *_FAIL /
LAUNCH_FAILED rawError. There is no LAUNCH_END event: wait for COMPLETED, not only for LAUNCHED
(docs/DRS_BEHAVIOUR.md section 5).
"""

import re
import time

from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import RecoveryError

FINAL_LAUNCH_STATES = ("LAUNCHED", "FAILED", "TERMINATED")
FAILURE_EVENTS = ("SNAPSHOT_FAIL", "CONVERSION_FAIL", "LAUNCH_FAILED", "CLEANUP_FAIL", "USING_PREVIOUS_SNAPSHOT_FAILED",
                  "SERVER_SKIPPED")


def summarise(jobs):
    """Per-server status across jobs: {source_server_id: {launch_status, recovery_instance_id, job_id}}."""
    servers = {}
    # A server relaunched on a rerun is in an old job too: its newest job wins, whatever order DRS returns
    # the jobs in (DescribeJobs promises none).
    for job in sorted(jobs, key=lambda j: j.get("creationDateTime") or ""):
        for item in job.get("participatingServers") or []:
            servers[item["sourceServerID"]] = {
                "source_server_id": item["sourceServerID"],
                "launch_status": item.get("launchStatus", "PENDING"),
                "recovery_instance_id": item.get("recoveryInstanceID"),
                "job_id": job["jobID"],
                "job_status": job.get("status"),
            }
    return servers


def counts(servers):
    out = {"launched": 0, "failed": 0, "in_progress": 0, "pending": 0, "terminated": 0}
    for item in servers.values():
        status = item["launch_status"]
        key = {"LAUNCHED": "launched", "FAILED": "failed", "IN_PROGRESS": "in_progress",
               "TERMINATED": "terminated"}.get(status, "pending")
        out[key] += 1
    return out


def failure_reasons(log_items):
    """{source_server_id: {event, raw_error, time}} from a job log: the last failure event per server."""
    reasons = {}
    for item in log_items:
        if item.get("event") in FAILURE_EVENTS:
            data = item.get("eventData") or {}
            server = data.get("sourceServerID")
            if server:
                reasons[server] = {"event": item["event"], "raw_error": data.get("rawError"),
                                   "time": item.get("logDateTime")}
    return reasons


_NOT_AUTHORIZED = re.compile(r"User: (?P<principal>\S+) is not authorized to perform: (?P<action>[\w-]+:\w+)"
                             r"(?: on resource: (?P<resource>\S+))?")


def launch_remediation(raw_error):
    """The fix for a launch DRS refused for lack of a permission, or None for any other failure.

    DRS acts with the credentials of the identity that started the job: a launch into an existing instance detaches
    and attaches its volumes and starts it as that identity, under aws:CalledVia drs.amazonaws.com
    (docs/DRS_BEHAVIOUR.md section 9b). The job log names the action it was denied.
    """
    match = _NOT_AUTHORIZED.search(raw_error or "")
    if not match:
        return None
    on = f" on {match.group('resource')}" if match.group("resource") else ""
    return (f"Grant {match.group('action')}{on} to {match.group('principal')} (the identity that started the "
            "recovery: DRS performs this action with its credentials, under the condition aws:CalledVia = "
            "drs.amazonaws.com). The policies in extensions/iam/ include it (docs/SECURITY.md); preflight.yml checks "
            "every permission of the run before it starts. Then run the play again with the same execution id.")


class JobMonitor:
    """Poll jobs until all are COMPLETED or the timeout passes.

    on_progress(snapshot) is called after each poll with {poll, elapsed, counts, progress, eta_seconds}.
    """

    def __init__(self, drs, poll_interval=30.0, timeout=3600.0, sleep=time.sleep, clock=time.monotonic,
                 on_progress=None):
        self.drs = drs
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.sleep = sleep
        self.clock = clock
        self.on_progress = on_progress

    def wait(self, job_ids):
        started = self.clock()
        polls = 0
        history = []
        jobs = []
        while True:
            jobs = self.drs.describe_jobs(job_ids) if job_ids else []
            polls += 1
            servers = summarise(jobs)
            tally = counts(servers)
            total = len(servers)
            done = tally["launched"] + tally["failed"] + tally["terminated"]
            elapsed = self.clock() - started
            progress = round(100.0 * done / total, 1) if total else 100.0
            eta = None
            if 0 < done < total and elapsed > 0:
                eta = round(elapsed / done * (total - done), 1)
            snapshot = {"poll": polls, "elapsed": round(elapsed, 1), "counts": tally, "progress": progress,
                        "eta_seconds": eta}
            history.append(snapshot)
            if self.on_progress:
                self.on_progress(snapshot)
            all_done = all(j.get("status") == "COMPLETED" for j in jobs) and len(jobs) == len(set(job_ids))
            if all_done:
                return self._result(jobs, servers, polls, history, timed_out=False)
            if elapsed + self.poll_interval > self.timeout:
                return self._result(jobs, servers, polls, history, timed_out=True)
            self.sleep(self.poll_interval)

    def _result(self, jobs, servers, polls, history, timed_out):
        failed_jobs = {s["job_id"] for s in servers.values() if s["launch_status"] == "FAILED"}
        reasons = {}
        for job_id in sorted(failed_jobs):
            reasons.update(failure_reasons(self.drs.describe_job_log_items(job_id)))
        for server_id, item in servers.items():
            if item["launch_status"] == "FAILED":
                reason = reasons.get(server_id, {})
                error = RecoveryError(
                    f"DRS could not launch source server {server_id} in job {item['job_id']}: "
                    f"{reason.get('raw_error') or 'no reason in the job log'}",
                    server=server_id, cause=reason.get("event"), remediation=launch_remediation(reason.get("raw_error")),
                    details={"job_id": item["job_id"], "event": reason.get("event"),
                             "raw_error": reason.get("raw_error")})
                item["error"] = error.to_dict()
        # A server is finished only when its job is COMPLETED too (there is no LAUNCH_END event): a job stuck
        # in STARTED keeps its servers in flight even after they reached LAUNCHED.
        in_flight = sorted(s for s, item in servers.items()
                           if item["launch_status"] not in FINAL_LAUNCH_STATES or item.get("job_status") != "COMPLETED")
        return {
            "jobs": jobs, "servers": servers, "polls": polls, "history": history, "timed_out": timed_out,
            "in_flight": in_flight, "counts": counts(servers),
        }
