# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""An execution record read back for operators: waves in order, servers by name, counts and durations."""

import datetime

import pytest

from ansible_collections.elasticdr.orchestration.plugins.module_utils.execution_report import describe_execution
from ansible_collections.elasticdr.orchestration.plugins.module_utils.execution_report import duration
from ansible_collections.elasticdr.orchestration.plugins.module_utils.execution_report import list_executions
from ansible_collections.elasticdr.orchestration.plugins.module_utils.execution_report import parse_time

NOW = datetime.datetime(2026, 6, 15, 16, 0, 0, tzinfo=datetime.timezone.utc)


def _server(name, wave, status, **extra):
    return dict({"execution_id": "exec-1", "record_key": f"SERVER#{wave:04d}#{name}", "wave": wave, "name": name,
                 "launch_status": status}, **extra)


def _record():
    return {
        "execution": {"execution_id": "exec-1", "record_key": "EXECUTION", "protection_group": "shop",
                      "status": "RUNNING", "started_at": "2026-06-15T15:00:00.000Z"},
        "waves": {
            2: {"execution_id": "exec-1", "record_key": "WAVE#0002", "wave": 2, "status": "RUNNING",
                "started_at": "2026-06-15T15:30:00.000Z"},
            1: {"execution_id": "exec-1", "record_key": "WAVE#0001", "wave": 1, "status": "PARTIAL",
                "started_at": "2026-06-15T15:00:00.000Z", "ended_at": "2026-06-15T15:10:00.500Z",
                "job_ids": ["drsjob-0123456789abcdef0"]},
        },
        "servers": {
            1: {"web-02": _server("web-02", 1, "FAILED", error={"message": "boom"}),
                "app-01": _server("app-01", 1, "LAUNCHED", recovery_instance_id="i-0123456789abcdef0"),
                "web-01": _server("web-01", 1, "LAUNCHED")},
            2: {"db-01": _server("db-01", 2, "IN_PROGRESS")},
            # servers recorded for a wave whose own item is missing still show up
            3: {"cache-01": {"execution_id": "exec-1", "record_key": "SERVER#0003#cache-01", "wave": 3,
                             "name": "cache-01"}},
        },
    }


def test_waves_in_order_with_servers_by_name_and_without_table_keys():
    report = describe_execution(_record(), now=NOW)
    assert [w["wave"] for w in report["waves"]] == [1, 2, 3]
    assert [s["name"] for s in report["waves"][0]["servers"]] == ["app-01", "web-01", "web-02"]
    assert report["waves"][0]["servers"][0]["recovery_instance_id"] == "i-0123456789abcdef0"
    assert report["waves"][0]["servers"][2]["error"] == {"message": "boom"}
    assert report["waves"][0]["job_ids"] == ["drsjob-0123456789abcdef0"]
    assert report["waves"][2].get("status") is None and report["waves"][2]["servers"][0]["name"] == "cache-01"
    assert "record_key" not in report["execution"] and report["execution"]["execution_id"] == "exec-1"
    for wave in report["waves"]:
        assert "record_key" not in wave and "execution_id" not in wave
        assert all("record_key" not in s and "execution_id" not in s for s in wave["servers"])


def test_counts_per_launch_status_overall_and_per_wave_and_durations():
    summary = describe_execution(_record(), now=NOW)["summary"]
    assert summary["launch_status"] == {"FAILED": 1, "IN_PROGRESS": 1, "LAUNCHED": 2, "UNKNOWN": 1}
    assert summary["servers"] == 5 and summary["wave_count"] == 3 and summary["status"] == "RUNNING"
    first, second, third = summary["waves"]
    assert first == {"wave": 1, "status": "PARTIAL", "servers": 3, "launch_status": {"FAILED": 1, "LAUNCHED": 2},
                     "duration_seconds": 600.5, "in_progress": False}
    assert (second["duration_seconds"], second["in_progress"]) == (1800.0, True)  # running: until now
    assert (third["duration_seconds"], third["launch_status"]) == (None, {"UNKNOWN": 1})
    assert (summary["duration_seconds"], summary["in_progress"]) == (3600.0, True)


@pytest.mark.parametrize("item,expected", [
    ({"status": "COMPLETED", "duration_seconds": 42}, (42, False)),
    ({"status": "COMPLETED", "started_at": "2026-06-15T15:00:00.000Z", "ended_at": "2026-06-15T15:00:01.250Z"},
     (1.25, False)),
    ({"status": "FAILED", "started_at": "2026-06-15T15:00:00.000Z"}, (None, False)),
    ({"status": "PENDING", "started_at": "2026-06-15T15:59:00.000Z"}, (60.0, True)),
    ({"status": "RUNNING", "started_at": "not a time"}, (None, True)),
    ({"status": "RUNNING", "duration_seconds": True, "started_at": "2026-06-15T15:59:30.000Z"}, (30.0, True)),
])
def test_duration(item, expected):
    assert duration(item, NOW) == expected


def test_parse_time():
    assert parse_time("2026-06-15T15:00:00.000Z") == datetime.datetime(2026, 6, 15, 15, tzinfo=datetime.timezone.utc)
    assert parse_time("2026-06-15T15:00:00") == datetime.datetime(2026, 6, 15, 15, tzinfo=datetime.timezone.utc)
    assert parse_time("") is None and parse_time(None) is None and parse_time("yesterday") is None


def test_list_executions_filters_by_group_and_puts_the_newest_first():
    items = [
        {"execution_id": "a", "record_key": "EXECUTION", "execution_status": "RUNNING", "protection_group": "shop",
         "started_at": "2026-06-15T10:00:00.000Z"},
        {"execution_id": "b", "record_key": "EXECUTION", "execution_status": "RUNNING", "protection_group": "other",
         "started_at": "2026-06-15T11:00:00.000Z"},
        {"execution_id": "c", "record_key": "EXECUTION", "execution_status": "RUNNING", "protection_group": "shop",
         "started_at": "2026-06-15T12:00:00.000Z"},
    ]
    listed = list_executions(items, "shop")
    assert [e["execution_id"] for e in listed] == ["c", "a"]
    assert listed[0]["status"] == "RUNNING" and "execution_status" not in listed[0] and "record_key" not in listed[0]
    assert [e["execution_id"] for e in list_executions(items)] == ["c", "b", "a"]
    assert list_executions([], "shop") == []
