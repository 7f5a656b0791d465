# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""In-memory stand-ins for the low-level boto3 DRS and EC2 clients, and builders of the records they hold.

The collection's own DRSClient/EC2Client wrap these, so batching, paging and error conversion are the real
code. Every call is recorded as (operation, params) so a test can count calls or prove that nothing
mutating happened.
"""

import copy
import itertools

import botocore.exceptions

from ansible_collections.elasticdr.orchestration.plugins.module_utils.models import iso

from ansible_collections.elasticdr.orchestration.plugins.module_utils.drs import DRSClient
from ansible_collections.elasticdr.orchestration.plugins.module_utils.ec2 import EC2Client

LAUNCH_INTO_TAG = {"Key": "AWSDRS", "Value": "AllowLaunchingIntoThisInstance"}
DRS_MUTATING = frozenset(["start_recovery", "update_launch_configuration", "reverse_replication",
                          "start_replication", "stop_replication", "disconnect_recovery_instance",
                          "delete_recovery_instance", "tag_resource", "create_extended_source_server",
                          "terminate_recovery_instances", "update_launch_configuration_template"])
EC2_MUTATING = frozenset(["stop_instances", "start_instances", "terminate_instances", "create_tags"])


def sid(n):
    return f"s-{n:017x}"


def iid(n):
    return f"i-{n:017x}"


def jid(n):
    return f"drsjob-{n:017x}"


def client_error(code, status=400, message="refused", operation="Operation", headers=None, **modeled):
    response = {"Error": {"Code": code, "Message": message},
                "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": dict(headers or {})}}
    response.update(modeled)
    return botocore.exceptions.ClientError(response, operation)


def instance(n=None, name=None, instance_id=None, tagged=True, state="stopped", arch="x86_64", platform=None,
             boot=None, ip=None, subnet="subnet-0a", zone="us-east-1a", groups=("app",), itype="m5.large",
             root="ebs", tags=None):
    """An EC2 DescribeInstances item."""
    instance_id = instance_id or iid(n)
    all_tags = []
    if name is not None:
        all_tags.append({"Key": "Name", "Value": name})
    if tagged:
        all_tags.append(dict(LAUNCH_INTO_TAG))
    for key, value in (tags or {}).items():
        all_tags.append({"Key": key, "Value": value})
    item = {
        "InstanceId": instance_id, "State": {"Name": state}, "Architecture": arch, "InstanceType": itype,
        "RootDeviceType": root, "Tags": all_tags,
        "SecurityGroups": [{"GroupName": g, "GroupId": f"sg-{g}"} for g in groups],
        "Placement": {"AvailabilityZone": zone},
    }
    if subnet:
        item["SubnetId"] = subnet
    if ip:
        item["PrivateIpAddress"] = ip
        item["NetworkInterfaces"] = [{"PrivateIpAddress": ip, "Attachment": {"DeviceIndex": 0}}]
    if platform:
        item["Platform"] = platform
    if boot:
        item["BootMode"] = boot
    return item


def source_server(server_id, instance_id=None, direction="FAILOVER", tags=None, hostname=None, ip=None, os=None,
                  state="CONTINUOUS", lag="PT5S", staging_account=None, arn=None):
    """A DRS DescribeSourceServers item."""
    props = {"identificationHints": {}}
    if instance_id:
        props["identificationHints"]["awsInstanceID"] = instance_id
    if hostname:
        props["identificationHints"]["hostname"] = hostname
    if ip:
        props["networkInterfaces"] = [{"ips": [ip], "isPrimary": True, "macAddress": "02:00:00:00:00:01"}]
    if os:
        props["os"] = {"fullString": os}
    item = {
        "sourceServerID": server_id,
        "arn": arn or f"arn:aws:drs:us-east-1:111111111111:source-server/{server_id}",
        "replicationDirection": direction, "tags": dict(tags or {}), "sourceProperties": props,
        "dataReplicationInfo": {"dataReplicationState": state, "lagDuration": lag},
    }
    if staging_account:
        item["stagingArea"] = {"status": "EXTENDED", "stagingAccountID": staging_account}
    return item


def job(job_id, servers, status="PENDING", launch_status="PENDING", tags=None, created="2026-06-15T15:00:00.000Z",
        recovery_instances=None):
    """A DRS Job; servers is a list of IDs or a {id: launchStatus} dict."""
    if not isinstance(servers, dict):
        servers = {s: launch_status for s in servers}
    participating = []
    for server_id, state in servers.items():
        item = {"sourceServerID": server_id, "launchStatus": state}
        if recovery_instances and server_id in recovery_instances:
            item["recoveryInstanceID"] = recovery_instances[server_id]
        participating.append(item)
    return {"jobID": job_id, "type": "LAUNCH", "status": status, "initiatedBy": "START_RECOVERY",
            "creationDateTime": created, "participatingServers": participating, "tags": dict(tags or {})}


def _page(items, params, page_size, key="items", token_key="nextToken", max_key="maxResults"):
    size = min(params.get(max_key) or page_size, page_size)
    start = int(params.get(token_key) or 0)
    # Shallow copies: the fakes replace nested values instead of changing them in place.
    out = {key: [dict(item) for item in items[start:start + size]]}
    if start + size < len(items):
        out[token_key] = str(start + size)
    return out


class _Recording:
    MUTATING = frozenset()

    def __init__(self):
        self.calls = []
        self.fail = {}  # operation -> exception to raise
        self._last_query = (None, None)

    def _query(self, operation, params, token_key, compute):
        """The filtered items of a query, computed once for its first page and reused for the next pages
        (as a service does), so that reading N items in pages costs O(N) here too."""
        key = (operation, repr({k: v for k, v in params.items() if k != token_key}))
        if params.get(token_key) and self._last_query[0] == key:
            return self._last_query[1]
        items = compute()
        self._last_query = (key, items)
        return items

    def _record(self, operation, params):
        params = {k: v for k, v in params.items() if k != "aws_retry"}
        self.calls.append((operation, copy.deepcopy(params)))
        error = self.fail.get(operation)
        if error is not None:
            raise error
        return params

    def count(self, operation=None):
        return sum(1 for op, _params in self.calls if operation is None or op == operation)

    def mutating_calls(self):
        return [op for op, _params in self.calls if op in self.MUTATING]


class FakeDRSBoto(_Recording):
    """The subset of the boto3 DRS client the collection uses, over in-memory state."""

    MUTATING = DRS_MUTATING

    def __init__(self, servers=(), jobs=(), job_logs=None, launch_configs=None, recovery_instances=(),
                 page_size=1000, region="us-east-1", refuse_start=None, on_describe_source_servers=None):
        super().__init__()
        self.servers = list(servers)
        self.jobs = list(jobs)
        self.job_logs = dict(job_logs or {})
        self.launch_configs = dict(launch_configs or {})
        self.recovery_instances = list(recovery_instances)
        self.page_size = page_size
        self.region = region
        self.refuse_start = set(refuse_start or ())  # servers whose StartRecovery batch is refused
        self.on_describe_source_servers = on_describe_source_servers
        self.on_reverse_replication = None
        self._job_numbers = itertools.count(0xA000)

    def describe_source_servers(self, **params):
        params = self._record("describe_source_servers", params)
        if self.on_describe_source_servers:
            self.on_describe_source_servers(self)
        filters = params.get("filters") or {}

        def compute():
            items = self.servers
            if "sourceServerIDs" in filters:
                assert len(filters["sourceServerIDs"]) <= 200, "DRS refuses more than 200 IDs in a filter"
                wanted = set(filters["sourceServerIDs"])
                items = [s for s in items if s["sourceServerID"] in wanted]
            if filters.get("stagingAccountIDs"):
                wanted = set(filters["stagingAccountIDs"])
                items = [s for s in items if (s.get("stagingArea") or {}).get("stagingAccountID") in wanted]
            return items

        return _page(self._query("describe_source_servers", params, "nextToken", compute), params, self.page_size)

    def get_launch_configuration(self, **params):
        params = self._record("get_launch_configuration", params)
        server_id = params["sourceServerID"]
        if not any(s["sourceServerID"] == server_id for s in self.servers):
            raise client_error("ResourceNotFoundException", 404, f"{server_id} not found", "GetLaunchConfiguration")
        config = copy.deepcopy(self.launch_configs.get(server_id, {"sourceServerID": server_id}))
        config["ResponseMetadata"] = {"HTTPStatusCode": 200}
        return config

    def update_launch_configuration(self, **params):
        params = self._record("update_launch_configuration", params)
        config = self.launch_configs.setdefault(params["sourceServerID"], {"sourceServerID": params["sourceServerID"]})
        config.update({k: v for k, v in params.items() if k != "sourceServerID"})
        return copy.deepcopy(config)

    def describe_jobs(self, **params):
        params = self._record("describe_jobs", params)
        filters = params.get("filters") or {}
        items = self.jobs
        if "jobIDs" in filters:
            assert len(filters["jobIDs"]) <= 1000, "DRS refuses more than 1000 job IDs in a filter"
            wanted = set(filters["jobIDs"])
            items = [j for j in items if j["jobID"] in wanted]
        if filters.get("fromDate"):
            items = [j for j in items if j.get("creationDateTime", "") >= filters["fromDate"]]
        return _page(items, params, self.page_size)

    def describe_job_log_items(self, **params):
        params = self._record("describe_job_log_items", params)
        return _page(self.job_logs.get(params["jobID"], []), params, self.page_size)

    def start_recovery(self, **params):
        params = self._record("start_recovery", params)
        ids = [s["sourceServerID"] for s in params["sourceServers"]]
        if self.refuse_start & set(ids):
            raise client_error("ConflictException", 409, "a server is already in an active job", "StartRecovery")
        new = job(jid(next(self._job_numbers)), ids, tags=params.get("tags"), created=iso())
        self.jobs.append(new)
        return {"job": copy.deepcopy(new)}

    def describe_recovery_instances(self, **params):
        params = self._record("describe_recovery_instances", params)
        filters = params.get("filters") or {}
        items = self.recovery_instances
        if "recoveryInstanceIDs" in filters:
            wanted = set(filters["recoveryInstanceIDs"])
            items = [r for r in items if r["recoveryInstanceID"] in wanted]
        if "sourceServerIDs" in filters:
            wanted = set(filters["sourceServerIDs"])
            items = [r for r in items if r["sourceServerID"] in wanted]
        return _page(items, params, self.page_size)

    def reverse_replication(self, **params):
        params = self._record("reverse_replication", params)
        if self.on_reverse_replication is None:
            raise AssertionError("this test did not expect ReverseReplication")
        return {"reversedDirectionSourceServerArn": self.on_reverse_replication(params["recoveryInstanceID"])}


class FakeEC2Boto(_Recording):
    """The subset of the boto3 EC2 client the collection uses.

    stop_after: how many DescribeInstances calls a stopped instance spends in 'stopping' (0: stops at once).
    """

    MUTATING = EC2_MUTATING

    def __init__(self, instances=(), page_size=1000, stop_after=0):
        super().__init__()
        self.instances = {i["InstanceId"]: copy.deepcopy(i) for i in instances}
        self.page_size = page_size
        self.stop_after = stop_after
        self._stopping = {}

    def _advance(self):
        for instance_id in list(self._stopping):
            self._stopping[instance_id] -= 1
            if self._stopping[instance_id] < 0:
                self.instances[instance_id]["State"] = {"Name": "stopped"}
                del self._stopping[instance_id]

    def describe_instances(self, **params):
        params = self._record("describe_instances", params)
        self._advance()

        def compute():
            items = self.instances.values()
            if "InstanceIds" in params:
                missing = [i for i in params["InstanceIds"] if i not in self.instances]
                if missing:
                    raise client_error("InvalidInstanceID.NotFound", 400, f"{missing[0]} not found",
                                       "DescribeInstances")
                items = [self.instances[i] for i in params["InstanceIds"]]
            for flt in params.get("Filters") or []:
                values = set(flt["Values"])
                if flt["Name"] == "instance-id":
                    assert len(values) <= 200, "the collection batches instance IDs by 200"
                    items = [self.instances[i] for i in flt["Values"] if i in self.instances]
                elif flt["Name"] == "tag-key":
                    items = [i for i in items if any(t["Key"] in values for t in i.get("Tags") or [])]
                elif flt["Name"] == "instance-state-name":
                    items = [i for i in items if i["State"]["Name"] in values]
                else:
                    raise AssertionError(f"unexpected filter {flt['Name']}")
            return list(items)

        items = self._query("describe_instances", params, "NextToken", compute)
        page = _page(items, params, self.page_size, key="Instances", token_key="NextToken", max_key="MaxResults")
        out = {"Reservations": [{"Instances": page["Instances"]}] if page["Instances"] else []}
        if "NextToken" in page:
            out["NextToken"] = page["NextToken"]
        return out

    def stop_instances(self, **params):
        params = self._record("stop_instances", params)
        for instance_id in params["InstanceIds"]:
            state = self.instances[instance_id]["State"]["Name"]
            if state in ("pending", "running"):
                if self.stop_after:
                    self.instances[instance_id]["State"] = {"Name": "stopping"}
                    self._stopping[instance_id] = self.stop_after
                else:
                    self.instances[instance_id]["State"] = {"Name": "stopped"}
        return {"StoppingInstances": []}

    def set_stopping(self, instance_id, polls):
        """Put an instance in 'stopping' for `polls` more DescribeInstances calls."""
        self.instances[instance_id]["State"] = {"Name": "stopping"}
        self._stopping[instance_id] = polls


class CountingProxy:
    """Counts calls of the public methods of a wrapped object (for 'calls do not grow with servers')."""

    def __init__(self, wrapped):
        self._wrapped = wrapped
        self.method_calls = []

    def __getattr__(self, name):
        attr = getattr(self._wrapped, name)
        if not callable(attr):
            return attr

        def counted(*args, **kwargs):
            self.method_calls.append(name)
            return attr(*args, **kwargs)

        return counted


def drs_client(**kwargs):
    servers_per_job = kwargs.pop("servers_per_job", 100)
    fake = FakeDRSBoto(**kwargs)
    return DRSClient(fake, servers_per_job=servers_per_job), fake


def ec2_client(*instances, **kwargs):
    fake = FakeEC2Boto(instances, **kwargs)
    return EC2Client(fake), fake


class FakeClock:
    """A monotonic clock moved only by the injected sleep; sleeps are recorded."""

    def __init__(self, start=1000.0):
        self.now = start
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


class MatchEstate:
    """Source servers (DRS, recovery region), their source instances (primary region) and candidate targets
    (recovery region), and an InstanceMatcher over them."""

    def __init__(self, page_size=1000):
        self.servers = []
        self.source_instances = []
        self.targets = []
        self.page_size = page_size
        self._n = 0

    def source(self, name, ip=None, direction="FAILOVER", platform=None, arch="x86_64", boot=None, itype="m5.large",
               groups=("app",), wave=None, server_tags=None, hostname=None, os=None, with_instance=True,
               staging_account=None):
        """Add a source server (and its source instance); returns the source server ID. name=None: no Name tag."""
        self._n += 1
        server_id, instance_id = sid(self._n), iid(self._n)
        self.servers.append(source_server(server_id, instance_id, direction=direction, tags=server_tags,
                                          hostname=hostname, ip=ip, os=os, staging_account=staging_account))
        if with_instance:
            self.source_instances.append(instance(instance_id=instance_id, name=name, tagged=False, state="running",
                                                  arch=arch, platform=platform, boot=boot, ip=ip, itype=itype,
                                                  groups=groups, tags={"drs:wave": wave} if wave else None))
        return server_id

    def target(self, name, **kwargs):
        """Add a candidate target instance (tagged AWSDRS and stopped unless told otherwise); returns its ID."""
        self._n += 1
        instance_id = iid(0x10000000 + self._n)
        self.targets.append(instance(instance_id=instance_id, name=name, **kwargs))
        return instance_id

    def matcher(self, source_region_fails=False, no_source_ec2=False, **options):
        from ansible_collections.elasticdr.orchestration.plugins.module_utils.matching import InstanceMatcher

        self.drs_fake = FakeDRSBoto(self.servers, page_size=self.page_size)
        self.source_fake = FakeEC2Boto(self.source_instances, page_size=self.page_size)
        self.target_fake = FakeEC2Boto(self.targets, page_size=self.page_size)
        if source_region_fails:
            self.source_fake.fail["describe_instances"] = botocore.exceptions.EndpointConnectionError(
                endpoint_url="https://ec2.us-east-1.amazonaws.com")
        self.drs = CountingProxy(DRSClient(self.drs_fake))
        self.source_ec2 = None if no_source_ec2 else CountingProxy(EC2Client(self.source_fake))
        self.target_ec2 = CountingProxy(EC2Client(self.target_fake))
        return InstanceMatcher(self.drs, self.source_ec2, self.target_ec2, options=options)

    def low_level_calls(self):
        return self.drs_fake.count() + self.source_fake.count() + self.target_fake.count()
