# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Progress while a wave runs: the drs_recovery module waits inside one process, which shows nothing
until it ends. With an execution_id, this action runs the module in slices: each call waits, polling at
poll_interval in that one process, for at most return_after seconds (by default PROGRESS_SECONDS, or
poll_interval if longer) and returns; the action shows a progress line (launched / in progress / failed,
progress and ETA) and calls again, adopting the jobs the first call started, until they end. The call that
sees them end returns the result. Without an execution_id (nothing to adopt by) or in check mode it runs
the module as it is."""

import time

from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.elasticdr.orchestration.plugins.module_utils.wave_engine import progress_line

display = Display()

MODULE = "elasticdr.orchestration.drs_recovery"
# How long one call of the module waits before the action shows progress and calls again. Each call costs a
# module run (a Python process and its AWS clients), so a slice is long beside a poll, short beside a wave.
PROGRESS_SECONDS = 30.0


class ActionModule(ActionBase):
    _VALID_ARGS = frozenset()  # the module validates its own arguments

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        if self._task.check_mode or not boolean(args.get("wait", True), strict=False) or not args.get("execution_id"):
            result.update(self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars))
            return result

        poll = float(args.get("poll_interval", 30))
        slice_seconds = float(args.get("return_after") or 0) or max(PROGRESS_SECONDS, poll)
        begin = time.monotonic()
        label = f"wave {args['wave']}" if args.get("wave") else "recovery"
        first = final = None
        call = dict(args, return_after=slice_seconds)
        last = None
        polls = 0
        while True:
            final = self._execute_module(module_name=MODULE, module_args=call, task_vars=task_vars)
            first = first or final
            polls += final.get("polls") or 0
            if final.get("counts"):
                line = progress_line(final["counts"], time.monotonic() - begin)
                if line != last:
                    display.display(f"drs_recovery {label}: {line}")
                    last = line
            if final.get("failed") or not final.get("waiting"):
                break
            # Adopt only: the jobs exist now, and a failed server must not be launched a second time here.
            call = dict(args, retry_failed=False, return_after=slice_seconds,
                        waited_seconds=round(time.monotonic() - begin, 1))
        if final is not first:
            # The later calls adopted what the first one started: report the run as the first call saw it.
            final["started_jobs"] = first.get("started_jobs") or []
            final["adopted_jobs"] = first.get("adopted_jobs") or []
            final["stopped_targets"] = first.get("stopped_targets") or []
            final["changed"] = bool(first.get("changed") or final.get("changed"))
            adopted = {s["source_server_id"]: s.get("adopted") for s in first.get("servers") or []}
            for server in final.get("servers") or []:
                server["adopted"] = adopted.get(server["source_server_id"], server.get("adopted"))
        final["polls"] = polls
        result.update(final)
        return result
