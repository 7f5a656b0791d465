#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: drs_job_info
short_description: Show DRS jobs with per-server launch status and job-log failures
version_added: 0.1.0
description:
  - Lists DRS jobs by ID, by the execution that started them (the C(elasticdr:execution-id) job tag), or
    since a date, each with its servers' launch status and, for failed servers, the reason from the job log.
author:
  - elasticdr maintainers (@elasticdr)
options:
  job_ids:
    description: Only these jobs.
    type: list
    elements: str
  execution_id:
    description: Only jobs tagged with this execution id (and O(wave), if given).
    type: str
  wave:
    description: With O(execution_id), only the jobs of this wave.
    type: str
  from_date:
    description: Only jobs created at or after this ISO-8601 time (for example C(2026-11-26T00:00:00Z)).
    type: str
  include_log:
    description: Return each job's full log (one call per job). Failure reasons are returned either way.
    type: bool
    default: false
extends_documentation_fragment:
  - elasticdr.orchestration.cross_account
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - ansible.builtin.action_common_attributes
  - elasticdr.orchestration.attributes
"""

EXAMPLES = r"""
- name: Jobs of an execution
  elasticdr.orchestration.drs_job_info:
    region: us-west-2
    execution_id: "{{ drs_execution_id }}"
  register: jobs

- name: One job with its log
  elasticdr.orchestration.drs_job_info:
    region: us-west-2
    job_ids: [drsjob-0123456789abcdef0]
    include_log: true
"""

RETURN = r"""
jobs:
  description: One entry per job, oldest first.
  returned: always
  type: list
  elements: dict
  contains:
    job_id:
      description: The job ID.
      type: str
    status:
      description: C(PENDING), C(STARTED) or C(COMPLETED) (a job never fails as a whole).
      type: str
    type:
      description: C(LAUNCH), C(TERMINATE) or C(CREATE_CONVERTED_SNAPSHOT).
      type: str
    initiated_by:
      description: What started it, for example C(START_RECOVERY) or C(START_DRILL).
      type: str
    created:
      description: Creation time.
      type: str
    ended:
      description: End time.
      type: str
    tags:
      description: Job tags.
      type: dict
    servers:
      description: Per server, launch_status, recovery_instance_id and, when it failed, error.
      type: list
      elements: dict
    counts:
      description: Servers per outcome.
      type: dict
    log:
      description: With O(include_log), the job log items.
      type: list
      elements: dict
"""

import datetime
import re

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ConfigurationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.job_monitor import counts
from ansible_collections.elasticdr.orchestration.plugins.module_utils.job_monitor import failure_reasons
from ansible_collections.elasticdr.orchestration.plugins.module_utils.job_monitor import summarise
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import Connections
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import argument_spec
from ansible_collections.elasticdr.orchestration.plugins.module_utils.module_support import run_module
from ansible_collections.elasticdr.orchestration.plugins.module_utils.recovery import execution_jobs


_ISO_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$")


def parse_time(value):
    """An ISO-8601 time (Z or +hh:mm, any fraction of a second) as an aware datetime, or None."""
    match = _ISO_TIME.match(value or "")
    if not match:
        return None
    day, clock, fraction, zone = match.groups()
    zone = "+0000" if zone == "Z" else zone.replace(":", "")
    parsed = datetime.datetime.strptime(f"{day}T{clock}{zone}", "%Y-%m-%dT%H:%M:%S%z")
    return parsed.replace(microsecond=int((fraction or "0")[:6].ljust(6, "0")))


def list_jobs(module):
    params = module.params
    if params["wave"] and not params["execution_id"]:
        raise ConfigurationError("wave needs execution_id.")
    since = from_date = None
    if params["from_date"]:
        # Compared as times, not strings: 2026-11-26T10:00:05Z is before a job created at 10:00:05.123Z.
        since = parse_time(params["from_date"])
        if since is None:
            raise ConfigurationError(f"from_date {params['from_date']!r} is not an ISO-8601 time.",
                                     remediation="Give a time such as 2026-11-26T00:00:00Z.")
        utc = since.astimezone(datetime.timezone.utc)  # DRS takes UTC with a Z only
        from_date = utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    drs = Connections(module).recovery_drs()
    if params["execution_id"]:
        jobs = execution_jobs(drs, params["execution_id"], params["wave"])
        if params["job_ids"]:
            jobs = [j for j in jobs if j["jobID"] in params["job_ids"]]
    elif params["job_ids"]:
        jobs = drs.describe_jobs(params["job_ids"])
    else:
        jobs = drs.describe_jobs(from_date=from_date)
    if since is not None:
        jobs = [j for j in jobs if (parse_time(j.get("creationDateTime")) or since - datetime.timedelta(1)) >= since]
    jobs.sort(key=lambda j: j.get("creationDateTime") or "")
    out = []
    for job in jobs:
        servers = summarise([job])
        log = None
        if params["include_log"] or any(s["launch_status"] == "FAILED" for s in servers.values()):
            log = drs.describe_job_log_items(job["jobID"])
            reasons = failure_reasons(log)
            for server_id, reason in reasons.items():
                if server_id in servers:
                    servers[server_id]["error"] = reason
        entry = {
            "job_id": job["jobID"], "status": job.get("status"), "type": job.get("type"),
            "initiated_by": job.get("initiatedBy"), "created": job.get("creationDateTime"),
            "ended": job.get("endDateTime"), "tags": job.get("tags") or {},
            "servers": sorted(servers.values(), key=lambda s: s["source_server_id"]), "counts": counts(servers),
        }
        if params["include_log"]:
            entry["log"] = log
        out.append(entry)
    return {"changed": False, "jobs": out}


def main():
    module = AnsibleAWSModule(
        argument_spec=argument_spec(
            job_ids={"type": "list", "elements": "str"},
            execution_id={"type": "str"},
            wave={"type": "str"},
            from_date={"type": "str"},
            include_log={"type": "bool", "default": False},
        ),
        supports_check_mode=True,
    )
    run_module(module, list_jobs)


if __name__ == "__main__":
    main()
