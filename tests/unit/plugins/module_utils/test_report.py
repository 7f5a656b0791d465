# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The report of an execution record: text for the screen and a self-contained, escaped HTML page with a timeline."""

import datetime
import re
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.elasticdr.orchestration.plugins.module_utils.execution_report import describe_execution
from ansible_collections.elasticdr.orchestration.plugins.module_utils.report import error_view
from ansible_collections.elasticdr.orchestration.plugins.module_utils.report import file_name
from ansible_collections.elasticdr.orchestration.plugins.module_utils.report import human_duration
from ansible_collections.elasticdr.orchestration.plugins.module_utils.report import render
from ansible_collections.elasticdr.orchestration.plugins.module_utils.report import render_html
from ansible_collections.elasticdr.orchestration.plugins.module_utils.report import render_text
from ansible_collections.elasticdr.orchestration.plugins.module_utils.report import report_view
from ansible_collections.elasticdr.orchestration.plugins.module_utils.report import status_class

NOW = datetime.datetime(2026, 6, 15, 16, 0, 0, tzinfo=datetime.timezone.utc)
NASTY = '<img src=x onerror="alert(1)"> & db'


def _server(name, wave, status, **extra):
    return dict({"execution_id": "exec-1", "record_key": f"SERVER#{wave:04d}#{name}", "wave": wave, "name": name,
                 "launch_status": status}, **extra)


def _record(status="COMPLETED", ended="2026-06-15T15:40:00.000Z"):
    execution = {"execution_id": "exec-1", "record_key": "EXECUTION", "protection_group": "shop",
                 "execution_type": "FAILOVER", "status": status, "started_at": "2026-06-15T15:00:00.000Z",
                 "primary_region": "us-east-1", "recovery_region": "us-west-2", "operator": "alice",
                 "resume_count": 1, "resumed_at": "2026-06-15T15:20:00.000Z"}
    if ended:
        execution["ended_at"] = ended
    return {
        "execution": execution,
        "waves": {
            1: {"wave": 1, "status": "COMPLETED", "started_at": "2026-06-15T15:00:00.000Z",
                "ended_at": "2026-06-15T15:10:00.000Z", "duration_seconds": 600, "job_ids": ["drsjob-0123456789abcdef0"]},
            2: {"wave": 2, "status": "PARTIAL", "started_at": "2026-06-15T15:20:00.000Z",
                "ended_at": "2026-06-15T15:40:00.000Z", "job_ids": ["drsjob-0123456789abcdef1"],
                "error": {"error": "RecoveryError", "message": "1 server failed"}},
        },
        "servers": {
            1: {"db-01": _server("db-01", 1, "LAUNCHED", source_server_id="s-0123456789abcdef0",
                                 source_instance_id="i-0000000000000000a", target_instance_id="i-0000000000000000b",
                                 recovery_instance_id="i-0000000000000000b", source_private_ip="10.0.0.1",
                                 target_private_ip="10.0.0.1", recovery_private_ip="10.0.0.1", ip_preserved=True,
                                 job_id="drsjob-0123456789abcdef0")},
            2: {NASTY: _server(NASTY, 2, "FAILED", source_server_id="s-0123456789abcdef1",
                               error={"error": "RecoveryError", "message": "LAUNCH_FAILED: <b>no capacity</b>",
                                      "remediation": "Pick <another> type"},
                               started_at="2026-06-15T15:25:00.000Z", ended_at="2026-06-15T15:35:00.000Z"),
                "web-01": _server("web-01", 2, "LAUNCHED", ip_preserved=False, recovery_private_ip="10.0.9.9",
                                  target_private_ip="10.0.0.3")},
        },
    }


def _page(record=None):
    return render_html(describe_execution(record or _record(), now=NOW), now=NOW)


def _bars(page):
    root = ET.fromstring(page[len("<!DOCTYPE html>"):])
    out = {}
    for div in root.iter("div"):
        if (div.get("class") or "").startswith("bar "):
            style = dict(part.split(":") for part in div.get("style").split(";"))
            out[div.get("title")] = (float(style["left"].rstrip("%")), float(style["width"].rstrip("%")),
                                     div.get("class"))
    return out


@pytest.mark.parametrize("seconds, text", [(None, "-"), (0, "0s"), (42.4, "42s"), (250, "4m 10s"),
                                           (3723, "1h 02m 03s")])
def test_human_duration(seconds, text):
    assert human_duration(seconds) == text


def test_file_name_keeps_the_id_and_neutralises_paths():
    assert file_name("shop-failover-20260615T150000Z-42") == "shop-failover-20260615T150000Z-42.html"
    assert file_name("../../etc/passwd") == "_.._etc_passwd.html"
    assert file_name("") == "execution.html"


def test_status_classes_never_come_from_the_record():
    assert status_class("COMPLETED") == "good" and status_class("FAILED") == "bad"
    assert status_class("RUNNING") == "running" and status_class('x" onclick="y') == "other"


def test_errors_get_a_remediation_from_their_class_when_the_record_has_none():
    assert error_view({"error": "RecoveryError", "message": "boom"})["remediation"].startswith("Read the job log")
    assert error_view({"error": "Custom", "message": "boom", "remediation": "do this"})["remediation"] == "do this"
    assert error_view("plain text") == {"kind": "Error", "message": "plain text", "remediation": None}
    assert error_view(None) is None


def test_text_shows_every_wave_server_id_ip_job_error_and_duration():
    lines = render_text(describe_execution(_record(), now=NOW), now=NOW)
    text = "\n".join(lines)
    assert lines[0] == "FAILOVER execution exec-1: COMPLETED"
    assert "  Duration:         40m 00s" in lines and "  Regions:          us-east-1 -> us-west-2" in lines
    assert "  Resumed:          1 time(s), last at 2026-06-15T15:20:00.000Z" in lines
    assert "  Servers:          3 in 2 wave(s): FAILED 1, LAUNCHED 2" in lines
    assert ("Wave 1: COMPLETED, 1 server(s), took 10m 00s (2026-06-15T15:00:00.000Z -> 2026-06-15T15:10:00.000Z), "
            "jobs drsjob-0123456789abcdef0") in lines
    assert "  db-01: LAUNCHED, IP kept" in lines
    assert ("    IDs: source server s-0123456789abcdef0, source instance i-0000000000000000a, target instance "
            "i-0000000000000000b, recovery instance i-0000000000000000b") in lines
    assert "    private IPs: source 10.0.0.1, target 10.0.0.1, recovery 10.0.0.1" in lines
    assert "    job: drsjob-0123456789abcdef0" in lines
    assert "  ERROR (RecoveryError): 1 server failed" in lines  # the wave's error
    assert f"  {NASTY}: FAILED, took 10m 00s" in lines  # a server with times of its own
    assert "    ERROR (RecoveryError): LAUNCH_FAILED: <b>no capacity</b>" in lines
    assert "      Remediation: Pick <another> type" in lines
    assert "  web-01: LAUNCHED, IP CHANGED" in lines
    assert "private IPs: source -, target 10.0.0.3, recovery 10.0.9.9" in text


def test_html_is_self_contained_parses_and_escapes_everything():
    page = _page()
    assert not re.search(r"https?://|@import|url\(", page, re.I)
    root = ET.fromstring(page[len("<!DOCTYPE html>"):])
    tags = {e.tag for e in root.iter()}
    assert not tags & {"script", "link", "img", "iframe", "object", "embed", "a"}, tags
    assert not [e for e in root.iter() if {"src", "href"} & set(e.attrib) or any(a.startswith("on") for a in e.attrib)]
    assert root.find("head/style") is not None and root.find("head/title").text == "FAILOVER execution exec-1"
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; db" in page
    assert "LAUNCH_FAILED: &lt;b&gt;no capacity&lt;/b&gt;" in page and "Pick &lt;another&gt; type" in page
    cells = [td for td in root.iter("td") if td.text == NASTY]
    assert len(cells) == 1, "the name reads back exactly once the page is parsed"
    assert [s.get("id") for s in root.iter("section")] == ["timeline", "wave-1", "wave-2"]


def test_timeline_bars_are_placed_by_start_and_end():
    bars = _bars(_page())
    # The run spans 15:00 -> 15:40: wave 1 is its first quarter, wave 2 its second half.
    wave1 = [v for k, v in bars.items() if k.startswith("Wave 1:")][0]
    wave2 = [v for k, v in bars.items() if k.startswith("Wave 2:")][0]
    assert wave1[:2] == (0.0, 25.0) and wave2[:2] == (50.0, 50.0)
    assert "good" in wave1[2] and "bad" in wave2[2]
    # A server with its own times is placed by them; one without takes its wave's, drawn as inherited.
    assert bars[f"{NASTY}: FAILED"][:2] == (62.5, 25.0)
    assert bars["web-01: LAUNCHED (times of its wave)"][:2] == (50.0, 50.0)
    assert "inherited" in bars["web-01: LAUNCHED (times of its wave)"][2]
    assert len(bars) == 2 + 3


def test_a_running_execution_is_drawn_up_to_now_and_a_record_without_times_draws_nothing():
    record = _record(status="RUNNING", ended=None)
    record["waves"][2] = {"wave": 2, "status": "RUNNING", "started_at": "2026-06-15T15:20:00.000Z"}
    bars = _bars(_page(record))
    wave2 = [v for k, v in bars.items() if k.startswith("Wave 2:")][0]
    assert wave2[:2] == (33.33, 66.67)  # 15:20 -> now (16:00) of 15:00 -> 16:00
    view = report_view(describe_execution(record, now=NOW), now=NOW)
    assert ("Ended", "still running") in view["facts"]

    bare = {"execution": {"execution_id": "exec-2", "status": "PENDING"}, "waves": {}, "servers": {}}
    page = _page(bare)
    assert "No start or end time recorded" in page and "No wave recorded." in page
    assert render_text(describe_execution(bare, now=NOW), now=NOW)[-1] == "No wave recorded."


def test_render_gives_the_formats_asked_and_a_file_name():
    described = describe_execution(_record(), now=NOW)
    assert set(render(described, ["text"], now=NOW)) == {"text", "file_name"}
    both = render(described, ["text", "html"], now=NOW)
    assert both["file_name"] == "exec-1.html" and both["html"].startswith("<!DOCTYPE html>")
    assert both["text"][0] == "FAILOVER execution exec-1: COMPLETED"
