# -*- coding: utf-8 -*-
# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only callback: append every task result of a playbook run to the JSON-lines file named by
DRS_IT_RESULTS, so the integration tests read each registered result without extra tasks."""

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: drs_it_record
type: aggregate
short_description: Record task results as JSON lines for the integration tests
description:
  - Appends one JSON object per task result to the file named by the DRS_IT_RESULTS environment variable.
requirements:
  - enable in configuration
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "drs_it_record"
    CALLBACK_NEEDS_ENABLED = True

    def _record(self, result, status, ignore_errors=False):
        path = os.environ.get("DRS_IT_RESULTS")
        if not path:
            return
        warnings = []
        for warning in getattr(result, "warnings", None) or []:
            event = getattr(warning, "event", None)
            warnings.append(getattr(event, "msg", None) or str(warning))
        task = getattr(result, "task", None) or result._task  # pylint: disable=protected-access
        record = {
            "name": task.get_name(),
            "action": task.action,
            "status": status,
            "ignore_errors": bool(ignore_errors),
            "result": dict(getattr(result, "result", None) or result._result),  # pylint: disable=protected-access
            "warnings": warnings,
        }
        with open(path, "a", encoding="utf-8") as stream:
            stream.write(json.dumps(record, default=str) + "\n")

    def v2_runner_on_ok(self, result):
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed", ignore_errors)

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "unreachable")
