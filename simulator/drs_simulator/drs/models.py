"""The DRS backend: source servers, launch configurations, jobs, recovery instances, failback,
staging accounts and recovery plans, sharing moto's EC2 state.

Every rule cites docs/DRS_BEHAVIOUR.md (section numbers in comments). Work that takes time in DRS
(snapshot, conversion, launch, replication) is scheduled on the simulator's clock; nothing changes
between requests.
"""
from __future__ import annotations

import datetime as _dt
import secrets

from ..ec2access import (
    boot_mode_of,
    ec2_backend,
    find_instance,
    instance_tags,
    platform_of,
    set_tags,
)
from ..idempotency import Store
from .exceptions import (
    ConflictException,
    ResourceNotFoundException,
    ServiceQuotaExceededException,
    UninitializedAccountException,
    ValidationException,
)

LAUNCH_INTO_TAG = ("AWSDRS", "AllowLaunchingIntoThisInstance")
ACTIVE_JOB_STATES = ("PENDING", "STARTED")
GIB = 1024 ** 3


def _hex17() -> str:
    return secrets.token_hex(9)[:17]


def _secs(delta: _dt.timedelta) -> float:
    return delta.total_seconds()


def parse_source_server_arn(arn: str) -> tuple[str, str, str]:
    """arn:aws:drs:{region}:{account}:source-server/s-... -> (region, account, id)."""
    try:
        prefix, resource = arn.split(":source-server/", 1)
        _, _, _, region, account = prefix.split(":")
    except ValueError as exc:
        raise ValidationException(
            f"{arn} is not a source server ARN", field_list=[{"name": "sourceServerArn", "message": "malformed ARN"}]
        ) from exc
    return region, account, resource


class Replication:
    """What DRS reports about a server's data replication at a given simulated time.

    Either static (seeded state and lag) or a timeline started by ReverseReplication /
    StartReplication: INITIATING -> INITIAL_SYNC -> CONTINUOUS with a lag that shrinks (section 7).
    A server that already holds a replica of its disks (re-protection: ReverseReplication of a failed-back
    instance resumes the original FAILOVER server) rescans instead of syncing: INITIATING -> RESCAN ->
    CONTINUOUS, RESCAN lasting rescan_per_gib per GiB while rescannedStorageBytes grows to the disk size.
    """

    def __init__(self, state="CONTINUOUS", lag=5.0, since=None, timeline=None):
        self.state = state
        self.lag = float(lag)
        self.since = since
        self.timeline = timeline  # dict(start, initiating, sync, catch_up, catch_up_lag, steady_lag)
        self.stopped_at = None

    @classmethod
    def started(cls, now, durations, disk_bytes, rescan=False):
        per_gib = durations.rescan_per_gib if rescan else durations.initial_sync_per_gib
        sync = per_gib * max(disk_bytes, GIB) / GIB
        return cls(state=None, since=now, timeline={
            "start": now, "initiating": durations.replication_initiating, "sync": sync,
            "sync_state": "RESCAN" if rescan else "INITIAL_SYNC",
            "catch_up": durations.catch_up, "catch_up_lag": durations.catch_up_lag,
            "steady_lag": durations.steady_lag,
        })

    def observe(self, now):
        """(state, lag seconds or None, eta datetime or None, sync progress 0..1)."""
        if self.stopped_at is not None:
            return "STOPPED", None, None, 1.0
        if not self.timeline:
            return self.state, (self.lag if self.state != "STOPPED" else None), None, 1.0
        t = self.timeline
        elapsed = _secs(now - t["start"])
        if elapsed < t["initiating"]:
            return "INITIATING", None, None, 0.0
        elapsed -= t["initiating"]
        if elapsed < t["sync"]:
            eta = now + _dt.timedelta(seconds=t["sync"] - elapsed)
            return t.get("sync_state", "INITIAL_SYNC"), None, eta, elapsed / t["sync"] if t["sync"] else 1.0
        elapsed -= t["sync"]
        if t["catch_up"] <= 0 or elapsed >= t["catch_up"]:
            return "CONTINUOUS", t["steady_lag"], None, 1.0
        lag = t["catch_up_lag"] - (t["catch_up_lag"] - t["steady_lag"]) * elapsed / t["catch_up"]
        return "CONTINUOUS", max(lag, t["steady_lag"]), None, 1.0

    def has_synced(self, now) -> bool:
        """Whether the server has data to recover from (initial sync done at least once)."""
        if not self.timeline:
            return self.state not in ("INITIATING", "INITIAL_SYNC")
        if self.timeline.get("sync_state") == "RESCAN":
            return True  # a rescan verifies a replica that is already there
        return _secs(now - self.timeline["start"]) >= self.timeline["initiating"] + self.timeline["sync"]


class SourceServer:
    def __init__(self, backend, *, instance_id, hostname, nics, disks, cpus, ram_bytes, os_string,
                 architecture, boot_mode, platform, origin_account, origin_region, origin_az,
                 direction="FAILOVER", replication=None, tags=None, staging=None, now=None,
                 instance_type=None):
        self.id = f"s-{_hex17()}"
        self.account = backend.account_id
        self.region = backend.region
        self.arn = f"arn:aws:drs:{self.region}:{self.account}:source-server/{self.id}"
        self.instance_id = instance_id
        self.hostname = hostname
        self.nics = nics
        self.disks = disks
        self.cpus = cpus
        self.ram_bytes = ram_bytes
        self.os_string = os_string
        self.architecture = architecture
        self.boot_mode = boot_mode
        self.platform = platform
        self.instance_type = instance_type
        self.origin_account = origin_account
        self.origin_region = origin_region
        self.origin_az = origin_az
        self.direction = direction
        self.replication = replication or Replication(since=now)
        self.tags = dict(tags or {})
        self.staging = staging  # {"status", "stagingAccountID", "stagingSourceServerArn", "source": SourceServer}
        self.added = now
        self.reversed_arn = None
        self.recovery_instance_id = None
        self.last_launch = None  # {"jobID", "type", "apiCallDateTime"}
        self.last_launch_result = "NOT_STARTED"
        self.launch_configuration: dict = {}
        self.replication_configuration: dict = {}
        self.ec2_launch_template_id = None
        self.disconnected = False

    @property
    def disk_bytes(self) -> int:
        return sum(d["bytes"] for d in self.disks)

    def effective_replication(self) -> Replication:
        # An extended server reports what its staging account replicates (section 8).
        if self.staging and self.staging.get("source") is not None:
            return self.staging["source"].replication
        return self.replication


class Job:
    def __init__(self, backend, *, job_type, initiated_by, servers, tags, is_drill, now):
        self.id = f"drsjob-{_hex17()}"
        self.arn = f"arn:aws:drs:{backend.region}:{backend.account_id}:job/{self.id}"
        self.type = job_type
        self.initiated_by = initiated_by
        self.created = now
        self.end = None
        self.status = "PENDING"
        self.participating = [{"sourceServerID": sid, "launchStatus": "PENDING"} for sid in servers]
        self.caller = None  # the Principal whose credentials DRS acts with for this job
        self.tags = dict(tags or {})
        self.is_drill = is_drill
        self.log: list[dict] = []
        self.never_ends = False
        self.on_complete: list = []

    def server(self, source_server_id) -> dict:
        for item in self.participating:
            if item["sourceServerID"] == source_server_id:
                return item
        raise KeyError(source_server_id)

    def add_log(self, when, event, **data):
        entry = {"logDateTime": when, "event": event}
        if data:
            entry["eventData"] = {k: v for k, v in data.items() if v is not None}
        self.log.append(entry)

    def to_dict(self):
        return {
            "jobID": self.id, "arn": self.arn, "type": self.type, "initiatedBy": self.initiated_by,
            "creationDateTime": self.created, "endDateTime": self.end, "status": self.status,
            "participatingServers": [dict(p) for p in self.participating], "tags": dict(self.tags),
        }


class RecoveryInstance:
    def __init__(self, backend, *, ec2_instance_id, job_id, source_server_id, is_drill, launched_into,
                 origin_az, snapshot_time, now):
        self.id = ec2_instance_id
        self.arn = f"arn:aws:drs:{backend.region}:{backend.account_id}:recovery-instance/{self.id}"
        self.job_id = job_id
        self.source_server_id = source_server_id
        self.is_drill = is_drill
        self.launched_into = launched_into
        self.origin_az = origin_az
        self.snapshot_time = snapshot_time
        self.tags = {}
        self.created = now
        self.disconnected = False
        self.reversed_server_arn = None  # the FAILBACK source server replicating this instance
        self.failback_started = None


class RecoveryPlan:
    def __init__(self, backend, name, description, tags, now):
        self.id = f"rp-{_hex17()}"
        self.arn = f"arn:aws:drs:{backend.region}:{backend.account_id}:recovery-plan/{self.id}"
        self.name = name
        self.description = description
        self.tags = dict(tags or {})
        self.created = self.updated = now
        self.steps: list[dict] = []

    def to_dict(self):
        return {"recoveryPlanArn": self.arn, "name": self.name, "description": self.description,
                "status": "ACTIVE", "createdAt": self.created, "updatedAt": self.updated, "tags": dict(self.tags)}


class PlanExecution:
    def __init__(self, backend, plan, mode, tags, now):
        self.id = f"rpe-{_hex17()}"
        self.arn = f"{plan.arn}/execution/{self.id}"
        self.plan = plan
        self.mode = mode
        self.tags = dict(tags or {})
        self.status = "IN_PROGRESS"
        self.started = now
        self.completed = None
        self.error = None
        self.snapshots = {}
        self.steps = []
        for index, step in enumerate(sorted(plan.steps, key=lambda s: s["stepOrder"]), start=1):
            config = step["configuration"]
            if "serverStepConfiguration" in config:
                exec_config = {"executionServerStepConfiguration": {"servers": [
                    dict(server) for server in config["serverStepConfiguration"]["servers"]]}}
            else:
                exec_config = {"waitStepConfiguration": dict(config["waitStepConfiguration"])}
            self.steps.append({
                "recoveryPlanExecutionStepArn": f"{self.arn}/step/{index}", "stepIndex": index,
                "status": "NOT_STARTED", "stepName": step["stepName"], "configuration": exec_config,
                "attempt": 1, "createdAt": now, "updatedAt": now,
            })

    def to_dict(self):
        return {"recoveryPlanExecutionArn": self.arn, "recoveryPlanArn": self.plan.arn, "mode": self.mode,
                "status": self.status, "startedAt": self.started, "completedAt": self.completed,
                "errorDetail": self.error, "tags": dict(self.tags)}


class DRSBackend:
    """DRS state of one account in one region."""

    def __init__(self, runtime, account_id: str, region: str):
        self.runtime = runtime
        self.account_id = account_id
        self.region = region
        self.initialized = False
        self.source_servers: dict[str, SourceServer] = {}
        self.jobs: dict[str, Job] = {}
        self.recovery_instances: dict[str, RecoveryInstance] = {}
        self.snapshots: dict[str, list[dict]] = {}
        self.templates: dict[str, dict] = {}
        self.plans: dict[str, RecoveryPlan] = {}
        self.executions: dict[str, PlanExecution] = {}

    # ------------------------------------------------------------------ helpers
    @property
    def now(self):
        return self.runtime.clock.now()

    @property
    def config(self):
        return self.runtime.config

    def require_initialized(self):
        if not self.initialized:
            raise UninitializedAccountException(self.account_id, self.region)

    def get_source_server(self, source_server_id) -> SourceServer:
        try:
            return self.source_servers[source_server_id]
        except KeyError:
            raise ResourceNotFoundException("SOURCE_SERVER", source_server_id,
                                            f"Source server {source_server_id} not found in account "
                                            f"{self.account_id} region {self.region}") from None

    def get_job(self, job_id) -> Job:
        try:
            return self.jobs[job_id]
        except KeyError:
            raise ResourceNotFoundException("JOB", job_id) from None

    def get_recovery_instance(self, recovery_instance_id) -> RecoveryInstance:
        try:
            return self.recovery_instances[recovery_instance_id]
        except KeyError:
            raise ResourceNotFoundException("RECOVERY_INSTANCE", recovery_instance_id,
                                            f"Recovery instance {recovery_instance_id} not found in account "
                                            f"{self.account_id} region {self.region}") from None

    def _ec2(self):
        return ec2_backend(self.account_id, self.region)

    # ------------------------------------------------------------------ service set-up
    def initialize_service(self):
        if not self.initialized:
            self.initialized = True
            self._create_default_template()

    def _create_default_template(self):
        template_id = f"lct-{_hex17()}"
        self.templates[template_id] = {
            "launchConfigurationTemplateID": template_id,
            "arn": f"arn:aws:drs:{self.region}:{self.account_id}:launch-configuration-template/{template_id}",
            "tags": {}, "launchDisposition": "STARTED", "targetInstanceTypeRightSizingMethod": "BASIC",
            "copyPrivateIp": False, "copyTags": False, "licensing": {"osByol": False},
            "postLaunchEnabled": False, "launchIntoSourceInstance": False,
        }

    def default_template(self) -> dict:
        if not self.templates:
            self._create_default_template()
        return next(iter(self.templates.values()))

    # ------------------------------------------------------------------ seeding (control endpoint, estate)
    def add_source_server(self, *, instance, instance_account, source_region, tags=None, replication_state="CONTINUOUS",
                          lag_seconds=5.0, direction="FAILOVER", staging=None) -> SourceServer:
        """Create the source server that the replication agent would create for an EC2 instance."""
        self.initialize_service()
        src_ec2 = ec2_backend(instance_account, source_region)
        disks = []
        for device, bdt in sorted(instance.block_device_mapping.items()):
            size = (bdt.size or 8) if hasattr(bdt, "size") else 8
            disks.append({"deviceName": device, "bytes": int(size) * GIB})
        if not disks:
            disks = [{"deviceName": instance.root_device_name or "/dev/xvda", "bytes": 8 * GIB}]
        nics = [{"macAddress": nic.mac_address, "ips": [nic.private_ip_address], "isPrimary": index == 0}
                for index, nic in sorted(instance.nics.items())]
        ec2_tags = instance_tags(src_ec2, instance.id)
        platform = platform_of(instance)
        server = SourceServer(
            self, instance_id=instance.id,
            hostname=ec2_tags.get("Name") or f"ip-{(instance.private_ip or '0.0.0.0').replace('.', '-')}",
            nics=nics, disks=disks, cpus=[{"cores": 2, "modelName": "Intel(R) Xeon(R) Platinum 8259CL"}],
            ram_bytes=8 * GIB,
            os_string="Microsoft Windows Server 2022 Datacenter" if platform == "windows" else "Amazon Linux 2023",
            architecture=instance.architecture or "x86_64", boot_mode=boot_mode_of(instance), platform=platform,
            origin_account=instance_account, origin_region=source_region, origin_az=instance.placement.zone,
            direction=direction, tags=tags, staging=staging, now=self.now,
            replication=Replication(state=replication_state, lag=lag_seconds, since=self.now),
            instance_type=instance.instance_type,
        )
        self._finish_new_server(server, source_ip=instance.private_ip)
        return server

    def _finish_new_server(self, server: SourceServer, source_ip=None, subnet_id=None):
        template = self.default_template()
        server.ec2_launch_template_id = self._create_ec2_launch_template(server, subnet_id)
        server.launch_configuration = {
            "sourceServerID": server.id, "name": server.hostname,
            "ec2LaunchTemplateID": server.ec2_launch_template_id,
            "launchDisposition": template["launchDisposition"],
            "targetInstanceTypeRightSizingMethod": template["targetInstanceTypeRightSizingMethod"],
            "copyPrivateIp": template["copyPrivateIp"], "copyTags": template["copyTags"],
            "licensing": dict(template["licensing"]), "postLaunchEnabled": template["postLaunchEnabled"],
            "launchIntoInstanceProperties": {},
        }
        server.replication_configuration = {
            "sourceServerID": server.id, "name": server.hostname, "associateDefaultSecurityGroup": True,
            "replicationServersSecurityGroupsIDs": [], "replicationServerInstanceType": "t3.small",
            "useDedicatedReplicationServer": False, "defaultLargeStagingDiskType": "GP3",
            # Every member of the model's ReplicationConfiguration is reported; ebsEncryptionKeyArn only with
            # ebsEncryption CUSTOM. AUTO staging disks report the type DRS chose (optimizedStagingDiskType).
            "stagingAreaSubnetId": self._default_subnet_id(self._ec2()),
            "replicatedDisks": [{"deviceName": d["deviceName"], "isBootDisk": i == 0, "stagingDiskType": "AUTO",
                                 "optimizedStagingDiskType": "GP3", "iops": 3000, "throughput": 125}
                                for i, d in enumerate(server.disks)],
            "ebsEncryption": "DEFAULT", "bandwidthThrottling": 0, "dataPlaneRouting": "PRIVATE_IP",
            "createPublicIP": False, "stagingAreaTags": {},
            "pitPolicy": [
                {"ruleID": 1, "units": "MINUTE", "interval": 10, "retentionDuration": 60, "enabled": True},
                {"ruleID": 2, "units": "HOUR", "interval": 1, "retentionDuration": 24, "enabled": True},
                {"ruleID": 3, "units": "DAY", "interval": 1, "retentionDuration": 7, "enabled": True},
            ],
            "autoReplicateNewDisks": True, "internetProtocol": "IPV4",
        }
        self.source_servers[server.id] = server
        self.snapshots.setdefault(server.id, [])
        if server.effective_replication().has_synced(self.now):
            self._take_snapshot(server, self.now)

    def _create_ec2_launch_template(self, server: SourceServer, subnet_id=None) -> str:
        """Each source server owns an EC2 launch template in the recovery region (section 3).

        DRS writes the template the way a launch needs it, and tools written for DRS read and rewrite these
        members (DescribeLaunchTemplateVersions, CreateLaunchTemplateVersion): network interface 0 in a subnet
        without a public IP, one block device mapping per replicated disk sized from the disk's bytes, and tag
        specifications for the instance and its volumes. The simulator's launch into an existing instance never
        reads the template (the target keeps its own network interface, type and tags, section 4).
        See docs/DRS_BEHAVIOUR.md section 12 for the AWS sources.
        """
        ec2 = self._ec2()
        subnet_id = subnet_id or self._default_subnet_id(ec2)
        nic = {"DeviceIndex": 0, "AssociatePublicIpAddress": False, "DeleteOnTermination": True}
        if subnet_id:
            nic["SubnetId"] = subnet_id
        devices = []
        for index, disk in enumerate(server.disks):
            devices.append({"DeviceName": disk["deviceName"], "Ebs": {
                "VolumeSize": max(1, -(-disk["bytes"] // GIB)), "VolumeType": "gp3", "DeleteOnTermination": True}})
        managed = [{"Key": "AWSElasticDisasterRecoveryManaged", "Value": "drs.amazonaws.com"},
                   {"Key": "AWSElasticDisasterRecoverySourceServerID", "Value": server.id}]
        data = {
            "InstanceType": server.instance_type or "t3.medium", "ImageId": _image_for(ec2, server),
            "NetworkInterfaces": [nic], "BlockDeviceMappings": devices,
            "TagSpecifications": [{"ResourceType": "instance", "Tags": [dict(t) for t in managed]},
                                  {"ResourceType": "volume", "Tags": [dict(t) for t in managed]}],
        }
        template = ec2.create_launch_template(
            f"drs-launch-template-{server.id}", "Created by Elastic Disaster Recovery", data, {})
        return template.id

    def _default_subnet_id(self, ec2):
        """The default subnet of the staging availability zone, else any default subnet of the region."""
        defaults = [s for s in ec2.describe_subnets() if getattr(s, "default_for_az", False)]
        preferred = [s for s in defaults if s.availability_zone == f"{self.region}a"]
        chosen = (preferred or defaults or [None])[0]
        return chosen.id if chosen is not None else None

    # ------------------------------------------------------------------ source servers
    def describe_source_servers(self, filters):
        self.require_initialized()
        ids = set(filters.get("sourceServerIDs") or [])
        staging_ids = set(filters.get("stagingAccountIDs") or [])
        hardware = filters.get("hardwareId")
        out = []
        for server in self.source_servers.values():
            if ids and server.id not in ids:
                continue
            if staging_ids and (not server.staging or server.staging["stagingAccountID"] not in staging_ids):
                continue
            if hardware and hardware not in (server.instance_id, server.hostname):
                continue
            out.append(server)
        return out

    def source_server_dict(self, server: SourceServer):
        now = self.now
        replication = server.effective_replication()
        state, lag, eta, progress = replication.observe(now)
        stall = self.runtime.faults.state_fault("replication_stall", server.id, self.account_id, self.region)
        error = None
        if stall and state not in ("STOPPED", "DISCONNECTED") and not server.disconnected:
            state = "STALLED"
            lag = (lag or 0.0) + max(0.0, _secs(now - stall.created))
            error = {"error": "UNSTABLE_NETWORK", "rawError": stall.message if stall.message != "injected fault"
                     else "Replication stalled (injected fault)"}
        if server.disconnected:
            state, lag = "DISCONNECTED", None
        disks = []
        for d in server.disks:
            total = 0 if server.disconnected else d["bytes"]  # DisconnectSourceServer zeroes totalStorageBytes
            rescanning = replication.observe(now)[0] == "RESCAN"
            disks.append({
                "deviceName": d["deviceName"], "totalStorageBytes": total,
                # During RESCAN the replica is complete; what grows is the part verified again.
                "replicatedStorageBytes": total if rescanning else int(total * progress),
                "rescannedStorageBytes": int(total * progress) if rescanning else 0,
                "backloggedStorageBytes": 0,
            })
        info = {
            "dataReplicationState": state,
            "lagDuration": _duration(lag) if lag is not None else None,
            "etaDateTime": eta,
            "replicatedDisks": disks,
            "dataReplicationError": error,
            "stagingAvailabilityZone": f"{self.region}a",
        }
        life = {"addedToServiceDateTime": server.added, "lastSeenByServiceDateTime": now}
        if server.last_launch:
            life["lastLaunch"] = {
                "initiated": dict(server.last_launch),
                "status": self._last_launch_status(server),
            }
        return {
            "sourceServerID": server.id, "arn": server.arn, "tags": dict(server.tags),
            "recoveryInstanceId": server.recovery_instance_id,
            "lastLaunchResult": server.last_launch_result,
            "dataReplicationInfo": info, "lifeCycle": life,
            "sourceProperties": {
                "lastUpdatedDateTime": server.added,
                "recommendedInstanceType": server.instance_type,
                "identificationHints": {"hostname": server.hostname, "fqdn": f"{server.hostname}.internal",
                                        "awsInstanceID": server.instance_id},
                "networkInterfaces": [dict(n) for n in server.nics],
                "disks": [dict(d) for d in server.disks], "cpus": [dict(c) for c in server.cpus],
                "ramBytes": server.ram_bytes, "os": {"fullString": server.os_string},
                "supportsNitroInstances": True, "architecture": server.architecture,
            },
            # A server that is not extended is staged in its own account: DRS reports that account
            # (StagingArea.stagingAccountID) for every server, which failback needs (section 7).
            "stagingArea": ({k: v for k, v in server.staging.items() if k != "source"} if server.staging
                            else {"status": "NOT_EXTENDED", "stagingAccountID": server.account}),
            "sourceCloudProperties": {"originAccountID": server.origin_account, "originRegion": server.origin_region,
                                      "originAvailabilityZone": server.origin_az},
            "replicationDirection": server.direction,
            "reversedDirectionSourceServerArn": server.reversed_arn,
            "agentVersion": "4.7.0",
        }

    def _last_launch_status(self, server):
        job = self.jobs.get(server.last_launch["jobID"]) if server.last_launch else None
        if job is None:
            return {"SUCCEEDED": "LAUNCHED", "FAILED": "FAILED"}.get(server.last_launch_result, "PENDING")
        try:
            return job.server(server.id)["launchStatus"]
        except KeyError:
            return "PENDING"

    def start_replication(self, source_server_id):
        self.require_initialized()
        server = self.get_source_server(source_server_id)
        replication = server.effective_replication()
        state = replication.observe(self.now)[0]
        if state not in ("STOPPED", "DISCONNECTED") and not server.disconnected:
            raise ConflictException(f"Replication of source server {server.id} is already running ({state})",
                                    "SOURCE_SERVER", server.id, "REPLICATION_ALREADY_RUNNING")
        server.disconnected = False
        server.replication = Replication.started(self.now, self.config.durations, server.disk_bytes)
        return server

    def stop_replication(self, source_server_id):
        self.require_initialized()
        server = self.get_source_server(source_server_id)
        replication = server.replication
        if replication.observe(self.now)[0] == "STOPPED":
            raise ConflictException(f"Replication of source server {server.id} is already stopped",
                                    "SOURCE_SERVER", server.id, "REPLICATION_ALREADY_STOPPED")
        replication.stopped_at = self.now
        return server

    # ------------------------------------------------------------------ launch configuration
    def get_launch_configuration(self, source_server_id):
        self.require_initialized()
        return self.get_source_server(source_server_id).launch_configuration

    def update_launch_configuration(self, params):
        self.require_initialized()
        server = self.get_source_server(params["sourceServerID"])
        updated = dict(server.launch_configuration)
        for key in ("name", "launchDisposition", "targetInstanceTypeRightSizingMethod", "copyPrivateIp",
                    "copyTags", "postLaunchEnabled", "recoveryMode"):
            if key in params:
                updated[key] = params[key]
        if "licensing" in params:
            updated["licensing"] = dict(params["licensing"])
        if "launchIntoInstanceProperties" in params:
            target_id = (params["launchIntoInstanceProperties"] or {}).get("launchIntoEC2InstanceID")
            if target_id:
                self._check_launch_into_architecture(server, target_id)
                updated["launchIntoInstanceProperties"] = {"launchIntoEC2InstanceID": target_id}
            else:
                # Simulator choice: an empty launchIntoInstanceProperties clears launch-into.
                updated["launchIntoInstanceProperties"] = {}
        server.launch_configuration = updated
        return updated

    def _check_launch_into_architecture(self, server, target_id):
        # DRS refuses an architecture mismatch as soon as the ID is set (section 4, rule 4).
        instance = find_instance(target_id, self.region, self.account_id)
        if instance is not None and (instance.architecture or "x86_64") != server.architecture:
            raise ValidationException(
                f"Unable to set launch into instance {target_id}: conflicting instance settings between source "
                f"server {server.id} and the target instance. configuration mismatch: Architecture.",
                reason="other",
                field_list=[{"name": "launchIntoInstanceProperties.launchIntoEC2InstanceID",
                             "message": f"target architecture {instance.architecture} differs from source "
                                        f"architecture {server.architecture}"}],
            )

    def get_replication_configuration(self, source_server_id):
        self.require_initialized()
        return self.get_source_server(source_server_id).replication_configuration

    def update_replication_configuration(self, params):
        """UpdateReplicationConfiguration: members given replace the current ones (API reference;
        docs/DRS_BEHAVIOUR.md section 12).

        Tools written for DRS send back what GetReplicationConfiguration returned, so every member it returns
        is accepted. Values that name EC2 resources must exist, and replicated disks must be disks of the
        server; anything else is a ValidationException naming the field, before any change is made.
        """
        self.require_initialized()
        server = self.get_source_server(params["sourceServerID"])
        if server.disconnected:
            raise ConflictException(f"Source server {server.id} is disconnected; reconnect it (StartReplication) "
                                    "before changing its replication settings", "SOURCE_SERVER", server.id)
        current = server.replication_configuration
        updated = dict(current)
        for key, value in params.items():
            if key != "sourceServerID":
                updated[key] = value
        errors = []
        ec2 = self._ec2()
        subnet = params.get("stagingAreaSubnetId")
        if subnet and subnet not in {s.id for s in ec2.describe_subnets()}:
            errors.append({"name": "stagingAreaSubnetId",
                           "message": f"subnet {subnet} does not exist in account {self.account_id} region {self.region}"})
        groups = params.get("replicationServersSecurityGroupsIDs") or []
        known_groups = {g.id for g in ec2.describe_security_groups()} if groups else set()
        for index, group in enumerate(groups):
            if group not in known_groups:
                errors.append({"name": f"replicationServersSecurityGroupsIDs[{index}]",
                               "message": f"security group {group} does not exist in region {self.region}"})
        devices = {d["deviceName"] for d in server.disks}
        for index, disk in enumerate(params.get("replicatedDisks") or []):
            if disk.get("deviceName") not in devices:
                errors.append({"name": f"replicatedDisks[{index}].deviceName",
                               "message": f"{disk.get('deviceName')} is not a disk of source server {server.id} "
                                          f"(disks: {', '.join(sorted(devices))})"})
        if updated.get("ebsEncryption") == "CUSTOM" and not updated.get("ebsEncryptionKeyArn"):
            errors.append({"name": "ebsEncryptionKeyArn", "message": "ebsEncryption CUSTOM needs ebsEncryptionKeyArn"})
        rule_ids = [rule.get("ruleID") for rule in params.get("pitPolicy") or [] if rule.get("ruleID") is not None]
        if len(rule_ids) != len(set(rule_ids)):
            errors.append({"name": "pitPolicy", "message": "ruleID values must be unique"})
        if errors:
            detail = "; ".join(f"{e['name']}: {e['message']}" for e in errors)
            raise ValidationException(f"Invalid replication configuration for source server {server.id}: {detail}",
                                      field_list=errors)
        if "replicatedDisks" in params:
            # A disk left out keeps its settings: DRS replicates every disk of the server.
            given = {d["deviceName"]: d for d in params["replicatedDisks"]}
            merged = []
            for disk in current["replicatedDisks"]:
                item = dict(disk, **given.get(disk["deviceName"], {}))
                if item.get("stagingDiskType", "AUTO") != "AUTO":
                    item.pop("optimizedStagingDiskType", None)
                merged.append(item)
            updated["replicatedDisks"] = merged
        if updated.get("ebsEncryption") != "CUSTOM":
            updated.pop("ebsEncryptionKeyArn", None)
        if "pitPolicy" in params:
            updated["pitPolicy"] = [dict(rule, enabled=rule.get("enabled", True)) for rule in params["pitPolicy"]]
        server.replication_configuration = updated
        return updated

    def disconnect_source_server(self, source_server_id):
        """DisconnectSourceServer (API reference): refused while the server has a recovery instance; otherwise
        replication stops at once, dataReplicationState becomes DISCONNECTED, every replicated disk's
        totalStorageBytes becomes zero and the lag is cleared."""
        self.require_initialized()
        server = self.get_source_server(source_server_id)
        record = self.recovery_instances.get(server.recovery_instance_id) if server.recovery_instance_id else None
        if record is not None:
            raise ConflictException(f"Source server {server.id} has recovery instance {record.id}; a source server "
                                    "with a recovery instance cannot be disconnected. Terminate, or disconnect and "
                                    "delete, the recovery instance first", "SOURCE_SERVER", server.id,
                                    "SOURCE_SERVER_HAS_RECOVERY_INSTANCE")
        busy = any(p["sourceServerID"] == server.id for j in self.jobs.values() if j.status in ACTIVE_JOB_STATES
                   for p in j.participating)
        if busy:
            raise ConflictException(f"Source server {server.id} is participating in an active job",
                                    "SOURCE_SERVER", server.id, "SOURCE_SERVER_IN_ACTIVE_JOB")
        server.disconnected = True
        server.replication = Replication(state="DISCONNECTED", since=self.now)
        return server

    def delete_source_server(self, source_server_id):
        """DeleteSourceServer: "The Source Server must be disconnected first" (API reference; docs/DRS_BEHAVIOUR.md
        section 12)."""
        self.require_initialized()
        server = self.get_source_server(source_server_id)
        if not server.disconnected:
            raise ConflictException(f"Source server {server.id} is not disconnected; call DisconnectSourceServer "
                                    "before DeleteSourceServer", "SOURCE_SERVER", server.id,
                                    "SOURCE_SERVER_NOT_DISCONNECTED")
        del self.source_servers[server.id]
        self.snapshots.pop(server.id, None)
        for other in self.runtime.drs.all():
            for record in other.recovery_instances.values():
                if record.reversed_server_arn == server.arn:
                    record.reversed_server_arn = None
                    record.failback_started = None

    def stop_failback(self, recovery_instance_id):
        """StopFailback: the recovery instance's failback state goes back to FAILBACK_NOT_STARTED (API reference).

        Its reverse replication stops; the FAILBACK source server stays (STOPPED) and a later ReverseReplication
        resumes it. The model lists no ConflictException for this operation: on an instance whose failback has
        not started the call changes nothing and succeeds (docs/DRS_BEHAVIOUR.md section 12).
        """
        self.require_initialized()
        record = self.get_recovery_instance(recovery_instance_id)
        reversed_server = self.runtime.drs.server_by_arn(record.reversed_server_arn)
        if reversed_server is not None and reversed_server.replication.stopped_at is None:
            reversed_server.replication.stopped_at = self.now
        record.reversed_server_arn = None
        record.failback_started = None

    def describe_launch_configuration_templates(self, ids):
        self.require_initialized()
        return [t for tid, t in self.templates.items() if not ids or tid in ids]

    def update_launch_configuration_template(self, params):
        self.require_initialized()
        template_id = params["launchConfigurationTemplateID"]
        if template_id not in self.templates:
            raise ResourceNotFoundException("LAUNCH_CONFIGURATION_TEMPLATE", template_id)
        template = self.templates[template_id]
        for key, value in params.items():
            if key != "launchConfigurationTemplateID":
                template[key] = value
        return template

    # ------------------------------------------------------------------ recovery jobs
    def start_recovery(self, servers, is_drill, tags):
        self.require_initialized()
        quotas = self.config.quotas
        ids = [item["sourceServerID"] for item in servers]
        snapshots = {item["sourceServerID"]: item.get("recoverySnapshotID") for item in servers}
        if len(set(ids)) != len(ids):
            duplicate = next(i for i in ids if ids.count(i) > 1)
            raise ConflictException(f"Source server {duplicate} is listed more than once", "SOURCE_SERVER", duplicate)
        known = [i for i in ids if i in self.source_servers]
        unknown = [i for i in ids if i not in self.source_servers]
        if unknown and self.config.behaviour.unknown_server_in_start_recovery == "conflict":
            raise ConflictException(f"Source server {unknown[0]} does not exist in account {self.account_id} "
                                    f"region {self.region}", "SOURCE_SERVER", unknown[0])
        if len(ids) > quotas.servers_per_job:
            raise ServiceQuotaExceededException(
                f"A job can include at most {quotas.servers_per_job} source servers; {len(ids)} were requested",
                "servers-per-job", "JOB")
        active = [j for j in self.jobs.values() if j.status in ACTIVE_JOB_STATES]
        if len(active) >= quotas.concurrent_jobs:
            raise ServiceQuotaExceededException(
                f"At most {quotas.concurrent_jobs} jobs may be active at once; {len(active)} are active",
                "concurrent-jobs", "JOB")
        busy = {p["sourceServerID"] for j in active for p in j.participating}
        for sid in known:
            if sid in busy:
                raise ConflictException(f"Source server {sid} is already participating in an active job",
                                        "SOURCE_SERVER", sid, "SOURCE_SERVER_IN_ACTIVE_JOB")
        if len(busy) + len(known) > quotas.servers_in_active_jobs:
            raise ServiceQuotaExceededException(
                f"At most {quotas.servers_in_active_jobs} source servers may be in active jobs at once",
                "servers-in-active-jobs", "SOURCE_SERVER")
        now = self.now
        job = Job(self, job_type="LAUNCH", initiated_by="START_DRILL" if is_drill else "START_RECOVERY",
                  servers=known, tags=tags, is_drill=bool(is_drill), now=now)
        job.caller = self.runtime.iam.current  # DRS launches with the caller's credentials (section 9b)
        self.jobs[job.id] = job
        job_kind = "DRILL" if is_drill else "RECOVERY"
        for sid in known:
            server = self.source_servers[sid]
            server.last_launch = {"apiCallDateTime": now, "jobID": job.id, "type": job_kind}
            server.last_launch_result = "PENDING"
        for sid in unknown:
            job.add_log(now, "SERVER_SKIPPED", sourceServerID=sid,
                        rawError=f"Source server {sid} does not exist in account {self.account_id} region {self.region}")
        self.runtime.scheduler.after(self.config.durations.job_start,
                                     lambda when: self._job_started(job, snapshots, when), base=now)
        return job

    def _job_started(self, job, snapshots, when):
        if job.id not in self.jobs:
            return
        job.status = "STARTED"
        job.add_log(when, "JOB_START")
        for item in job.participating:
            item["launchStatus"] = "IN_PROGRESS"
            if self.runtime.faults.state_fault("job_never_ends", item["sourceServerID"], self.account_id, self.region):
                job.never_ends = True
        if not job.participating:
            self._job_finished(job, when)
            return
        for item in job.participating:
            self._server_cleanup(job, item["sourceServerID"], snapshots.get(item["sourceServerID"]), when)

    def _server_cleanup(self, job, sid, snapshot_id, when):
        server = self.source_servers.get(sid)
        previous = self.recovery_instances.get(server.recovery_instance_id) if server else None
        if previous is not None and not previous.launched_into:
            # A new launch first cleans up the previous recovery instance (section 5), but never a
            # launched-into instance: that EC2 instance is the pre-provisioned target.
            job.add_log(when, "CLEANUP_START", sourceServerID=sid, targetInstanceID=previous.id)
            ends = self.runtime.scheduler.after(self.config.durations.cleanup,
                                                lambda at: self._cleanup_done(job, sid, previous, snapshot_id, at), base=when)
            del ends
        else:
            self._server_snapshot(job, sid, snapshot_id, when)

    def _cleanup_done(self, job, sid, previous, snapshot_id, when):
        instance = find_instance(previous.id, self.region, self.account_id)
        if instance is not None:
            self._ec2().terminate_instances([previous.id])
        self.recovery_instances.pop(previous.id, None)
        job.add_log(when, "CLEANUP_END", sourceServerID=sid, targetInstanceID=previous.id)
        self._server_snapshot(job, sid, snapshot_id, when)

    def _server_snapshot(self, job, sid, snapshot_id, when):
        server = self.source_servers.get(sid)
        if server is None:
            return self._server_failed(job, sid, when, "SNAPSHOT_FAIL", "Source server was deleted")
        if snapshot_id:
            known = {s["snapshotID"] for s in self.snapshots.get(sid, [])}
            if snapshot_id not in known:
                job.add_log(when, "USING_PREVIOUS_SNAPSHOT_FAILED", sourceServerID=sid,
                            rawError=f"Recovery snapshot {snapshot_id} not found for source server {sid}")
                return self._server_failed(job, sid, when, None, None)
            job.add_log(when, "USING_PREVIOUS_SNAPSHOT", sourceServerID=sid)
            return self._server_conversion(job, sid, when)
        job.add_log(when, "SNAPSHOT_START", sourceServerID=sid)
        self.runtime.scheduler.after(self.config.durations.snapshot,
                                     lambda at: self._snapshot_done(job, sid, at), base=when)

    def _snapshot_done(self, job, sid, when):
        server = self.source_servers.get(sid)
        if server is None:
            return self._server_failed(job, sid, when, "SNAPSHOT_FAIL", "Source server was deleted")
        if self.config.behaviour.require_initial_sync and not server.effective_replication().has_synced(when):
            return self._server_failed(job, sid, when, "SNAPSHOT_FAIL",
                                       f"Source server {sid} has not completed initial sync; no data to recover from")
        fault = self.runtime.faults.job_phase_fault("SNAPSHOT", sid, self.account_id, self.region)
        if fault:
            return self._server_failed(job, sid, when, "SNAPSHOT_FAIL", fault.message)
        self._take_snapshot(server, when)
        job.add_log(when, "SNAPSHOT_END", sourceServerID=sid)
        self._server_conversion(job, sid, when)

    def _take_snapshot(self, server, when):
        snapshot = {"snapshotID": f"pit-{_hex17()}", "sourceServerID": server.id,
                    "expectedTimestamp": when, "timestamp": when,
                    "ebsSnapshots": [f"snap-{_hex17()}" for _ in server.disks]}
        self.snapshots.setdefault(server.id, []).append(snapshot)
        return snapshot

    def _server_conversion(self, job, sid, when):
        conversion_server = f"i-{secrets.token_hex(8)[:17]}"
        job.add_log(when, "CONVERSION_START", sourceServerID=sid, conversionServerID=conversion_server)
        self.runtime.scheduler.after(self.config.durations.conversion,
                                     lambda at: self._conversion_done(job, sid, conversion_server, at), base=when)

    def _conversion_done(self, job, sid, conversion_server, when):
        fault = self.runtime.faults.job_phase_fault("CONVERSION", sid, self.account_id, self.region)
        if fault:
            return self._server_failed(job, sid, when, "CONVERSION_FAIL", fault.message,
                                       conversionServerID=conversion_server)
        job.add_log(when, "CONVERSION_END", sourceServerID=sid, conversionServerID=conversion_server)
        server = self.source_servers.get(sid)
        target = (server.launch_configuration.get("launchIntoInstanceProperties") or {}).get(
            "launchIntoEC2InstanceID") if server else None
        job.add_log(when, "LAUNCH_START", sourceServerID=sid, targetInstanceID=target)
        self.runtime.scheduler.after(self.config.durations.launch,
                                     lambda at: self._launch(job, sid, at), base=when)

    def _launch(self, job, sid, when):
        server = self.source_servers.get(sid)
        if server is None:
            return self._server_failed(job, sid, when, "LAUNCH_FAILED", "Source server was deleted")
        fault = self.runtime.faults.job_phase_fault("LAUNCH", sid, self.account_id, self.region)
        if fault:
            return self._server_failed(job, sid, when, "LAUNCH_FAILED", fault.message)
        config = server.launch_configuration
        target_id = (config.get("launchIntoInstanceProperties") or {}).get("launchIntoEC2InstanceID")
        try:
            if target_id:
                instance_id, problem = self._launch_into(server, job, target_id, when)
            else:
                instance_id, problem = self._launch_new(server, job, when)
        except Exception as exc:  # a launch failure in EC2 is a LAUNCH_FAILED, never a crash
            instance_id, problem = None, f"EC2 refused the launch: {exc}"
        if problem:
            return self._server_failed(job, sid, when, "LAUNCH_FAILED", problem, targetInstanceID=target_id)
        item = job.server(sid)
        item["launchStatus"] = "LAUNCHED"
        item["recoveryInstanceID"] = instance_id
        server.recovery_instance_id = instance_id
        server.last_launch_result = "SUCCEEDED"
        self._server_done(job, when)

    def launch_into_problem(self, server, target_id, config) -> str | None:
        """Why DRS would refuse to launch server into target_id now, or None (section 4)."""
        instance = find_instance(target_id, self.region, self.account_id)
        where = f"account {self.account_id} region {self.region}"
        if instance is None or instance._state.name == "terminated":
            return (f"Launch into instance {target_id} failed: the instance does not exist in {where}. "
                    "The target must be in the account and region of the recovery job.")
        tags = instance_tags(self._ec2(), target_id)
        if tags.get(LAUNCH_INTO_TAG[0]) != LAUNCH_INTO_TAG[1]:
            return (f"Launch into instance {target_id} failed: the instance is missing the tag "
                    f"{LAUNCH_INTO_TAG[0]}={LAUNCH_INTO_TAG[1]}.")
        if instance._state.name != "stopped":
            return (f"Launch into instance {target_id} failed: the instance is {instance._state.name}; it must be "
                    "stopped before the launch (DRS does not stop it).")
        if config.get("copyPrivateIp") or config.get("copyTags"):
            return (f"Launch into instance {target_id} failed: copyPrivateIp and copyTags must be disabled when "
                    "launching into an existing instance; the target keeps its own network interface and tags.")
        target_arch = instance.architecture or "x86_64"
        if target_arch != server.architecture:
            return (f"Launch into instance {target_id} failed: conflicting instance settings. "
                    f"configuration mismatch: Architecture. Source {server.architecture}, target {target_arch}.")
        if target_arch != "x86_64":
            # Launch into an existing instance needs an x86_64, HVM, EBS-backed instance (section 4, rule 4).
            return (f"Launch into instance {target_id} failed: launching into an existing instance supports only "
                    f"x86_64 instances; the target is {target_arch}.")
        target_platform = platform_of(instance)
        if target_platform != server.platform:
            return (f"Launch into instance {target_id} failed: configuration mismatch: Platform. Source "
                    f"{server.platform}, target {target_platform}.")
        target_boot = boot_mode_of(instance)
        wanted_boot = "legacy-bios" if server.platform == "linux" else server.boot_mode
        if target_boot != wanted_boot:
            return (f"Launch into instance {target_id} failed: configuration mismatch: Boot mode. The target boots "
                    f"{target_boot}; a {server.platform} source needs {wanted_boot}.")
        if (config.get("licensing") or {}).get("osByol") and server.platform == "windows" \
                and instance.placement.tenancy not in ("dedicated", "host"):
            return (f"Launch into instance {target_id} failed: BYOL licensing is supported only for Linux or "
                    "dedicated-host tenancy.")
        return None

    def _launch_into(self, server, job, target_id, when):
        problem = self.launch_into_problem(server, target_id, server.launch_configuration)
        if problem:
            return None, problem
        instance = find_instance(target_id, self.region, self.account_id)
        starts = server.launch_configuration.get("launchDisposition", "STARTED") == "STARTED"
        denied = self.runtime.iam.launch_denial(getattr(job, "caller", None), self.region, self.account_id,
                                                server.arn, server.tags, target_id,
                                                instance_tags(self._ec2(), target_id), starts)
        if denied:
            return None, f"Launch into instance {target_id} failed: {denied}"
        volumes = self._swap_volumes(server, job, instance)
        if starts:
            instance.start()
        self._record_recovery_instance(server, job, instance.id, True, when, volumes)
        return instance.id, None

    def _launch_new(self, server, job, when):
        denied = self.runtime.iam.launch_denial(getattr(job, "caller", None), self.region, self.account_id,
                                                server.arn, server.tags)
        if denied:
            return None, f"Failed to launch the recovery instance: {denied}"
        ec2 = self._ec2()
        config = server.launch_configuration
        # DRS launches the template's default version: tools that edit the template add a version and make it
        # the default (CreateLaunchTemplateVersion + ModifyLaunchTemplate).
        template = ec2.launch_templates[server.ec2_launch_template_id].default_version().data
        nic = (template.get("NetworkInterfaces") or [{}])[0]
        subnet_id = nic.get("SubnetId")
        if not subnet_id:
            subnet_id = next((s.id for s in ec2.describe_subnets() if getattr(s, "default_for_az", False)), None)
        private_ip = server.nics[0]["ips"][0] if config.get("copyPrivateIp") and server.nics else None
        if private_ip:
            for eni in ec2.enis.values():
                if eni.subnet.id == subnet_id and private_ip in _eni_ips(eni):
                    return None, (f"Failed to launch the recovery instance: private IP {private_ip} is already in "
                                  f"use in subnet {subnet_id} (copyPrivateIp is enabled).")
        instance_tags_to_copy = {}
        if config.get("copyTags"):
            instance_tags_to_copy = instance_tags(ec2_backend(server.origin_account, server.origin_region),
                                                  server.instance_id)
        instance_tags_to_copy.update({"AWSElasticDisasterRecoveryManaged": "drs.amazonaws.com",
                                      "AWSElasticDisasterRecoverySourceServerID": server.id})
        kwargs = {"instance_type": template.get("InstanceType", "t3.medium"), "is_instance_type_default": False,
                  "subnet_id": subnet_id, "region_name": self.region,
                  "tags": {"instance": instance_tags_to_copy}}
        if private_ip:
            kwargs["private_ip"] = private_ip
        reservation = ec2.run_instances(template.get("ImageId"), 1, None, [], **kwargs)
        instance = reservation.instances[0]
        instance.architecture = server.architecture
        volumes = self._swap_volumes(server, job, instance)
        if config.get("launchDisposition", "STARTED") == "STOPPED":
            instance.stop()
        self._record_recovery_instance(server, job, instance.id, False, when, volumes)
        return instance.id, None

    def _swap_volumes(self, server, job, instance):
        """Replace the instance's volumes with recovered ones; keep (or delete) the old ones, tagged."""
        ec2 = self._ec2()
        old = sorted(instance.block_device_mapping.items())
        root_device = instance.root_device_name or (old[0][0] if old else "/dev/xvda")
        for device, bdt in old:
            ec2.detach_volume(bdt.volume_id, instance.id, device)
            if self.config.behaviour.launch_into_old_volumes == "delete":
                ec2.delete_volume(bdt.volume_id)
            else:
                set_tags(ec2, bdt.volume_id, {"drs:replaced-by-job": job.id, "drs:replaced-on-instance": instance.id,
                                              "drs:original-device": device})
        attached = []
        for index, disk in enumerate(server.disks):
            device = root_device if index == 0 else disk["deviceName"]
            volume = ec2.create_volume(size=max(1, disk["bytes"] // GIB), zone_name=instance.placement.zone)
            set_tags(ec2, volume.id, {"drs:recovered-from": server.id, "drs:job-id": job.id,
                                      "drs:source-device": disk["deviceName"]})
            ec2.attach_volume(volume.id, instance.id, device)
            attached.append({"internalDeviceName": disk["deviceName"], "bytes": disk["bytes"], "ebsVolumeID": volume.id})
        return attached

    def _record_recovery_instance(self, server, job, instance_id, launched_into, when, volumes):
        previous = self.recovery_instances.get(instance_id)
        snapshots = self.snapshots.get(server.id) or []
        record = RecoveryInstance(self, ec2_instance_id=instance_id, job_id=job.id, source_server_id=server.id,
                                  is_drill=job.is_drill, launched_into=launched_into, origin_az=server.origin_az,
                                  snapshot_time=snapshots[-1]["timestamp"] if snapshots else when, now=when)
        if previous is not None:
            record.tags = previous.tags
        record.volumes = volumes
        self.recovery_instances[instance_id] = record

    def _server_failed(self, job, sid, when, event, raw_error, **data):
        if event:
            job.add_log(when, event, sourceServerID=sid, rawError=raw_error, **data)
        try:
            job.server(sid)["launchStatus"] = "FAILED"
        except KeyError:
            pass
        server = self.source_servers.get(sid)
        if server is not None:
            server.last_launch_result = "FAILED"
        self._server_done(job, when)

    def _server_done(self, job, when):
        if job.never_ends:
            return
        if all(p["launchStatus"] in ("LAUNCHED", "FAILED", "TERMINATED") for p in job.participating):
            self._job_finished(job, when)

    def _job_finished(self, job, when):
        # There is no failed job status: a job whose every server failed still ends COMPLETED (section 5).
        job.status = "COMPLETED"
        job.end = when
        job.add_log(when, "JOB_END")
        for callback in job.on_complete:
            callback(job, when)

    def describe_jobs(self, filters):
        self.require_initialized()
        ids = set(filters.get("jobIDs") or [])
        from_date = _parse_time(filters.get("fromDate"))
        to_date = _parse_time(filters.get("toDate"))
        out = []
        for job in self.jobs.values():
            if ids and job.id not in ids:
                continue
            if from_date and job.created < from_date:
                continue
            if to_date and job.created > to_date:
                continue
            out.append(job)
        return out

    def delete_job(self, job_id):
        self.require_initialized()
        job = self.get_job(job_id)
        if job.status in ACTIVE_JOB_STATES:
            raise ConflictException(f"Job {job_id} is {job.status} and cannot be deleted until it completes",
                                    "JOB", job_id, "JOB_IS_ACTIVE")
        del self.jobs[job_id]

    def job_log(self, job_id):
        self.require_initialized()
        return self.get_job(job_id).log

    # ------------------------------------------------------------------ recovery instances
    def recovery_instance_dict(self, record: RecoveryInstance):
        instance = find_instance(record.id, self.region, self.account_id)
        if instance is None:
            state = "NOT_FOUND"
            nics, instance_type = [], None
        else:
            state = instance._state.name.upper()
            nics = [{"macAddress": nic.mac_address, "ips": _eni_ips(nic), "isPrimary": index == 0}
                    for index, nic in sorted(instance.nics.items())]
            instance_type = instance.instance_type
        server = self.source_servers.get(record.source_server_id)
        out = {
            "ec2InstanceID": record.id, "ec2InstanceState": state, "jobID": record.job_id,
            "recoveryInstanceID": record.id, "sourceServerID": record.source_server_id, "arn": record.arn,
            "tags": dict(record.tags), "isDrill": record.is_drill, "originEnvironment": "AWS",
            "originAvailabilityZone": record.origin_az, "pointInTimeSnapshotDateTime": record.snapshot_time,
            "agentVersion": "4.7.0",
            "recoveryInstanceProperties": {
                "lastUpdatedDateTime": record.created,
                "identificationHints": {"hostname": server.hostname if server else None, "awsInstanceID": record.id},
                "networkInterfaces": nics,
                "disks": [dict(v) for v in getattr(record, "volumes", [])],
                "cpus": [dict(c) for c in server.cpus] if server else [],
                "ramBytes": server.ram_bytes if server else None,
                "os": {"fullString": server.os_string} if server else None,
            },
        }
        del instance_type
        reversed_server = self.runtime.drs.server_by_arn(record.reversed_server_arn) if record.reversed_server_arn else None
        if reversed_server is not None:
            state_name, _, eta, _ = reversed_server.replication.observe(self.now)
            ready = state_name == "CONTINUOUS"
            out["failback"] = {
                "state": "FAILBACK_READY_FOR_LAUNCH" if ready else "FAILBACK_IN_PROGRESS",
                "failbackInitiationTime": record.failback_started, "failbackToOriginalServer": True,
                "failbackLaunchType": "RECOVERY",
            }
            # No lagDuration here: the model types RecoveryInstanceDataReplicationInfo.lagDuration as an
            # ISO-8601 date-time, not a duration like PT5S, and leaves its meaning undocumented. The lag to
            # wait on is the reversed source server's (docs/DRS_BEHAVIOUR.md section 7, step 2).
            out["dataReplicationInfo"] = {"dataReplicationState": state_name, "etaDateTime": eta}
        elif record.disconnected:
            out["dataReplicationInfo"] = {"dataReplicationState": "DISCONNECTED"}
        else:
            out["failback"] = {"state": "FAILBACK_NOT_STARTED"}
            out["dataReplicationInfo"] = {"dataReplicationState": "NOT_STARTED"}
        return out

    def describe_recovery_instances(self, filters):
        self.require_initialized()
        ids = set(filters.get("recoveryInstanceIDs") or [])
        servers = set(filters.get("sourceServerIDs") or [])
        return [r for r in self.recovery_instances.values()
                if (not ids or r.id in ids) and (not servers or r.source_server_id in servers)]

    def terminate_recovery_instances(self, ids):
        """Terminates the EC2 instances: never do this to a launched-into instance (section 4)."""
        self.require_initialized()
        records = [self.get_recovery_instance(i) for i in ids]
        now = self.now
        job = Job(self, job_type="TERMINATE", initiated_by="TERMINATE_RECOVERY_INSTANCES",
                  servers=[r.source_server_id for r in records], tags={}, is_drill=False, now=now)
        self.jobs[job.id] = job
        for record, item in zip(records, job.participating):
            item["recoveryInstanceID"] = record.id

        def run(when):
            job.status = "STARTED"
            job.add_log(when, "JOB_START")

            def finish(at):
                for record, item in zip(records, job.participating):
                    if find_instance(record.id, self.region, self.account_id) is not None:
                        self._ec2().terminate_instances([record.id])
                    item["launchStatus"] = "TERMINATED"
                    self.recovery_instances.pop(record.id, None)
                    server = self.source_servers.get(record.source_server_id)
                    if server is not None and server.recovery_instance_id == record.id:
                        server.recovery_instance_id = None
                self._job_finished(job, at)
            self.runtime.scheduler.after(self.config.durations.terminate, finish, base=when)

        self.runtime.scheduler.after(self.config.durations.job_start, run, base=now)
        return job

    def disconnect_recovery_instance(self, recovery_instance_id):
        self.require_initialized()
        record = self.get_recovery_instance(recovery_instance_id)
        if record.reversed_server_arn and self.runtime.drs.server_by_arn(record.reversed_server_arn) is not None:
            # Section 6: once reverse replication has started, disconnect is refused; delete instead.
            raise ConflictException(
                f"Recovery instance {record.id} is replicating back (failback started) and cannot be "
                "disconnected; delete it instead", "RECOVERY_INSTANCE", record.id, "FAILBACK_IN_PROGRESS")
        record.disconnected = True

    def delete_recovery_instance(self, recovery_instance_id):
        self.require_initialized()
        record = self.get_recovery_instance(recovery_instance_id)
        replicating_back = record.reversed_server_arn and self.runtime.drs.server_by_arn(record.reversed_server_arn)
        if not record.disconnected and not replicating_back:
            raise ConflictException(f"Recovery instance {record.id} must be disconnected before it is deleted",
                                    "RECOVERY_INSTANCE", record.id, "RECOVERY_INSTANCE_NOT_DISCONNECTED")
        del self.recovery_instances[record.id]
        server = self.source_servers.get(record.source_server_id)
        if server is not None and server.recovery_instance_id == record.id:
            server.recovery_instance_id = None

    def describe_recovery_snapshots(self, source_server_id, filters, order):
        self.require_initialized()
        self.get_source_server(source_server_id)
        start = _parse_time(filters.get("fromDateTime"))
        end = _parse_time(filters.get("toDateTime"))
        items = [s for s in self.snapshots.get(source_server_id, [])
                 if (not start or s["timestamp"] >= start) and (not end or s["timestamp"] <= end)]
        items.sort(key=lambda s: s["timestamp"], reverse=(order == "DESC"))
        return items

    # ------------------------------------------------------------------ failback (section 7)
    def reverse_replication(self, recovery_instance_id):
        self.require_initialized()
        record = self.get_recovery_instance(recovery_instance_id)
        server = self.get_source_server(record.source_server_id)
        existing = self.runtime.drs.server_by_arn(record.reversed_server_arn) if record.reversed_server_arn else None
        if existing is not None:
            if self.config.behaviour.repeated_reverse_replication == "conflict":
                raise ConflictException(f"Recovery instance {record.id} already replicates to {existing.arn}",
                                        "RECOVERY_INSTANCE", record.id, "REVERSE_REPLICATION_ALREADY_STARTED")
            return existing.arn
        if record.disconnected:
            raise ConflictException(f"Recovery instance {record.id} is disconnected", "RECOVERY_INSTANCE", record.id)
        instance = find_instance(record.id, self.region, self.account_id)
        if instance is None or instance._state.name == "terminated":
            raise ConflictException(f"The EC2 instance of recovery instance {record.id} no longer exists",
                                    "RECOVERY_INSTANCE", record.id)
        origin = self.runtime.drs.backend(server.origin_account, server.origin_region)
        if not origin.initialized:
            raise UninitializedAccountException(server.origin_account, server.origin_region)
        now = self.now
        protecting = next((s for s in origin.source_servers.values() if s.instance_id == record.id), None)
        if protecting is not None:
            # The origin region already has a source server for this very instance (the original server on
            # re-protect, or the failback server of an earlier cycle): DRS resumes replicating it rather than
            # creating another one, which is why failback servers are tracked by awsInstanceID (section 7).
            # Re-protection resumes the original FAILOVER server, whose replica is already in the staging
            # area: DRS rescans it (RESCAN) rather than syncing it again.
            replication = Replication.started(now, self.config.durations, protecting.disk_bytes,
                                              rescan=protecting.direction == "FAILOVER")
            if protecting.staging and protecting.staging.get("source") is not None:
                protecting.staging["source"].replication = replication
            protecting.replication = replication
            protecting.disconnected = False
            protecting.reversed_arn = server.arn
            server.reversed_arn = protecting.arn
            record.reversed_server_arn = protecting.arn
            record.failback_started = now
            return protecting.arn
        nics = [{"macAddress": nic.mac_address, "ips": _eni_ips(nic), "isPrimary": index == 0}
                for index, nic in sorted(instance.nics.items())]
        reversed_server = SourceServer(
            origin, instance_id=record.id, hostname=server.hostname, nics=nics,
            disks=[dict(d) for d in server.disks], cpus=server.cpus, ram_bytes=server.ram_bytes,
            os_string=server.os_string, architecture=server.architecture, boot_mode=server.boot_mode,
            platform=server.platform, origin_account=self.account_id, origin_region=self.region,
            # [model] ReplicationDirection: FAILBACK is replication from a recovery instance back to the
            # origin; re-protecting a failed-back instance replicates toward the recovery region again,
            # which is FAILOVER ("for failback instances on origin region ... re-protect them").
            origin_az=instance.placement.zone, now=now,
            direction="FAILOVER" if server.direction == "FAILBACK" else "FAILBACK",
            replication=Replication.started(now, self.config.durations, server.disk_bytes),
            tags=dict(server.tags), instance_type=instance.instance_type,
        )
        reversed_server.reversed_arn = server.arn
        origin._finish_new_server(reversed_server)
        template = origin.default_template()
        original = find_instance(server.instance_id, origin.region, origin.account_id)
        if template.get("launchIntoSourceInstance") and original is not None:
            # The region default fills launch-into with the original instance on failback (section 4).
            reversed_server.launch_configuration["launchIntoInstanceProperties"] = {
                "launchIntoEC2InstanceID": server.instance_id}
        server.reversed_arn = reversed_server.arn
        record.reversed_server_arn = reversed_server.arn
        record.failback_started = now
        return reversed_server.arn

    # ------------------------------------------------------------------ staging accounts (section 8)
    def list_extensible_source_servers(self, staging_account_id):
        self.require_initialized()
        staging = self.runtime.drs.existing_backend(staging_account_id, self.region)
        if staging is None or not staging.initialized:
            return []
        extended = {s.staging["stagingSourceServerArn"] for s in self.source_servers.values() if s.staging}
        return [s for s in staging.source_servers.values()
                if s.direction == "FAILOVER" and not s.staging and s.arn not in extended]

    def create_extended_source_server(self, arn, tags):
        self.require_initialized()
        region, account, server_id = parse_source_server_arn(arn)
        if region != self.region:
            raise ValidationException(
                f"Source server {arn} is in {region}; it can be extended only into the same region ({self.region})",
                field_list=[{"name": "sourceServerArn", "message": "region differs"}])
        if account == self.account_id:
            raise ValidationException("A source server cannot be extended into its own account",
                                      field_list=[{"name": "sourceServerArn", "message": "same account"}])
        staging = self.runtime.drs.existing_backend(account, region)
        if staging is None or server_id not in staging.source_servers:
            raise ResourceNotFoundException("SOURCE_SERVER", server_id,
                                            f"Source server {arn} not found in staging account {account}")
        for existing in self.source_servers.values():
            if existing.staging and existing.staging["stagingSourceServerArn"] == arn:
                raise ValidationException(f"Source server {arn} is already extended into account {self.account_id} "
                                          f"as {existing.id}", reason="other")
        base = staging.source_servers[server_id]
        server = self.extend(base, tags)
        return server

    def extend(self, base: SourceServer, tags=None) -> SourceServer:
        server = SourceServer(
            self, instance_id=base.instance_id, hostname=base.hostname, nics=base.nics, disks=base.disks,
            cpus=base.cpus, ram_bytes=base.ram_bytes, os_string=base.os_string, architecture=base.architecture,
            boot_mode=base.boot_mode, platform=base.platform, origin_account=base.origin_account,
            origin_region=base.origin_region, origin_az=base.origin_az, direction=base.direction,
            tags=dict(base.tags, **(tags or {})), now=self.now, instance_type=base.instance_type,
            staging={"status": "EXTENDED", "stagingAccountID": base.account, "stagingSourceServerArn": base.arn,
                     "source": base},
        )
        self._finish_new_server(server)
        return server

    def list_staging_accounts(self):
        self.require_initialized()
        accounts = sorted({s.staging["stagingAccountID"] for s in self.source_servers.values() if s.staging})
        return [{"accountID": a} for a in accounts]

    # ------------------------------------------------------------------ tags
    def resource_by_arn(self, arn):
        for collection in (self.source_servers.values(), self.jobs.values(), self.recovery_instances.values(),
                           self.plans.values(), self.executions.values()):
            for item in collection:
                if item.arn == arn:
                    return item
        for template in self.templates.values():
            if template["arn"] == arn:
                return template
        raise ResourceNotFoundException("RESOURCE", arn, f"Resource {arn} not found")

    def tags_of(self, arn) -> dict:
        resource = self.resource_by_arn(arn)
        return resource["tags"] if isinstance(resource, dict) else resource.tags

    # ------------------------------------------------------------------ recovery plans (section 9)
    def create_recovery_plan(self, name, description, tags):
        self.require_initialized()
        for plan in self.plans.values():
            if plan.name == name:
                raise ConflictException(f"A recovery plan named {name} already exists", "RECOVERY_PLAN", plan.arn)
        plan = RecoveryPlan(self, name, description, tags, self.now)
        self.plans[plan.arn] = plan
        return plan

    def get_plan(self, arn) -> RecoveryPlan:
        try:
            return self.plans[arn]
        except KeyError:
            raise ResourceNotFoundException("RECOVERY_PLAN", arn) from None

    def create_recovery_plan_step(self, params):
        self.require_initialized()
        plan = self.get_plan(params["recoveryPlanArn"])
        if len(plan.steps) >= 20:
            raise ServiceQuotaExceededException("A recovery plan has at most 20 steps", "recovery-plan-steps",
                                                "RECOVERY_PLAN", plan.arn)
        config = params["configuration"]
        if not config.get("serverStepConfiguration") and not config.get("waitStepConfiguration"):
            raise ValidationException("configuration needs serverStepConfiguration or waitStepConfiguration",
                                      field_list=[{"name": "configuration", "message": "empty union"}])
        for server in (config.get("serverStepConfiguration") or {}).get("servers", []):
            if self.runtime.drs.server_by_arn(server["serverArn"]) is None:
                raise ResourceNotFoundException("SOURCE_SERVER", server["serverArn"])
        order = params.get("stepOrder") or len(plan.steps) + 1
        for step in plan.steps:
            if step["stepOrder"] >= order:
                step["stepOrder"] += 1
        now = self.now
        step = {"recoveryPlanStepArn": f"{plan.arn}/step/rps-{_hex17()}", "stepOrder": order,
                "stepName": params["stepName"], "configuration": config, "createdAt": now, "updatedAt": now}
        plan.steps.append(step)
        plan.updated = now
        return step

    def list_recovery_plan_steps(self, arn):
        self.require_initialized()
        return sorted(self.get_plan(arn).steps, key=lambda s: s["stepOrder"])

    def start_recovery_plan_execution(self, params):
        self.require_initialized()
        plan = self.get_plan(params["recoveryPlanArn"])
        for execution in self.executions.values():
            if execution.plan is plan and execution.status in ("CREATED", "IN_PROGRESS", "CANCELLING"):
                raise ConflictException(f"Recovery plan {plan.name} already has an active execution "
                                        f"{execution.arn}", "RECOVERY_PLAN", plan.arn, "EXECUTION_IN_PROGRESS")
        if not plan.steps:
            raise ValidationException(f"Recovery plan {plan.name} has no steps", reason="other")
        execution = PlanExecution(self, plan, params["mode"], params.get("tags"), self.now)
        execution.snapshots = {s["sourceServerID"]: s["recoverySnapshotID"] for s in params.get("sourceServers") or []}
        self.executions[execution.arn] = execution
        self.runtime.scheduler.after(0, lambda when: self._run_plan_step(execution, 0, when))
        return execution

    def _run_plan_step(self, execution, index, when):
        if execution.status != "IN_PROGRESS":
            return
        if index >= len(execution.steps):
            execution.status = "COMPLETED"
            execution.completed = when
            return
        step = execution.steps[index]
        step["updatedAt"] = when
        config = step["configuration"]
        if "waitStepConfiguration" in config:
            step["status"] = "WAITING"
            minutes = config["waitStepConfiguration"]["waitDurationMinutes"]

            def waited(at):
                if execution.status != "IN_PROGRESS":
                    return
                step["status"] = "COMPLETED"
                step["updatedAt"] = at
                self._run_plan_step(execution, index + 1, at)
            self.runtime.scheduler.after(minutes * 60, waited, base=when)
            return
        step["status"] = "EXECUTING"
        servers = config["executionServerStepConfiguration"]["servers"]
        ids = [s["serverArn"].rsplit("/", 1)[1] for s in servers]
        try:
            job = self.start_recovery([{"sourceServerID": sid, "recoverySnapshotID": execution.snapshots.get(sid)}
                                       for sid in ids], execution.mode == "DRILL",
                                      {"recoveryPlanExecution": execution.id})
        except Exception as exc:  # a step that cannot start fails the execution
            message = getattr(exc, "message", str(exc))
            step["status"] = "FAILED"
            step["errorDetail"] = {"message": message, "code": type(exc).__name__}
            self._fail_execution(execution, index, when, message)
            return
        for server in servers:
            server["jobID"] = job.id

        def finished(job_done, at):
            # The step records how its job ended even after a cancel (the job cannot be cancelled, and a
            # step left EXECUTING would never end); only a running execution moves on or fails.
            failed_critical = [p["sourceServerID"] for p in job_done.participating
                               if p["launchStatus"] != "LAUNCHED" and _impact(servers, p["sourceServerID"]) == "CRITICAL"]
            step["updatedAt"] = at
            if failed_critical:
                step["status"] = "FAILED"
                message = f"Critical source servers failed to launch: {', '.join(failed_critical)}"
                step["errorDetail"] = {"message": message, "code": "CRITICAL_SERVER_FAILED"}
                if execution.status == "IN_PROGRESS":
                    self._fail_execution(execution, index, at, message)
            else:
                step["status"] = "COMPLETED"
                if execution.status != "IN_PROGRESS":
                    return
                self.runtime.scheduler.after(self.config.durations.plan_step_poll,
                                             lambda t: self._run_plan_step(execution, index + 1, t), base=at)
        job.on_complete.append(finished)

    def _fail_execution(self, execution, index, when, message):
        execution.status = "FAILED"
        execution.completed = when
        execution.error = {"message": message, "code": "STEP_FAILED"}
        for step in execution.steps[index + 1:]:
            step["status"] = "SKIPPED"

    def get_execution(self, arn) -> PlanExecution:
        self.require_initialized()
        try:
            return self.executions[arn]
        except KeyError:
            raise ResourceNotFoundException("RECOVERY_PLAN_EXECUTION", arn) from None

    def cancel_recovery_plan_execution(self, arn):
        execution = self.get_execution(arn)
        if execution.status not in ("CREATED", "IN_PROGRESS"):
            raise ConflictException(f"Execution {arn} is {execution.status} and cannot be cancelled",
                                    "RECOVERY_PLAN_EXECUTION", arn)
        # Jobs already started keep running: DRS cannot cancel a job, only the plan stops.
        now = self.now
        execution.status = "CANCELLED"
        execution.completed = now
        for step in execution.steps:
            if step["status"] in ("NOT_STARTED", "WAITING"):
                step["status"] = "SKIPPED"
                step["updatedAt"] = now
        return execution


def _impact(servers, source_server_id):
    for server in servers:
        if server["serverArn"].endswith("/" + source_server_id):
            return server.get("impactLevel", "CRITICAL")
    return "CRITICAL"


def _eni_ips(eni):
    ips = [eni.private_ip_address] if eni.private_ip_address else []
    for item in getattr(eni, "private_ip_addresses", None) or []:
        ip = item.get("PrivateIpAddress") if isinstance(item, dict) else None
        if ip and ip not in ips:
            ips.append(ip)
    return ips


def _image_for(ec2, server):
    for image in ec2.amis.values():
        if image.architecture == server.architecture and (image.platform == "windows") == (server.platform == "windows"):
            return image.id
    return next(iter(ec2.amis), None)


def _duration(seconds):
    from .shapes import duration
    return duration(seconds)


def _parse_time(value):
    if not value:
        return None
    text = value.replace("Z", "+00:00")
    return _dt.datetime.fromisoformat(text)


class DRSRegistry:
    """DRS backends by account and region, created on first use like moto's BackendDict."""

    def __init__(self, runtime):
        self.runtime = runtime
        self._backends: dict[tuple[str, str], DRSBackend] = {}
        # Answers remembered for idempotency tokens, DRS's and moto-served services' (idempotency.py).
        self.idempotency = Store()

    def backend(self, account_id, region) -> DRSBackend:
        key = (account_id, region)
        if key not in self._backends:
            self._backends[key] = DRSBackend(self.runtime, account_id, region)
        return self._backends[key]

    def existing_backend(self, account_id, region):
        return self._backends.get((account_id, region))

    def all(self):
        return list(self._backends.values())

    def server_by_arn(self, arn):
        if not arn:
            return None
        try:
            region, account, server_id = parse_source_server_arn(arn)
        except ValidationException:
            return None
        backend = self._backends.get((account, region))
        return backend.source_servers.get(server_id) if backend else None

    def reset(self):
        self._backends.clear()
        self.idempotency.clear()
