# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""One record per server of a wave, from what the wave's modules returned (match, recovery, IP check),
so that roles pass results through instead of merging them in Jinja."""

from ansible_collections.elasticdr.orchestration.plugins.module_utils.job_monitor import counts


def _by_id(items, key="source_server_id"):
    return {i.get(key): i for i in items or [] if i.get(key)}


def wave_servers(pairs=None, unmatched=None, recovery=None, ip_results=None):
    """Server records of a wave.

    pairs: drs_instance_match pairs (and invalid/ambiguous entries); unmatched: its unmatched entries;
    recovery: drs_recovery servers; ip_results: drs_ip_validate results.
    """
    recovered = _by_id(recovery)
    ips = _by_id(ip_results)
    out = []
    for pair in pairs or []:
        sid = pair.get("source_server_id")
        launch = recovered.get(sid, {})
        ip = ips.get(sid, {})
        record = {
            "name": pair.get("name") or sid,
            "source_server_id": sid,
            "source_instance_id": pair.get("source_instance_id"),
            "target_instance_id": pair.get("target_instance_id"),
            "source_private_ip": pair.get("source_private_ip"),
            "target_private_ip": pair.get("target_private_ip"),
            "staging_account_id": pair.get("staging_account_id"),
            "job_id": launch.get("job_id"),
            "launch_status": launch.get("launch_status"),
            "recovery_instance_id": launch.get("recovery_instance_id"),
            "recovery_private_ip": ip.get("actual_ip"),
            "ip_preserved": ip.get("preserved"),
            "error": launch.get("error") or ip.get("error") or pair.get("error"),
        }
        out.append({k: v for k, v in record.items() if v is not None})
    for item in unmatched or []:
        name = item.get("name") or item.get("source_server_id")
        if name:
            reason = item.get("reason") or "; ".join(
                c["message"] for c in item.get("checks") or [] if not c.get("passed") and c.get("severity") == "error")
            out.append({k: v for k, v in {
                "name": name, "source_server_id": item.get("source_server_id"),
                "target_instance_id": item.get("target_instance_id"), "launch_status": "NOT_MATCHED",
                "error": {"error": "InstanceMatchingError", "message": reason, "server": name},
            }.items() if v is not None})
    return out


def problems_of(match):
    """The entries of a match result (drs_instance_match) that are not valid pairs: unmatched, ambiguous, invalid."""
    return (match.get("unmatched") or []) + (match.get("ambiguous") or []) + (match.get("invalid") or [])


def from_results(match=None, recovery=None, ip_validation=None, servers=None, job_ids=None, tally=None, status=None):
    """(servers, job_ids, counts, status) of a failover or drill wave from what its modules returned: the match
    (drs_instance_match), the recovery (drs_recovery) and the IP check (its ip_validation). Values given are kept;
    the others are computed."""
    match, recovery = match or {}, recovery or {}
    servers = (servers or []) + wave_servers(match.get("pairs"), problems_of(match), recovery.get("servers"),
                                             (ip_validation or {}).get("results"))
    job_ids = job_ids or sorted(set((recovery.get("started_jobs") or []) + (recovery.get("adopted_jobs") or [])))
    tally = tally or wave_counts(servers)
    return servers, job_ids, tally, status or wave_status(servers)


def wave_status(servers):
    """COMPLETED when every server launched and kept its IP; FAILED when none did; PARTIAL otherwise."""
    if not servers:
        return "SKIPPED"
    # WOULD_LAUNCH is drs_recovery's prediction in check mode: the wave would complete.
    good = [s for s in servers
            if s.get("launch_status") in ("LAUNCHED", "WOULD_LAUNCH") and s.get("ip_preserved", True) is not False]
    if len(good) == len(servers):
        return "COMPLETED"
    return "FAILED" if not good else "PARTIAL"


def wave_counts(servers):
    tally = counts({s["name"]: {"launch_status": s.get("launch_status", "PENDING")} for s in servers})
    tally["ip_mismatches"] = sum(1 for s in servers if s.get("ip_preserved") is False)
    tally["not_matched"] = sum(1 for s in servers if s.get("launch_status") == "NOT_MATCHED")
    tally["would_launch"] = sum(1 for s in servers if s.get("launch_status") == "WOULD_LAUNCH")
    return tally


def summary_lines(wave, status, servers, tally):
    """A one-screen summary of a wave: a headline and one line per server."""
    if tally.get("would_launch"):  # check mode: what a run would do
        head = f"Wave {wave}: {status} (check mode, nothing changed) - {tally['would_launch']} would launch"
    else:
        head = f"Wave {wave}: {status} - {tally.get('launched', 0)} launched"
    lines = [f"{head}, {tally.get('failed', 0)} failed, {tally.get('not_matched', 0)} not matched, "
             f"{tally.get('ip_mismatches', 0)} IP mismatches"]
    for server in sorted(servers, key=lambda s: s.get("name") or ""):
        ip = server.get("recovery_private_ip") or server.get("target_private_ip") or "-"
        kept = {True: "IP kept", False: "IP CHANGED", None: ""}[server.get("ip_preserved")]
        line = (f"  {server.get('name', '?'):<24} {server.get('launch_status') or '-':<12} "
                f"{server.get('recovery_instance_id') or server.get('target_instance_id') or '-':<21} {ip:<15} {kept}")
        error = server.get("error") or {}
        if error.get("message"):
            line += f"  {error['message']}"
            if error.get("remediation"):  # as the failback summary shows it (failback_record.summary_lines)
                line += f" Remediation: {error['remediation']}"
        lines.append(line.rstrip())
    return lines
