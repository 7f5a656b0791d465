# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Progress while a wave runs: the drs_recovery module waits inside one process, which shows nothing
until it ends. With an execution_id, this action starts the jobs (module, wait=false), shows one line per
poll (launched / in progress / failed, progress and ETA) from drs_job_info, and then lets the module adopt
the finished jobs to build its usual result. Without an execution_id (nothing to adopt by) or in check mode
it runs the module as it is."""

import time

from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

display = Display()

MODULE = "elasticdr.orchestration.drs_recovery"
JOB_INFO = "elasticdr.orchestration.drs_job_info"
# Options drs_job_info shares with drs_recovery: how to reach DRS in the recovery account and region.
CONNECTION_OPTIONS = (
    "region", "aws_region", "endpoint_url", "aws_endpoint_url", "access_key", "aws_access_key", "aws_access_key_id",
    "secret_key", "aws_secret_key", "aws_secret_access_key", "session_token", "aws_session_token", "profile",
    "aws_profile", "aws_ca_bundle", "validate_certs", "aws_config", "target_role_arn", "external_id",
    "require_external_id",
)


class ActionModule(ActionBase):
    _VALID_ARGS = frozenset()  # the module validates its own arguments

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        if self._task.check_mode or not boolean(args.get("wait", True), strict=False) or not args.get("execution_id"):
            result.update(self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars))
            return result

        started = self._execute_module(module_name=MODULE, module_args=dict(args, wait=False), task_vars=task_vars)
        if started.get("failed"):
            result.update(started)
            return result
        job_ids = list(started.get("started_jobs") or []) + list(started.get("adopted_jobs") or [])
        poll = float(args.get("poll_interval", 30))
        timeout = float(args.get("wait_timeout", 3600))
        begin = time.monotonic()
        label = f"wave {args['wave']}" if args.get("wave") else "recovery"
        connection = {k: v for k, v in args.items() if k in CONNECTION_OPTIONS}
        last = None
        polls = 0
        while job_ids:
            info = self._execute_module(module_name=JOB_INFO, module_args=dict(connection, job_ids=job_ids),
                                        task_vars=task_vars)
            if info.get("failed"):
                break  # the module's own wait below reports the error properly
            polls += 1
            line, done = _progress(info.get("jobs") or [], time.monotonic() - begin)
            if line != last:
                display.display(f"drs_recovery {label}: {line}")
                last = line
            if done or time.monotonic() - begin + poll > timeout:
                break
            time.sleep(poll)
        # Adopt only: the jobs exist now, and a failed server must not be launched a second time here.
        final = self._execute_module(module_name=MODULE, task_vars=task_vars, module_args=dict(
            args, wait=True, retry_failed=False, waited_seconds=round(time.monotonic() - begin, 1)))
        # The final call adopted what the first one started: report the run as the first call saw it.
        final["started_jobs"] = started.get("started_jobs") or []
        final["adopted_jobs"] = started.get("adopted_jobs") or []
        final["stopped_targets"] = started.get("stopped_targets") or []
        final["changed"] = bool(started.get("changed") or final.get("changed"))
        final["polls"] = polls + (final.get("polls") or 0)
        adopted = {s["source_server_id"]: s.get("adopted") for s in started.get("servers") or []}
        for server in final.get("servers") or []:
            server["adopted"] = adopted.get(server["source_server_id"], server.get("adopted"))
        result.update(final)
        return result


def _progress(jobs, elapsed):
    """('3/4 launched, 1 in progress, 0 failed (75%), ETA 40 s', all jobs completed)."""
    totals = {"launched": 0, "failed": 0, "in_progress": 0, "pending": 0, "terminated": 0}
    for job in jobs:
        for key, value in (job.get("counts") or {}).items():
            totals[key] = totals.get(key, 0) + value
    servers = sum(totals.values())
    finished = totals["launched"] + totals["failed"] + totals["terminated"]
    percent = round(100.0 * finished / servers) if servers else 100
    line = (f"{totals['launched']}/{servers} launched, {totals['in_progress'] + totals['pending']} in progress, "
            f"{totals['failed']} failed ({percent}%)")
    if 0 < finished < servers:
        line += f", ETA {round(elapsed / finished * (servers - finished))} s"
    return line, bool(jobs) and all(job.get("status") == "COMPLETED" for job in jobs)
