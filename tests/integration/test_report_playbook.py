"""playbooks/report.yml against the simulator: the record of a completed failover shown on screen (every wave,
server and private IP) and written as a self-contained HTML page with a timeline; --check writes nothing and makes
no mutating call; a missing or unknown execution id is refused clearly; values from the record are HTML-escaped
(a record written directly with StateStore, with HTML in a server name and an error)."""
import os
import re
import xml.etree.ElementTree as ET

from simlib import small_estate

from .helpers import ROOT, drs, mutating, run_tool, state_tables
from .test_drs_execution import PREFIX, _tables
from .test_failover_playbook import _execution_id, _inventory


def _report(sim, tmp_path, inventory, *args):
    return run_tool("ansible-playbook", [os.path.join(ROOT, "playbooks", "report.yml"), "-i", inventory] + list(args),
                    sim.url, tmp_path, timeout=300)


def _out(proc):
    return proc.stdout[-5000:] + proc.stderr[-2000:]


def _check_self_contained(page):
    """No external reference of any kind, and the page parses (it is well-formed XHTML-compatible HTML)."""
    assert not re.search(r"https?://|@import|url\(", page, re.I), "the page refers to something outside itself"
    assert page.startswith("<!DOCTYPE html>")
    root = ET.fromstring(page[len("<!DOCTYPE html>"):])
    assert root.tag == "html" and root.find("head/style") is not None
    tags = {e.tag for e in root.iter()}
    assert not tags & {"script", "link", "img", "iframe", "object", "embed", "a"}, tags
    assert not [e.tag for e in root.iter() if {"src", "href"} & set(e.attrib) or any(a.startswith("on") for a in e.attrib)]
    return root


def _timeline_rows(root):
    timeline = [e for e in root.iter("section") if e.get("id") == "timeline"]
    assert len(timeline) == 1, "no timeline section"
    rows = [e for e in timeline[0].iter("div") if (e.get("class") or "").startswith("row ")]
    bars = [e for e in timeline[0].iter("div") if (e.get("class") or "").startswith("bar ")]
    return rows, bars


def test_report_of_a_completed_failover(sim, tmp_path):
    summary = sim.load_estate(small_estate(4, 2))
    _tables(sim)
    inventory = _inventory(tmp_path, summary)
    failover = run_tool("ansible-playbook", [os.path.join(ROOT, "playbooks", "failover.yml"), "-i", inventory],
                        sim.url, tmp_path, timeout=600)
    assert failover.returncode == 0, _out(failover)
    execution_id = _execution_id(failover)
    out_dir = tmp_path / "out"

    # --check: the report is shown, nothing is written anywhere.
    sim.clear_requests()
    checked = _report(sim, tmp_path, inventory, "-e", f"drs_execution_id={execution_id}", "-e",
                      f"drs_report_dir={out_dir}", "--check")
    assert checked.returncode == 0, _out(checked)
    assert mutating(sim) == []
    assert not out_dir.exists()
    assert f"Would write the HTML report of {execution_id} to {out_dir}/{execution_id}.html" in checked.stdout

    proc = _report(sim, tmp_path, inventory, "-e", f"drs_execution_id={execution_id}", "-e", f"drs_report_dir={out_dir}")
    assert proc.returncode == 0, _out(proc)
    assert mutating(sim) == []
    page = (out_dir / f"{execution_id}.html").read_text(encoding="utf-8")
    # On screen and in the page: every wave, server, ID and private IP, the jobs and durations.
    assert f"FAILOVER execution {execution_id}: COMPLETED" in proc.stdout
    for wave in (1, 2):
        assert f"Wave {wave}: COMPLETED, 2 server(s), took " in proc.stdout
        assert f'id="wave-{wave}"' in page
    for name, server in summary["servers"].items():
        for value in (name, server["source_server_id"], server["target_instance_id"], server["source_instance_id"]):
            assert value in proc.stdout and value in page, value
        ips = f"source {server['source_private_ip']}, target {server['target_private_ip']}, " \
              f"recovery {server['target_private_ip']}"
        assert ips in proc.stdout, ips
        assert f"recovery <code>{server['target_private_ip']}</code>" in page
    assert proc.stdout.count("    job: drsjob-") == 4 and page.count("<code>drsjob-") >= 4
    assert "Duration:" in proc.stdout and "<th>Duration</th>" in page

    root = _check_self_contained(page)
    rows, bars = _timeline_rows(root)
    assert len(rows) == 2 + 4 and len(bars) == 6  # a row and a bar per wave and per server
    lefts = {}
    for bar in bars:
        style = dict(part.split(":") for part in bar.get("style").split(";"))
        left, width = float(style["left"].rstrip("%")), float(style["width"].rstrip("%"))
        assert 0 <= left and 0 < width and left + width <= 100.01
        lefts.setdefault(bar.get("title").split(":")[0], left)
    assert lefts["Wave 1"] < lefts["Wave 2"], "wave 2 ran after wave 1"

    # The default directory is ./reports where ansible-playbook runs (not the playbook's directory).
    default = _report(sim, tmp_path, inventory, "-e", f"drs_execution_id={execution_id}")
    assert default.returncode == 0, _out(default)
    assert (tmp_path / "reports" / f"{execution_id}.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert not os.path.exists(os.path.join(ROOT, "playbooks", "reports"))


def test_report_refuses_a_missing_or_unknown_execution(sim, tmp_path, play):
    summary = sim.load_estate(small_estate(2, 1))
    _tables(sim)
    listing = play.run([drs("drs_execution_info", "render_a_listing", status="COMPLETED", table_prefix=PREFIX,
                            render=["html"], ignore_errors=True)])
    assert "render needs execution_id" in listing.failed("render_a_listing")["msg"]
    inventory = _inventory(tmp_path, summary)
    missing = _report(sim, tmp_path, inventory)
    assert missing.returncode != 0
    assert "Name the execution to report with -e drs_execution_id=<id>" in missing.stdout
    unknown = _report(sim, tmp_path, inventory, "-e", "drs_execution_id=shop-failover-nope")
    assert unknown.returncode != 0
    assert "No execution shop-failover-nope in it-state-executions" in unknown.stdout
    assert "Remediation:" in unknown.stdout
    assert not (tmp_path / "reports").exists()


def test_report_escapes_html_from_the_record(sim, tmp_path):
    summary = sim.load_estate(small_estate(2, 1))
    store = state_tables(sim, PREFIX)
    inventory = _inventory(tmp_path, summary)
    nasty = '<script>alert("db")</script> & {{ lookup(\'env\', \'HOME\') }}'
    store.put_execution({"execution_id": "exec-html", "protection_group": "shop", "execution_type": "DRILL",
                         "status": "PARTIAL", "started_at": "2026-06-15T15:00:00.000Z",
                         "ended_at": "2026-06-15T15:20:00.000Z", "duration_seconds": 1200,
                         "primary_region": "us-east-1", "recovery_region": "us-west-2", "is_drill": True})
    store.put_wave("exec-html", {"wave": 1, "status": "PARTIAL", "started_at": "2026-06-15T15:00:00.000Z",
                                 "ended_at": "2026-06-15T15:12:30.000Z", "duration_seconds": 750,
                                 "job_ids": ["drsjob-0123456789abcdef0"]})
    store.put_servers("exec-html", 1, [
        {"name": nasty, "source_server_id": "s-0123456789abcdef0", "target_instance_id": "i-0123456789abcdef0",
         "source_private_ip": "10.10.0.11", "target_private_ip": "10.10.0.11", "launch_status": "FAILED",
         "job_id": "drsjob-0123456789abcdef0",
         "error": {"error": "RecoveryError", "message": "LAUNCH_FAILED: <b>insufficient</b> capacity",
                   "server": nasty}},
        {"name": "db-02", "source_server_id": "s-0123456789abcdef1", "target_instance_id": "i-0123456789abcdef1",
         "recovery_instance_id": "i-0123456789abcdef1", "source_private_ip": "10.10.0.12",
         "target_private_ip": "10.10.0.12", "recovery_private_ip": "10.10.0.12", "ip_preserved": True,
         "launch_status": "LAUNCHED", "job_id": "drsjob-0123456789abcdef0"},
    ])
    out_dir = tmp_path / "out"
    proc = _report(sim, tmp_path, inventory, "-e", "drs_execution_id=exec-html", "-e", f"drs_report_dir={out_dir}")
    assert proc.returncode == 0, _out(proc)
    page = (out_dir / "exec-html.html").read_text(encoding="utf-8")
    root = _check_self_contained(page)
    assert "<script>" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(&quot;db&quot;)&lt;/script&gt; &amp; {{ lookup(&#x27;env&#x27;" in page
    assert "LAUNCH_FAILED: &lt;b&gt;insufficient&lt;/b&gt; capacity" in page
    # The name reaches the screen as it is, never evaluated as a template.
    assert "alert(\\\"db\\\")</script> & {{ lookup('env', 'HOME') }}: FAILED" in proc.stdout
    assert os.environ.get("HOME", "/root") + ": FAILED" not in proc.stdout
    # The error's remediation comes from its class when the record kept only the class and message.
    assert "Remediation: Read the job log entry in the details (rawError)" in proc.stdout
    assert page.count('class="remedy"') == 1
    rows, bars = _timeline_rows(root)
    assert len(rows) == 3 and len(bars) == 3
    wave_bar = [b for b in bars if b.get("title").startswith("Wave 1")][0]
    assert wave_bar.get("style") == "left:0.00%;width:62.50%"  # 12.5 of the run's 20 minutes
    assert "took 12m 30s" in proc.stdout and "Duration:         20m 00s" in proc.stdout
