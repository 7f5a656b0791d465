# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Every DRS call the collection makes, in one place: paginated, batched to the service's limits,
retried (on the client built by connection.AWSConnector) and turned into DRSAPIError on failure.

Limits (docs/DRS_BEHAVIOUR.md sections 2 and 5): filter ID lists hold at most 200 source or recovery
instance IDs and 1000 job IDs; pages hold at most 1000 items; a job holds at most 100 source servers
by default (configurable: accounts can raise it).

Calls that change something and are not idempotent go through _call_once (retry.call_non_idempotent): after
a lost response each one first looks for its own effect. The others are safe to send again as they are:
UpdateLaunchConfiguration and TagResource are marked idempotent in the botocore model, and
UpdateLaunchConfigurationTemplate sets the members it is given to the values given, so a second identical
call leaves the template as the first one did.
"""

import datetime

from ansible_collections.amazon.aws.plugins.module_utils.errors import AWSErrorHandler

from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import DRSAPIError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.retry import call_non_idempotent

MAX_FILTER_IDS = 200
MAX_JOB_FILTER_IDS = 1000
MAX_PAGE = 1000
DEFAULT_SERVERS_PER_JOB = 100
ACTIVE_JOB_STATES = ("PENDING", "STARTED")
# dataReplicationState values of a source server that replicates no more (stopped or disconnected).
NOT_REPLICATING = ("STOPPED", "DISCONNECTED")
# SigV4 refuses a request whose signing time is more than 5 minutes off the service's clock
# (RequestTimeTooSkewed), so what a call created carries a time at most this far before the local clock's.
CLOCK_SKEW = datetime.timedelta(minutes=5)


def iso_time(moment):
    """A DRS filter time (DescribeJobs fromDate): ISO-8601 in UTC."""
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def chunks(items, size):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start:start + size]


class DRSErrorHandler(AWSErrorHandler):
    _CUSTOM_EXCEPTION = DRSAPIError

    @classmethod
    def _is_missing(cls):
        from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code

        return is_boto3_error_code("ResourceNotFoundException")


class DRSClient:
    """DRS in one account and region. `client` is a retrying boto3 DRS client (AWSConnector.client)."""

    def __init__(self, client, servers_per_job=DEFAULT_SERVERS_PER_JOB):
        self.client = client
        self.servers_per_job = servers_per_job
        self.calls = 0

    def _call(self, operation, **params):
        self.calls += 1
        return getattr(self.client, operation)(aws_retry=True, **params)

    def _call_once(self, operation, effect_lookup, **params):
        """A non-idempotent call: after a lost response, effect_lookup() (reads) looks for what the call did
        and its result stands for the response; the call is made again only when nothing is found."""
        self.calls += 1
        return call_non_idempotent(self.client, operation, effect_lookup, **params)

    def _pages(self, operation, items_key, **params):
        params.setdefault("maxResults", MAX_PAGE)
        while True:
            page = self._call(operation, **params)
            yield from page.get(items_key, [])
            token = page.get("nextToken")
            if not token:
                return
            params["nextToken"] = token

    # ------------------------------------------------------------------ source servers
    @DRSErrorHandler.common_error_handler("describe DRS source servers")
    def describe_source_servers(self, source_server_ids=None, staging_account_ids=None):
        """All source servers, or the given IDs (batched 200 per call); unknown IDs are simply absent."""
        filters = {}
        if staging_account_ids:
            filters["stagingAccountIDs"] = list(staging_account_ids)
        if source_server_ids is None:
            return list(self._pages("describe_source_servers", "items", filters=filters))
        servers = []
        for batch in chunks(sorted(set(source_server_ids)), MAX_FILTER_IDS):
            servers.extend(self._pages("describe_source_servers", "items", filters=dict(filters, sourceServerIDs=batch)))
        return servers

    @DRSErrorHandler.common_error_handler("start replication of source server {source_server_id}")
    def start_replication(self, source_server_id):
        # A second StartReplication of a replicating server is refused (ConflictException): a server that
        # replicates after a lost response is the effect of the first call.
        return self._call_once("start_replication", lambda: self._server_if(source_server_id, replicating=True),
                               sourceServerID=source_server_id)["sourceServer"]

    @DRSErrorHandler.common_error_handler("stop replication of source server {source_server_id}")
    def stop_replication(self, source_server_id):
        return self._call_once("stop_replication", lambda: self._server_if(source_server_id, replicating=False),
                               sourceServerID=source_server_id)["sourceServer"]

    def _server_if(self, source_server_id, replicating):
        """{"sourceServer": server} when its replication is (replicating=True) or is not running, else None."""
        for server in self.describe_source_servers([source_server_id]):
            state = replication_info(server)[0]
            if (state not in NOT_REPLICATING) == replicating:
                return {"sourceServer": server}
        return None

    @DRSErrorHandler.common_error_handler("get the replication configuration of {source_server_id}")
    def get_replication_configuration(self, source_server_id):
        return _strip(self._call("get_replication_configuration", sourceServerID=source_server_id))

    # ------------------------------------------------------------------ launch configuration
    @DRSErrorHandler.common_error_handler("get the launch configuration of {source_server_id}")
    def get_launch_configuration(self, source_server_id):
        return _strip(self._call("get_launch_configuration", sourceServerID=source_server_id))

    @DRSErrorHandler.common_error_handler("update the launch configuration of {source_server_id}")
    def update_launch_configuration(self, source_server_id, changes):
        return _strip(self._call("update_launch_configuration", sourceServerID=source_server_id, **changes))

    @DRSErrorHandler.common_error_handler("describe launch configuration templates")
    def describe_launch_configuration_templates(self):
        return list(self._pages("describe_launch_configuration_templates", "items"))

    @DRSErrorHandler.common_error_handler("update launch configuration template {template_id}")
    def update_launch_configuration_template(self, template_id, changes):
        response = self._call("update_launch_configuration_template", launchConfigurationTemplateID=template_id,
                              **changes)
        return response.get("launchConfigurationTemplate") or {}

    # ------------------------------------------------------------------ recovery jobs
    def start_recovery(self, source_server_ids, is_drill, tags=None, known_job_ids=()):
        """Start one job per batch of at most servers_per_job servers; returns the jobs started.

        Raises DRSAPIError for the first batch DRS refuses; `error.kwargs["started_jobs"]` lists the jobs
        that were started before it, so a caller can record them (a rerun adopts them). known_job_ids: jobs
        that existed before this call (never taken for the job a lost response started).
        """
        jobs = []
        for batch in chunks(source_server_ids, self.servers_per_job):
            try:
                jobs.append(self._start_recovery_batch(batch, is_drill, tags or {},
                                                       set(known_job_ids) | {j["jobID"] for j in jobs}))
            except DRSAPIError as error:
                error.kwargs["started_jobs"] = jobs
                error.kwargs["refused_servers"] = batch
                raise
        return jobs

    @DRSErrorHandler.common_error_handler("start a recovery job")
    def _start_recovery_batch(self, batch, is_drill, tags, known_job_ids):
        since = datetime.datetime.now(datetime.timezone.utc) - CLOCK_SKEW

        def started_job():
            job = self.find_started_job(batch, is_drill, tags, since, known_job_ids)
            return {"job": job} if job else None

        return self._call_once("start_recovery", started_job, sourceServers=[{"sourceServerID": sid} for sid in batch],
                               isDrill=bool(is_drill), tags=tags)["job"]

    def find_started_job(self, server_ids, is_drill, tags, since, exclude=()):
        """The newest LAUNCH job of exactly these servers, a drill (initiatedBy START_DRILL) or not as asked,
        carrying these tags (StartRecovery gives a job the tags it is called with), created since `since` and
        not in exclude; or None."""
        wanted = set(server_ids)
        found = []
        for job in self.describe_jobs(from_date=iso_time(since)):
            job_tags = job.get("tags") or {}
            # A Job carries no isDrill: initiatedBy says START_DRILL for a drill (API reference, Job).
            drill = job.get("initiatedBy") == "START_DRILL"
            if (job["jobID"] in exclude or job.get("type", "LAUNCH") != "LAUNCH" or drill != bool(is_drill)
                    or any(job_tags.get(key) != value for key, value in tags.items())):
                continue
            if {item["sourceServerID"] for item in job.get("participatingServers") or []} == wanted:
                found.append(job)
        found.sort(key=lambda j: j.get("creationDateTime") or "")
        return found[-1] if found else None

    @DRSErrorHandler.common_error_handler("describe DRS jobs")
    def describe_jobs(self, job_ids=None, from_date=None):
        """Jobs by ID (batched 1000 per call) or every job since from_date (ISO string)."""
        if job_ids is not None:
            jobs = []
            for batch in chunks(sorted(set(job_ids)), MAX_JOB_FILTER_IDS):
                jobs.extend(self._pages("describe_jobs", "items", filters={"jobIDs": batch}))
            return jobs
        filters = {"fromDate": from_date} if from_date else {}
        return list(self._pages("describe_jobs", "items", filters=filters))

    @DRSErrorHandler.common_error_handler("describe the log of job {job_id}")
    def describe_job_log_items(self, job_id):
        return list(self._pages("describe_job_log_items", "items", jobID=job_id))

    @DRSErrorHandler.common_error_handler("describe recovery snapshots of {source_server_id}")
    def describe_recovery_snapshots(self, source_server_id, order="DESC"):
        return list(self._pages("describe_recovery_snapshots", "items", sourceServerID=source_server_id, order=order))

    # ------------------------------------------------------------------ recovery instances
    @DRSErrorHandler.common_error_handler("describe recovery instances")
    def describe_recovery_instances(self, recovery_instance_ids=None, source_server_ids=None):
        if recovery_instance_ids is not None:
            out = []
            for batch in chunks(sorted(set(recovery_instance_ids)), MAX_FILTER_IDS):
                out.extend(self._pages("describe_recovery_instances", "items", filters={"recoveryInstanceIDs": batch}))
            return out
        if source_server_ids is not None:
            out = []
            for batch in chunks(sorted(set(source_server_ids)), MAX_FILTER_IDS):
                out.extend(self._pages("describe_recovery_instances", "items", filters={"sourceServerIDs": batch}))
            return out
        return list(self._pages("describe_recovery_instances", "items", filters={}))

    @DRSErrorHandler.common_error_handler("start reverse replication of recovery instance {recovery_instance_id}")
    def reverse_replication(self, recovery_instance_id, find_reversed=None):
        """The ARN of the source server replicating recovery_instance_id back. find_reversed() (reads) gives the
        ARN of the server a lost ReverseReplication created or resumed, or None; it lives where the origin region
        is known (failback.ReverseReplication). Without it a lost response is raised, not sent again: a second
        call may create a second reversed server (docs/DRS_BEHAVIOUR.md section 10)."""

        def reversed_server():
            arn = find_reversed() if find_reversed else None
            return {"reversedDirectionSourceServerArn": arn} if arn else None

        return self._call_once("reverse_replication", reversed_server if find_reversed else None,
                               recoveryInstanceID=recovery_instance_id)["reversedDirectionSourceServerArn"]

    @DRSErrorHandler.common_error_handler("disconnect recovery instance {recovery_instance_id}")
    def disconnect_recovery_instance(self, recovery_instance_id):
        # A disconnected recovery instance reports dataReplicationState DISCONNECTED; a second disconnect of it
        # is not promised to succeed, so a lost response looks for that state first.
        def disconnected():
            for record in self.describe_recovery_instances([recovery_instance_id]):
                if (record.get("dataReplicationInfo") or {}).get("dataReplicationState") == "DISCONNECTED":
                    return {}
            return None

        self._call_once("disconnect_recovery_instance", disconnected, recoveryInstanceID=recovery_instance_id)

    @DRSErrorHandler.common_error_handler("delete recovery instance {recovery_instance_id}")
    def delete_recovery_instance(self, recovery_instance_id):
        # A second delete of a deleted recovery instance fails (ResourceNotFoundException): gone is the effect.
        def deleted():
            return None if self.describe_recovery_instances([recovery_instance_id]) else {}

        self._call_once("delete_recovery_instance", deleted, recoveryInstanceID=recovery_instance_id)

    # TerminateRecoveryInstances is deliberately absent: it terminates the EC2 instance, which for
    # launch-into is the pre-provisioned target or the original server (docs/DRS_BEHAVIOUR.md section 4).

    # ------------------------------------------------------------------ staging accounts
    @DRSErrorHandler.common_error_handler("list staging accounts")
    def list_staging_accounts(self):
        return [a["accountID"] for a in self._pages("list_staging_accounts", "accounts", maxResults=50)]

    @DRSErrorHandler.common_error_handler("list source servers extensible from staging account {staging_account_id}")
    def list_extensible_source_servers(self, staging_account_id):
        return list(self._pages("list_extensible_source_servers", "items", stagingAccountID=staging_account_id,
                                maxResults=300))

    @DRSErrorHandler.common_error_handler("extend source server {source_server_arn}")
    def create_extended_source_server(self, source_server_arn, tags=None):
        params = {"sourceServerArn": source_server_arn}
        if tags:
            params["tags"] = tags

        # The extended server records the staging server it extends (stagingArea.stagingSourceServerArn); a second
        # CreateExtendedSourceServer of the same server is refused.
        def extended():
            for server in self.describe_source_servers():
                if (server.get("stagingArea") or {}).get("stagingSourceServerArn") == source_server_arn:
                    return {"sourceServer": server}
            return None

        return self._call_once("create_extended_source_server", extended, **params)["sourceServer"]

    # ------------------------------------------------------------------ tags
    @DRSErrorHandler.common_error_handler("tag DRS resource {arn}")
    def tag_resource(self, arn, tags):
        self._call("tag_resource", resourceArn=arn, tags=tags)


def _strip(response):
    response = dict(response)
    response.pop("ResponseMetadata", None)
    return response


def launch_into_target(launch_configuration):
    """The launch-into target instance ID of a launch configuration, or None."""
    return (launch_configuration.get("launchIntoInstanceProperties") or {}).get("launchIntoEC2InstanceID") or None


def source_instance_id(source_server):
    return ((source_server.get("sourceProperties") or {}).get("identificationHints") or {}).get("awsInstanceID")


def replication_info(source_server):
    """(state, lag seconds or None) of a source server."""
    info = source_server.get("dataReplicationInfo") or {}
    return info.get("dataReplicationState"), parse_duration(info.get("lagDuration"))


def staging_account_of(source_server):
    area = source_server.get("stagingArea") or {}
    if area.get("status") == "EXTENDED":
        return area.get("stagingAccountID")
    return None


def parse_duration(value):
    """Seconds in an ISO-8601 duration such as PT1M30.5S or P1DT2H; None for None or garbage."""
    if not value or not isinstance(value, str) or not value.startswith("P"):
        return None
    seconds = 0.0
    number = ""
    in_time = False
    units_date = {"D": 86400.0, "W": 604800.0}
    units_time = {"H": 3600.0, "M": 60.0, "S": 1.0}
    for char in value[1:]:
        if char == "T":
            in_time = True
        elif char.isdigit() or char == ".":
            number += char
        else:
            table = units_time if in_time else units_date
            if char not in table or not number:
                return None
            seconds += float(number) * table[char]
            number = ""
    return None if number else seconds
