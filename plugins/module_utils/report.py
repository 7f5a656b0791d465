# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The record of an execution rendered for people: lines for the screen and a self-contained HTML page.

Both are drawn from one view (report_view) of what execution_report.describe_execution returns, so the
screen and the page never disagree. The page has no external reference of any kind (inline CSS, no script,
no font, no image) so it can be mailed, attached to a ticket or opened on an air-gapped bastion; every value
from the record is HTML-escaped, since server names and error messages come from tags and from AWS.
"""

import html
import re

from ansible_collections.elasticdr.orchestration.plugins.module_utils import exceptions
from ansible_collections.elasticdr.orchestration.plugins.module_utils.execution_report import duration
from ansible_collections.elasticdr.orchestration.plugins.module_utils.execution_report import parse_time
from ansible_collections.elasticdr.orchestration.plugins.module_utils.models import iso
from ansible_collections.elasticdr.orchestration.plugins.module_utils.models import utc_now

# Remediation of the collection's errors by class name, for records that kept only the class and message.
REMEDIATIONS = {cls.__name__: cls.remediation for cls in vars(exceptions).values()
                if isinstance(cls, type) and issubclass(cls, exceptions.DROrchestrationError)}
GOOD = ("COMPLETED", "LAUNCHED", "CLEANED", "NOTHING_TO_CLEAN", "WOULD_LAUNCH", "WOULD_CLEAN")
BAD = ("FAILED", "TIMED_OUT", "PARTIAL", "NOT_MATCHED", "CANCELLED")
MIN_BAR_PERCENT = 0.6


def human_duration(seconds):
    """42 -> '42s', 250 -> '4m 10s', 3723 -> '1h 02m 03s'; None -> '-'."""
    if seconds is None:
        return "-"
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def file_name(execution_id):
    """A file name for the execution's page: anything but letters, digits, '.', '_' and '-' becomes '_'."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", str(execution_id or "")).strip(".")
    return (safe or "execution") + ".html"


def status_class(status):
    """A CSS class for a status: good, bad, running or other (never a value taken from the record)."""
    if status in GOOD:
        return "good"
    if status in BAD:
        return "bad"
    if status in ("RUNNING", "PENDING", "IN_PROGRESS"):
        return "running"
    return "other"


def error_view(error):
    """{kind, message, remediation} of a recorded error (a dict from DROrchestrationError.to_dict, or text)."""
    if not error:
        return None
    if not isinstance(error, dict):
        return {"kind": "Error", "message": str(error), "remediation": None}
    kind = error.get("error") or "Error"
    message = error.get("message") or error.get("msg") or ", ".join(f"{k}={v}" for k, v in sorted(error.items()))
    remediation = error.get("remediation") or REMEDIATIONS.get(kind)
    return {"kind": kind, "message": str(message), "remediation": remediation}


def _span(item, fallback=None, now=None):
    """(start, end, inherited) datetimes of a wave or server; a server without times of its own takes its
    wave's. A running item ends now."""
    start, end = parse_time(item.get("started_at")), parse_time(item.get("ended_at"))
    if start is not None and end is None and item.get("status") in ("RUNNING", "PENDING"):
        end = now
    if start is None and fallback is not None:
        return fallback[0], fallback[1], True
    return start, end, False


def _ip_note(server):
    return {True: "IP kept", False: "IP CHANGED"}.get(server.get("ip_preserved"), "")


def report_view(described, now=None):
    """What the text and the page show, every value already formatted (not yet escaped)."""
    now = now or utc_now()
    execution = described["execution"]
    summary = described["summary"]
    counts = ", ".join(f"{status} {count}" for status, count in sorted((summary.get("launch_status") or {}).items()))
    view = {
        "execution_id": execution.get("execution_id"),
        "title": f"{execution.get('execution_type') or 'DRS'} execution {execution.get('execution_id')}",
        "status": execution.get("status") or "UNKNOWN",
        "facts": [
            ("Protection group", execution.get("protection_group")),
            ("Type", execution.get("execution_type")),
            ("Status", execution.get("status")),
            ("Started", execution.get("started_at")),
            ("Ended", execution.get("ended_at") or ("still running" if summary.get("in_progress") else None)),
            ("Duration", human_duration(summary.get("duration_seconds"))),
            ("Regions", " -> ".join(r for r in (execution.get("primary_region"), execution.get("recovery_region")) if r)
             or None),
            ("Operator", execution.get("operator")),
            ("Resumed", f"{execution.get('resume_count')} time(s), last at {execution.get('resumed_at')}"
             if execution.get("resume_count") else None),
            ("Servers", f"{summary.get('servers', 0)} in {summary.get('wave_count', 0)} wave(s)"
             + (f": {counts}" if counts else "")),
        ],
        "error": error_view(execution.get("error")),
        "waves": [],
    }
    view["facts"] = [(label, str(value)) for label, value in view["facts"] if value not in (None, "")]
    run_start = parse_time(execution.get("started_at"))
    run_end = parse_time(execution.get("ended_at")) or (now if summary.get("in_progress") else None)
    spans = []
    for wave in described["waves"]:
        seconds, _running = duration(wave, now)
        wave_span = _span(wave, now=now)
        spans.append(wave_span)
        wave_view = {
            "number": wave["wave"], "status": wave.get("status") or "UNKNOWN", "duration": human_duration(seconds),
            "started": wave.get("started_at"), "ended": wave.get("ended_at"), "job_ids": list(wave.get("job_ids") or []),
            "error": error_view(wave.get("error")), "span": wave_span, "servers": [],
        }
        for server in wave.get("servers") or []:
            server_span = _span(server, fallback=wave_span[:2], now=now)
            spans.append(server_span)
            own = None if server_span[2] else duration(dict(server, status=None), now)[0]
            wave_view["servers"].append({
                "name": str(server.get("name") or server.get("source_server_id") or "?"),
                "status": server.get("launch_status") or "UNKNOWN",
                "ip_note": _ip_note(server),
                "ids": [(label, server.get(key)) for label, key in (
                    ("source server", "source_server_id"), ("source instance", "source_instance_id"),
                    ("target instance", "target_instance_id"), ("recovery instance", "recovery_instance_id"),
                    ("reversed source server", "reversed_source_server_id"),
                    ("staging account", "staging_account_id")) if server.get(key)],
                "ips": [(label, server.get(key) or "-") for label, key in (
                    ("source", "source_private_ip"), ("target", "target_private_ip"),
                    ("recovery", "recovery_private_ip"))],
                "job_id": server.get("job_id"),
                "duration": human_duration(own) if own is not None else None,
                "error": error_view(server.get("error")),
                "span": server_span,
            })
        view["waves"].append(wave_view)
    view["timeline"] = _timeline(view["waves"], run_start, run_end, spans)
    return view


def _timeline(waves, run_start, run_end, spans):
    """Rows of the timeline, each bar as left/width percentages of the run's span (None: no times known)."""
    starts = [s for s, _e, _i in spans if s is not None] + ([run_start] if run_start else [])
    ends = [e for _s, e, _i in spans if e is not None] + ([run_end] if run_end else [])
    if not starts or not ends:
        return {"start": None, "end": None, "rows": []}
    begin, finish = min(starts), max(ends + starts)
    total = (finish - begin).total_seconds()

    def place(span):
        start, end, _inherited = span
        if start is None:
            return None, None
        if total <= 0:
            return 0.0, 100.0
        left = (start - begin).total_seconds() / total * 100.0
        width = ((end or start) - start).total_seconds() / total * 100.0
        width = max(MIN_BAR_PERCENT, width)
        left = min(left, 100.0 - width)
        return round(left, 2), round(width, 2)

    rows = []
    for wave in waves:
        left, width = place(wave["span"])
        rows.append({"kind": "wave", "label": f"Wave {wave['number']}", "status": wave["status"], "left": left,
                     "width": width, "inherited": False,
                     "title": f"Wave {wave['number']}: {wave['status']}, {wave['started'] or '?'} -> "
                              f"{wave['ended'] or '?'} ({wave['duration']})"})
        for server in wave["servers"]:
            left, width = place(server["span"])
            rows.append({"kind": "server", "label": server["name"], "status": server["status"], "left": left,
                         "width": width, "inherited": server["span"][2],
                         "title": f"{server['name']}: {server['status']}"
                                  + (" (times of its wave)" if server["span"][2] else "")})
    return {"start": iso(begin), "end": iso(finish), "rows": rows}


# ------------------------------------------------------------------------------------------------ text
def render_text(described, now=None):
    """The report as lines for the screen."""
    view = report_view(described, now)
    lines = [f"{view['title']}: {view['status']}"]
    lines.extend(f"  {label + ':':<17} {value}" for label, value in view["facts"] if label != "Status")
    lines.extend(_error_lines(view["error"], "  "))
    for wave in view["waves"]:
        lines.append("")
        jobs = f", jobs {', '.join(wave['job_ids'])}" if wave["job_ids"] else ""
        lines.append(f"Wave {wave['number']}: {wave['status']}, {len(wave['servers'])} server(s), took {wave['duration']}"
                     f" ({wave['started'] or '?'} -> {wave['ended'] or '?'}){jobs}")
        lines.extend(_error_lines(wave["error"], "  "))
        for server in wave["servers"]:
            head = f"  {server['name']}: {server['status']}"
            if server["ip_note"]:
                head += f", {server['ip_note']}"
            if server["duration"]:
                head += f", took {server['duration']}"
            lines.append(head)
            if server["ids"]:
                lines.append("    IDs: " + ", ".join(f"{label} {value}" for label, value in server["ids"]))
            lines.append("    private IPs: " + ", ".join(f"{label} {value}" for label, value in server["ips"]))
            if server["job_id"]:
                lines.append(f"    job: {server['job_id']}")
            lines.extend(_error_lines(server["error"], "    "))
    if not view["waves"]:
        lines.append("No wave recorded.")
    return lines


def _error_lines(error, indent):
    if not error:
        return []
    lines = [f"{indent}ERROR ({error['kind']}): {error['message']}"]
    if error["remediation"]:
        lines.append(f"{indent}  Remediation: {error['remediation']}")
    return lines


# ------------------------------------------------------------------------------------------------ HTML
CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:0;padding:1.5rem 2rem;
color:#1f2933;background:#f7f9fb;font-size:14px}
h1{font-size:1.4rem;margin:0 0 .6rem}h2{font-size:1.1rem;margin:1.6rem 0 .6rem}
.badge{display:inline-block;padding:.1rem .5rem;border-radius:.7rem;font-size:.8rem;font-weight:600;color:#fff}
.good{background:#2f9e44}.bad{background:#d9480f}.running{background:#1971c2}.other{background:#868e96}
table{border-collapse:collapse;background:#fff;width:100%;box-shadow:0 1px 2px rgba(0,0,0,.08)}
th,td{text-align:left;vertical-align:top;padding:.35rem .6rem;border-bottom:1px solid #e3e8ee}
th{background:#eef2f6;font-weight:600}
table.facts{width:auto}table.facts th{background:#fff;color:#52606d;font-weight:500}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85rem}
.error{color:#c92a2a}.remedy{color:#364fc7}
.timeline{background:#fff;padding:.6rem;box-shadow:0 1px 2px rgba(0,0,0,.08)}
.row{display:flex;align-items:center;height:1.35rem}
.row .label{width:14rem;flex:none;overflow:hidden;white-space:nowrap;text-overflow:ellipsis;padding-right:.5rem}
.row.wave .label{font-weight:600}.row.server .label{padding-left:1rem}
.track{position:relative;flex:1;height:.9rem;background:#f1f3f5;border-radius:.2rem}
.bar{position:absolute;top:0;height:100%;border-radius:.2rem}
.row.server .bar{top:20%;height:60%}.bar.inherited{opacity:.45}
.axis{display:flex;justify-content:space-between;margin-left:14rem;color:#52606d;font-size:.8rem}
footer{margin-top:2rem;color:#7b8794;font-size:.8rem}
"""


def _e(value):
    return html.escape("" if value is None else str(value), quote=True)


def _badge(status):
    return f'<span class="badge {status_class(status)}">{_e(status)}</span>'


def _error_html(error):
    if not error:
        return ""
    out = f'<div class="error"><strong>{_e(error["kind"])}</strong>: {_e(error["message"])}</div>'
    if error["remediation"]:
        out += f'<div class="remedy">Remediation: {_e(error["remediation"])}</div>'
    return out


def render_html(described, now=None):
    """The report as one self-contained HTML page (a string)."""
    now = now or utc_now()
    view = report_view(described, now)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        '<head><meta charset="utf-8"/>',
        '<meta name="viewport" content="width=device-width, initial-scale=1"/>',
        f"<title>{_e(view['title'])}</title>",
        f"<style>{CSS}</style></head>",
        "<body>",
        f'<header><h1>{_e(view["title"])} {_badge(view["status"])}</h1>',
        '<table class="facts"><tbody>',
    ]
    parts.extend(f"<tr><th>{_e(label)}</th><td>{_e(value)}</td></tr>" for label, value in view["facts"])
    parts.append("</tbody></table>")
    parts.append(_error_html(view["error"]))
    parts.append("</header>")

    timeline = view["timeline"]
    parts.append('<section id="timeline"><h2>Timeline</h2><div class="timeline">')
    if timeline["rows"]:
        parts.append(f'<div class="axis"><span>{_e(timeline["start"])}</span><span>{_e(timeline["end"])}</span></div>')
        for row in timeline["rows"]:
            drawn = ""
            if row["left"] is not None:
                inherited = " inherited" if row["inherited"] else ""
                drawn = (f'<div class="bar {status_class(row["status"])}{inherited}" '
                         f'style="left:{row["left"]:.2f}%;width:{row["width"]:.2f}%" title="{_e(row["title"])}"></div>')
            parts.append(f'<div class="row {row["kind"]}"><div class="label" title="{_e(row["title"])}">'
                         f'{_e(row["label"])}</div><div class="track">{drawn}</div></div>')
    else:
        parts.append("<p>No start or end time recorded: nothing to draw.</p>")
    parts.append("</div></section>")

    for wave in view["waves"]:
        jobs = ", ".join(f"<code>{_e(j)}</code>" for j in wave["job_ids"]) or "-"
        parts.append(f'<section class="wave" id="wave-{int(wave["number"])}">'
                     f'<h2>Wave {int(wave["number"])} {_badge(wave["status"])}</h2>')
        parts.append(f"<p>{len(wave['servers'])} server(s); took {_e(wave['duration'])} "
                     f"({_e(wave['started'] or '?')} to {_e(wave['ended'] or '?')}); jobs {jobs}</p>")
        parts.append(_error_html(wave["error"]))
        parts.append("<table><thead><tr><th>Server</th><th>Status</th><th>IDs</th><th>Private IPs</th><th>Job</th>"
                     "<th>Error</th></tr></thead><tbody>")
        for server in wave["servers"]:
            ids = "<br/>".join(f"{_e(label)} <code>{_e(value)}</code>" for label, value in server["ids"]) or "-"
            ips = "<br/>".join(f"{_e(label)} <code>{_e(value)}</code>" for label, value in server["ips"])
            if server["ip_note"]:
                ips += f"<br/><strong>{_e(server['ip_note'])}</strong>"
            status = _badge(server["status"])
            if server["duration"]:
                status += f"<br/>{_e(server['duration'])}"
            parts.append(f"<tr><td>{_e(server['name'])}</td><td>{status}</td><td>{ids}</td><td>{ips}</td>"
                         f"<td><code>{_e(server['job_id'] or '-')}</code></td>"
                         f"<td>{_error_html(server['error']) or '-'}</td></tr>")
        parts.append("</tbody></table></section>")
    if not view["waves"]:
        parts.append("<p>No wave recorded.</p>")
    parts.append(f"<footer>Generated {_e(iso(now))} by elasticdr.orchestration from the execution record of "
                 f"{_e(view['execution_id'])}.</footer>")
    parts.append("</body></html>")
    return "\n".join(p for p in parts if p) + "\n"


def render(described, formats, now=None):
    """{"text": [lines], "html": page, "file_name": ...} for the formats asked (text, html)."""
    now = now or utc_now()
    out = {"file_name": file_name(described["execution"].get("execution_id"))}
    if "text" in formats:
        out["text"] = render_text(described, now)
    if "html" in formats:
        out["html"] = render_html(described, now)
    return out
