# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Records validate themselves, name the field at fault and round-trip through plain dicts."""

import datetime

import pytest

from ansible_collections.elasticdr.orchestration.plugins.module_utils import models
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ValidationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.models import FailbackState
from ansible_collections.elasticdr.orchestration.plugins.module_utils.models import InstancePair
from ansible_collections.elasticdr.orchestration.plugins.module_utils.models import RecoveryExecution
from ansible_collections.elasticdr.orchestration.plugins.module_utils.models import ServerRecord
from ansible_collections.elasticdr.orchestration.plugins.module_utils.models import WaveRecord

SID = "s-0123456789abcdef0"
IID = "i-0123456789abcdef0"
TID = "i-0fedcba9876543210"
JOB = "drsjob-0123456789abcdef0"


def pair(**changes):
    data = {"protection_group": "payments", "name": "web-01", "source_server_id": SID, "source_instance_id": IID,
            "target_instance_id": TID, "source_private_ip": "10.0.1.10", "target_private_ip": "10.1.1.10",
            "source_account_id": "111111111111", "target_account_id": "222222222222", "source_region": "us-east-1",
            "recovery_region": "us-west-2", "staging_account_id": "333333333333", "wave": 1, "match_tag": "Name",
            "matched_by": "tag", "created_at": "2026-06-15T15:00:00.000Z"}
    data.update(changes)
    return data


def server(**changes):
    data = {"name": "web-01", "source_server_id": SID, "target_instance_id": TID, "recovery_instance_id": TID,
            "target_private_ip": "10.1.1.10", "recovery_private_ip": "10.1.1.10", "job_id": JOB,
            "launch_status": "LAUNCHED", "ip_preserved": True}
    data.update(changes)
    return data


def wave(**changes):
    data = {"wave": 1, "status": "COMPLETED", "job_ids": [JOB], "servers": {SID: server()},
            "counts": {"launched": 1}, "duration_seconds": 600}
    data.update(changes)
    return data


def execution(**changes):
    data = {"execution_id": "failover-2026-06-15", "protection_group": "payments", "execution_type": "FAILOVER",
            "status": "COMPLETED", "primary_region": "us-east-1", "recovery_region": "us-west-2",
            "account_id": "222222222222", "waves": {"1": wave()}, "is_drill": False, "ttl": 1900000000}
    data.update(changes)
    return data


def failback(**changes):
    data = {"source_server_id": SID, "protection_group": "payments", "execution_id": "failback-1", "name": "web-01",
            "original_instance_id": IID, "original_instance_private_ip": "10.0.1.10", "recovery_instance_id": TID,
            "recovery_instance_private_ip": "10.1.1.10", "reversed_source_server_id": "s-0aaaaaaaaaaaaaaaa",
            "staging_account_id": "333333333333", "replication_state": "CONTINUOUS", "lag_seconds": 4.0,
            "status": "READY"}
    data.update(changes)
    return data


BUILDERS = [(InstancePair, pair), (ServerRecord, server), (WaveRecord, wave), (RecoveryExecution, execution),
            (FailbackState, failback)]


@pytest.mark.parametrize("cls,build", BUILDERS, ids=lambda x: getattr(x, "__name__", ""))
def test_round_trip(cls, build):
    data = build()
    record = cls.from_dict(data)
    assert record.to_dict() == data
    assert cls.from_dict(record.to_dict()) == record


@pytest.mark.parametrize("cls,build", BUILDERS, ids=lambda x: getattr(x, "__name__", ""))
def test_to_dict_omits_unset_fields_and_from_dict_ignores_unknown_keys(cls, build):
    data = build(extra_column="from a newer version")
    record = cls.from_dict(data)
    assert "extra_column" not in record.to_dict()
    assert all(value is not None for value in record.to_dict().values())


def test_constructor_refuses_unknown_fields():
    with pytest.raises(ValidationError) as info:
        InstancePair(name="x", colour="blue")
    assert "colour" in info.value.message
    assert "protection_group" in info.value.remediation


def _fields(error):
    return {f["field"] for f in error.details["fields"]}


@pytest.mark.parametrize("field,value", [
    ("protection_group", "bad group!"),
    ("protection_group", None),
    ("name", "   "),
    ("source_server_id", "s-123"),
    ("source_server_id", None),
    ("target_instance_id", "instance-1"),
    ("target_instance_id", None),
    ("source_instance_id", "i-xyz"),
    ("source_account_id", "1234"),
    ("target_account_id", "12345678901a"),
    ("staging_account_id", "1"),
    ("source_region", "useast1"),
    ("recovery_region", "US-WEST-2"),
    ("source_private_ip", "10.0.0.300"),
    ("target_private_ip", "not-an-ip"),
    ("wave", -1),
    ("wave", True),
    ("wave", "1"),
])
def test_instance_pair_names_the_bad_field(field, value):
    with pytest.raises(ValidationError) as info:
        InstancePair.from_dict(pair(**{field: value}))
    assert _fields(info.value) == {field}
    assert field in info.value.message
    assert info.value.server == pair()["name"] or field == "name"


def test_instance_pair_reports_every_bad_field_at_once():
    with pytest.raises(ValidationError) as info:
        InstancePair.from_dict(pair(source_server_id="x", target_instance_id="y", target_private_ip="z"))
    assert _fields(info.value) == {"source_server_id", "target_instance_id", "target_private_ip"}
    assert info.value.to_dict()["remediation"].startswith("Correct the named fields")


def test_instance_pair_optional_fields_may_be_absent_and_ipv6_is_accepted():
    minimal = {"protection_group": "pg", "name": "a", "source_server_id": SID, "target_instance_id": TID,
               "source_private_ip": "fd00::10"}
    assert InstancePair.from_dict(minimal).key == {"protection_group": "pg", "source_server_id": SID}


@pytest.mark.parametrize("field,value", [
    ("name", ""), ("source_server_id", "s-1"), ("recovery_instance_id", "x"), ("target_instance_id", "i-1"),
    ("recovery_private_ip", "999.1.1.1"), ("job_id", "job-1"),
])
def test_server_record_names_the_bad_field(field, value):
    with pytest.raises(ValidationError) as info:
        ServerRecord.from_dict(server(**{field: value}))
    assert _fields(info.value) == {field}


@pytest.mark.parametrize("field,value", [("wave", "1"), ("wave", False), ("status", "DONE"), ("job_ids", ["x"])])
def test_wave_record_names_the_bad_field(field, value):
    with pytest.raises(ValidationError) as info:
        WaveRecord.from_dict(wave(**{field: value}))
    assert _fields(info.value) == {field}


def test_wave_record_validates_its_servers():
    with pytest.raises(ValidationError) as info:
        WaveRecord.from_dict(wave(servers={SID: server(recovery_private_ip="nope")}))
    assert _fields(info.value) == {"recovery_private_ip"}
    assert info.value.server == "web-01"


@pytest.mark.parametrize("field,value", [
    ("execution_id", "ab"), ("execution_id", "x" * 129), ("protection_group", "-leading-dash"),
    ("execution_type", "RESTORE"), ("status", "DONE"), ("primary_region", "nowhere"),
])
def test_recovery_execution_names_the_bad_field(field, value):
    with pytest.raises(ValidationError) as info:
        RecoveryExecution.from_dict(execution(**{field: value}))
    assert _fields(info.value) == {field}


def test_recovery_execution_validates_nested_waves_and_servers():
    bad = execution(waves={"1": wave(servers={SID: server(job_id="nope")})})
    with pytest.raises(ValidationError) as info:
        RecoveryExecution.from_dict(bad)
    assert _fields(info.value) == {"job_id"}
    with pytest.raises(ValidationError) as info:
        RecoveryExecution.from_dict(execution(waves={"2": wave(wave=2, status="UNKNOWN")}))
    assert _fields(info.value) == {"status"}


@pytest.mark.parametrize("field,value", [
    ("source_server_id", None), ("reversed_source_server_id", "s-x"), ("original_instance_id", "i-zz"),
    ("recovery_instance_private_ip", "1.2.3"), ("staging_account_id", "abc"), ("status", None),
    ("status", "WAITING"),
])
def test_failback_state_names_the_bad_field(field, value):
    with pytest.raises(ValidationError) as info:
        FailbackState.from_dict(failback(**{field: value}))
    assert _fields(info.value) == {field}


def test_records_compare_by_content_and_type():
    assert ServerRecord.from_dict(server()) == ServerRecord.from_dict(server())
    assert ServerRecord.from_dict(server()) != ServerRecord.from_dict(server(launch_status="FAILED"))
    assert ServerRecord(name="a") != InstancePair(name="a")


def test_iso_is_utc_with_milliseconds_and_z():
    tz = datetime.timezone(datetime.timedelta(hours=2))
    value = datetime.datetime(2026, 6, 15, 17, 0, 1, 234567, tzinfo=tz)
    assert models.iso(value) == "2026-06-15T15:00:01.234Z"
    assert models.iso().endswith("Z")


def test_ttl_epoch_is_days_after_now():
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    assert models.ttl_epoch(days=1, now=now) == int(now.timestamp()) + 86400
    assert models.ttl_epoch(now=now) == int(now.timestamp()) + models.TTL_DAYS * 86400
