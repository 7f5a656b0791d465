"""`molecule test -s failover` (extensions/molecule/failover): the drs role's start, failover_wave and finish entry
points against a DRS simulator that the scenario starts itself (prepare) and stops (cleanup); verify checks the AWS
state and the record, after a rerun of the converge (side_effect) that must launch nothing."""
import os
import subprocess
import sys

from .helpers import ROOT

BIN = os.path.dirname(sys.executable)


def _simulators_of_the_scenario():
    """PIDs of drs_simulator servers started by the scenario (their estate is in the molecule ephemeral dir)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                args = handle.read().split(b"\0")
        except OSError:
            continue
        if b"drs_simulator" in args and b"serve" in args and any(b"failover/estate.yml" in a for a in args):
            found.append(int(pid))
    return found


def test_molecule_failover_scenario(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "ANSIBLE_", "MOLECULE_", "EC2_", "BOTO")) and k != "PYTHONPATH"}
    env.update({"PATH": BIN + os.pathsep + env.get("PATH", ""), "ANSIBLE_NOCOLOR": "1", "NO_COLOR": "1",
                "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-local")})
    before = set(_simulators_of_the_scenario())
    proc = subprocess.run([os.path.join(BIN, "molecule"), "test", "-s", "failover"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-8000:]
    for step in ("cleanup", "destroy", "syntax", "prepare", "converge", "side_effect", "verify"):
        assert f"failover > {step}: Executed: Successful" in output, (step, output[-3000:])
    # the rerun (side_effect) resumed the execution and skipped both waves; verify counted the jobs
    assert "waves already completed and skipped: [1, 2]" in " ".join(output.split())
    assert "Check that there is one job per wave (the rerun launched nothing)" in output
    # cleanup stopped the simulator prepare started
    assert set(_simulators_of_the_scenario()) <= before
