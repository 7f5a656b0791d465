# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The records the collection keeps: instance pairs, recovery executions (per wave and server) and
failback state. Each validates itself and round-trips through plain dicts (what DynamoDB stores and what
modules return)."""

import datetime
import ipaddress
import re

from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ValidationError

SOURCE_SERVER_ID = re.compile(r"^s-[0-9a-zA-Z]{17}$")
INSTANCE_ID = re.compile(r"^i-[0-9a-fA-F]{8,}$")
ACCOUNT_ID = re.compile(r"^[0-9]{12}$")
REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-[0-9]$")
JOB_ID = re.compile(r"^drsjob-[0-9a-zA-Z]{17}$")
PROTECTION_GROUP = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")

EXECUTION_TYPES = ("FAILOVER", "FAILBACK", "DRILL", "DRILL_CLEANUP")
EXECUTION_STATUSES = ("PENDING", "RUNNING", "COMPLETED", "PARTIAL", "FAILED", "TIMED_OUT", "CANCELLED")
WAVE_STATUSES = ("PENDING", "RUNNING", "COMPLETED", "PARTIAL", "FAILED", "TIMED_OUT", "SKIPPED")
FAILBACK_STATUSES = ("NOT_STARTED", "REPLICATING", "READY", "LAUNCHING", "COMPLETED", "FAILED", "BLOCKED")
TTL_DAYS = 90


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def iso(value=None):
    value = value or utc_now()
    return value.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def ttl_epoch(days=TTL_DAYS, now=None):
    return int(((now or utc_now()) + datetime.timedelta(days=days)).timestamp())


def _require(errors, condition, field, message):
    if not condition:
        errors.append({"field": field, "message": message})


def _check_pattern(errors, value, pattern, field, what, required=True):
    if value is None:
        _require(errors, not required, field, f"{field} is required")
        return
    _require(errors, isinstance(value, str) and pattern.match(value), field, f"{field} {value!r} is not {what}")


def _check_ip(errors, value, field, required=False):
    if value is None:
        _require(errors, not required, field, f"{field} is required")
        return
    try:
        ipaddress.ip_address(value)
    except ValueError:
        errors.append({"field": field, "message": f"{field} {value!r} is not an IP address"})


def _raise(errors, what, server=None):
    if errors:
        raise ValidationError(
            f"Invalid {what}: " + "; ".join(e["message"] for e in errors), server=server,
            details={"fields": errors},
            remediation="Correct the named fields; IDs must look like s-<17 hex>, i-<hex>, drsjob-<17 hex>.")


class _Record:
    FIELDS = ()

    def __init__(self, **values):
        unknown = set(values) - set(self.FIELDS)
        if unknown:
            raise ValidationError(f"Unknown field(s) for {type(self).__name__}: {', '.join(sorted(unknown))}.",
                                  remediation=f"Known fields: {', '.join(self.FIELDS)}.")
        for field in self.FIELDS:
            setattr(self, field, values.get(field))

    def to_dict(self):
        return {f: getattr(self, f) for f in self.FIELDS if getattr(self, f) is not None}

    @classmethod
    def from_dict(cls, data):
        record = cls(**{k: v for k, v in (data or {}).items() if k in cls.FIELDS})
        record.validate()
        return record

    def __eq__(self, other):
        return type(self) is type(other) and self.to_dict() == other.to_dict()


class InstancePair(_Record):
    """A protection group's pairing of a source server with its launch-into target (the config table)."""

    FIELDS = ("protection_group", "name", "source_server_id", "source_instance_id", "target_instance_id",
              "source_private_ip", "target_private_ip", "source_account_id", "target_account_id", "source_region",
              "recovery_region", "staging_account_id", "wave", "match_tag", "matched_by", "created_at", "updated_at")

    def validate(self):
        errors = []
        _require(errors, isinstance(self.protection_group, str) and PROTECTION_GROUP.match(self.protection_group or ""),
                 "protection_group", f"protection_group {self.protection_group!r} must be 1-128 letters, digits, . _ -")
        _require(errors, isinstance(self.name, str) and self.name.strip() != "", "name", "name is required")
        _check_pattern(errors, self.source_server_id, SOURCE_SERVER_ID, "source_server_id", "a source server ID")
        _check_pattern(errors, self.target_instance_id, INSTANCE_ID, "target_instance_id", "an instance ID")
        _check_pattern(errors, self.source_instance_id, INSTANCE_ID, "source_instance_id", "an instance ID", False)
        for field in ("source_account_id", "target_account_id", "staging_account_id"):
            _check_pattern(errors, getattr(self, field), ACCOUNT_ID, field, "a 12-digit account ID", False)
        for field in ("source_region", "recovery_region"):
            _check_pattern(errors, getattr(self, field), REGION, field, "a region name", False)
        _check_ip(errors, self.source_private_ip, "source_private_ip")
        _check_ip(errors, self.target_private_ip, "target_private_ip")
        if self.wave is not None:
            _require(errors, isinstance(self.wave, int) and not isinstance(self.wave, bool) and self.wave >= 0,
                     "wave", f"wave {self.wave!r} must be a non-negative integer")
        _raise(errors, "instance pair", self.name)
        return self

    @property
    def key(self):
        return {"protection_group": self.protection_group, "source_server_id": self.source_server_id}


class ServerRecord(_Record):
    """One server within one wave of an execution."""

    FIELDS = ("name", "source_server_id", "source_instance_id", "target_instance_id", "recovery_instance_id",
              "source_private_ip", "target_private_ip", "recovery_private_ip", "staging_account_id", "job_id",
              "launch_status", "ip_preserved", "error", "started_at", "ended_at", "reversed_source_server_id",
              "replication_state", "lag_seconds")

    def validate(self):
        errors = []
        _require(errors, isinstance(self.name, str) and self.name, "name", "name is required")
        _check_pattern(errors, self.source_server_id, SOURCE_SERVER_ID, "source_server_id", "a source server ID",
                       required=False)
        for field in ("source_instance_id", "target_instance_id", "recovery_instance_id"):
            _check_pattern(errors, getattr(self, field), INSTANCE_ID, field, "an instance ID", False)
        for field in ("source_private_ip", "target_private_ip", "recovery_private_ip"):
            _check_ip(errors, getattr(self, field), field)
        _check_pattern(errors, self.job_id, JOB_ID, "job_id", "a DRS job ID", False)
        _raise(errors, "server record", self.name)
        return self


class WaveRecord(_Record):
    FIELDS = ("wave", "status", "started_at", "ended_at", "job_ids", "servers", "counts", "error", "duration_seconds")

    def validate(self):
        errors = []
        _require(errors, isinstance(self.wave, int) and not isinstance(self.wave, bool), "wave",
                 f"wave {self.wave!r} must be an integer")
        _require(errors, self.status in WAVE_STATUSES, "status", f"status {self.status!r} is not one of {WAVE_STATUSES}")
        for job_id in self.job_ids or []:
            _check_pattern(errors, job_id, JOB_ID, "job_ids", "a DRS job ID")
        _raise(errors, f"wave {self.wave} record")
        for server in (self.servers or {}).values():
            ServerRecord.from_dict(server)
        return self


class RecoveryExecution(_Record):
    """One run of failover, failback, drill or drill clean-up (the executions table)."""

    FIELDS = ("execution_id", "protection_group", "execution_type", "status", "started_at", "ended_at",
              "primary_region", "recovery_region", "account_id", "waves", "is_drill", "check_mode", "error",
              "ttl", "updated_at", "operator")

    def validate(self):
        errors = []
        _require(errors, isinstance(self.execution_id, str) and 3 <= len(self.execution_id or "") <= 128,
                 "execution_id", "execution_id must be 3-128 characters")
        _require(errors, isinstance(self.protection_group, str) and PROTECTION_GROUP.match(self.protection_group or ""),
                 "protection_group", f"protection_group {self.protection_group!r} must be 1-128 letters, digits, . _ -")
        _require(errors, self.execution_type in EXECUTION_TYPES, "execution_type",
                 f"execution_type {self.execution_type!r} is not one of {EXECUTION_TYPES}")
        _require(errors, self.status in EXECUTION_STATUSES, "status",
                 f"status {self.status!r} is not one of {EXECUTION_STATUSES}")
        for field in ("primary_region", "recovery_region"):
            _check_pattern(errors, getattr(self, field), REGION, field, "a region name", False)
        _raise(errors, "recovery execution", self.execution_id)
        for wave in (self.waves or {}).values():
            WaveRecord.from_dict(wave)
        return self


class FailbackState(_Record):
    """Per original server: what failback needs and how far it got (the failback table)."""

    FIELDS = ("source_server_id", "protection_group", "execution_id", "name", "original_instance_id",
              "original_instance_private_ip", "recovery_instance_id", "recovery_instance_private_ip",
              "reversed_source_server_id", "reversed_source_server_arn", "staging_account_id", "replication_state",
              "lag_seconds", "private_ip_validated", "status", "error", "updated_at", "ttl")

    def validate(self):
        errors = []
        _check_pattern(errors, self.source_server_id, SOURCE_SERVER_ID, "source_server_id", "a source server ID")
        _check_pattern(errors, self.reversed_source_server_id, SOURCE_SERVER_ID, "reversed_source_server_id",
                       "a source server ID", False)
        for field in ("original_instance_id", "recovery_instance_id"):
            _check_pattern(errors, getattr(self, field), INSTANCE_ID, field, "an instance ID", False)
        for field in ("original_instance_private_ip", "recovery_instance_private_ip"):
            _check_ip(errors, getattr(self, field), field)
        _check_pattern(errors, self.staging_account_id, ACCOUNT_ID, "staging_account_id", "a 12-digit account ID", False)
        _require(errors, self.status in FAILBACK_STATUSES, "status",
                 f"status {self.status!r} is not one of {FAILBACK_STATUSES}")
        _raise(errors, "failback state", self.source_server_id)
        return self
