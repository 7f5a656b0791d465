"""The catalogue of bad input (docs/TROUBLESHOOTING.md): each case runs a playbook against the simulator with one
thing wrong and asserts that the run fails with a message naming the server or option at fault and the fix, and
that the estate was not changed: no mutating DRS, EC2, SSM or CloudFormation call (the execution record in
DynamoDB may say that the run was refused).
"""
import os

import pytest
import yaml

from simlib import RECOVERY, small_estate

from .helpers import ROLE_222, ROOT, mutating, run_tool, state_tables
from .test_failover_playbook import PREFIX

ESTATE_CHANGES = ("drs", "ec2", "ssm", "cloudformation")


def _inventory(tmp_path, summary, vars_=None, hosts=None, drop=()):
    """The inventory of a 1-wave estate, with group vars changed (vars_), extra hosts (hosts: {name: hostvars})
    and group vars removed (drop)."""
    all_vars = {"drs_primary_region": "us-east-1", "drs_recovery_region": RECOVERY, "drs_protection_group": "shop",
                "drs_state_table_prefix": PREFIX, "drs_poll_interval": 1, "drs_wait_timeout": 300}
    all_vars.update(vars_ or {})
    for key in drop:
        all_vars.pop(key, None)
    wave_hosts = {n: {} for n in sorted(summary["servers"])}
    inventory = {"all": {"vars": all_vars, "hosts": hosts or {},
                         "children": {"wave_1": {"hosts": wave_hosts, "vars": {"drs_wave": 1}}}}}
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(inventory))
    return str(path)


# (case id, estate overrides, inventory changes, playbook, extra args, fragments the output must contain)
CASES = [
    ("server-in-two-waves", {}, {"hosts": {"db-01": {"drs_wave": 2}}}, "failover.yml", [],
     ["db-01", "exactly one wave_<n> group"]),
    ("wave-not-an-integer", {}, {"hosts": {"web-99": {"drs_wave": "first"}}}, "failover.yml", [],
     ["web-99", "drs_wave"]),
    ("no-protection-group", {}, {"drop": ["drs_protection_group"]}, "failover.yml", [], ["drs_protection_group"]),
    ("no-recovery-region", {}, {"drop": ["drs_recovery_region"]}, "failover.yml", [], ["drs_recovery_region"]),
    ("no-primary-region", {}, {"drop": ["drs_primary_region"]}, "failover.yml", [], ["drs_primary_region"]),
    ("unknown-wave-asked", {}, {}, "failover.yml", ["-e", '{"drs_waves": [7]}'], ["7", "drs_waves"]),
    ("bad-launch-disposition", {}, {"vars": {"drs_launch_disposition": "RUNNING"}}, "failover.yml", [],
     ["drs_launch_disposition", "STARTED"]),
    ("bad-recovery-mode", {}, {"vars": {"drs_recovery_mode": "rehearsal"}}, "failover.yml", [],
     ["drs_recovery_mode", "drill"]),
    ("unknown-server", {}, {"hosts": {"ghost-01": {"drs_wave": 1}}}, "failover.yml", [],
     ["ghost-01", "drs_allow_partial_wave"]),
    ("untagged-target", {"db-02": {"target": {"tag": False}}}, {}, "failover.yml", [],
     ["db-02", "AWSDRS", "drs_allow_partial_wave"]),
    ("architecture-mismatch", {"db-02": {"target": {"architecture": "arm64", "instance_type": "t4g.medium",
                                                     "boot_mode": "uefi"}}}, {}, "failover.yml", [],
     ["db-02", "arm64"]),
    ("platform-mismatch", {"db-02": {"target": {"platform": "windows"}}}, {}, "failover.yml", [],
     ["db-02", "windows"]),
    ("duplicate-target-name", {"db-02": {"target": {"tags": {"Name": "db-01"}}}}, {}, "failover.yml", [],
     ["db-01", "db-02"]),
    ("no-target", {"db-02": {"target": {"create": False}}}, {}, "failover.yml", [], ["db-02", "cannot be matched"]),
    ("missing-state-tables", {}, {"vars": {"drs_state_table_prefix": "nowhere"}}, "failover.yml", [],
     ["nowhere-", "state_tables"]),
    ("role-without-external-id", {}, {"vars": {"drs_target_role_arn": ROLE_222}}, "failover.yml", [],
     ["external_id"]),
    ("recovery-region-without-drs", {}, {"vars": {"drs_recovery_region": "eu-west-3"}}, "failover.yml", [],
     ["eu-west-3"]),
    ("poll-interval-zero", {}, {"vars": {"drs_poll_interval": 0}}, "failover.yml", [], ["drs_poll_interval", "greater than 0"]),
    ("execution-id-of-another-type", {}, {}, "failback.yml", ["-e", "drs_execution_id=bad-input-failover"],
     ["bad-input-failover", "FAILOVER", "new drs_execution_id"]),
    ("failback-before-failover", {}, {}, "failback.yml", [], ["db-01", "cannot fail back"]),
    ("drill-cleanup-of-a-failover", {}, {}, "drill_cleanup.yml", [], ["not a drill", "drs_cleanup_non_drill"]),
    ("report-without-execution-id", {}, {}, "report.yml", [], ["drs_execution_id"]),
    ("report-of-an-unknown-execution", {}, {}, "report.yml", ["-e", "drs_execution_id=no-such-run"], ["no-such-run"]),
    ("state-table-prefix-invalid", {}, {"vars": {"drs_state_table_prefix": "no spaces"}}, "state_tables.yml", [],
     ["drs_state_table_prefix", "letters"]),
    ("preflight-replication-stalled", {"db-02": {"replication": {"state": "STALLED", "lag_seconds": 4000}}}, {},
     "preflight.yml", [], ["db-02", "STALLED"]),
    ("preflight-lag-too-high", {"db-02": {"replication": {"state": "CONTINUOUS", "lag_seconds": 900}}}, {},
     "preflight.yml", [], ["db-02", "lag"]),
    ("approve-not-a-bool", {}, {"vars": {"drs_approve_each_wave": "perhaps"}}, "failover.yml", [],
     ["drs_approve_each_wave"]),
    ("wait-timeout-not-a-number", {}, {"vars": {"drs_wait_timeout": "soon"}}, "failover.yml", [], ["drs_wait_timeout"]),
    ("cleanup-mode-unknown", {}, {"vars": {"drs_cleanup_non_drill": "terminate"}}, "drill_cleanup.yml", [],
     ["drs_cleanup_non_drill", "refuse"]),
    ("stale-lock-not-broken", {}, {}, "failover.yml", [], ["locked by execution crashed-run", "drs_break_lock"]),
]


@pytest.mark.parametrize("case, overrides, changes, playbook, args, fragments", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_naming_the_cause_before_any_change(sim, tmp_path, case, overrides, changes, playbook,
                                                                   args, fragments):
    summary = sim.load_estate(small_estate(2, 1, **overrides))
    store = state_tables(sim, PREFIX)
    if case == "execution-id-of-another-type":
        store.put_execution({"execution_id": "bad-input-failover", "protection_group": "shop",
                             "execution_type": "FAILOVER", "status": "COMPLETED", "started_at": "2026-01-01T00:00:00Z"})
    if case == "stale-lock-not-broken":
        store.acquire_lock("shop", "crashed-run", lease_seconds=-60)
    if case == "drill-cleanup-of-a-failover":
        done = run_tool("ansible-playbook", [os.path.join(ROOT, "playbooks", "failover.yml"), "-i",
                                             _inventory(tmp_path, summary)], sim.url, tmp_path, timeout=600)
        assert done.returncode == 0, done.stdout[-3000:]
    inventory = _inventory(tmp_path, summary, changes.get("vars"), changes.get("hosts"), changes.get("drop", ()))
    sim.clear_requests()
    proc = run_tool("ansible-playbook", [os.path.join(ROOT, "playbooks", playbook), "-i", inventory] + args,
                    sim.url, tmp_path, timeout=600)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output[-3000:]
    for fragment in fragments:
        assert fragment in output, f"{case}: {fragment!r} not in the output:\n{output[-4000:]}"
    assert "Traceback" not in output, output[-4000:]
    changes_made = [(c["service"], c["operation"]) for c in mutating(sim) if c["service"] in ESTATE_CHANGES]
    assert changes_made == [], changes_made


def test_every_case_is_documented():
    text = open(os.path.join(ROOT, "docs", "TROUBLESHOOTING.md"), encoding="utf-8").read()
    missing = [case[0] for case in CASES if f"`{case[0]}`" not in text]
    assert not missing and len(CASES) >= 30, missing
