"""scripts/bench.py --smoke: the benchmark suite runs end to end at tiny sizes and writes every figure to its
results file. Its timings mean nothing here (no budget is asserted); `make bench` measures them."""
import json
import os
import subprocess
import sys

from .helpers import ROOT

FIGURES = ("matcher", "match_module", "failover_10x1", "overhead", "failback_10x1")
CALL_FIGURES = ("match_module", "failover_10x1", "failback_10x1")


def test_bench_smoke_writes_every_figure(tmp_path):
    output = tmp_path / "results.json"
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "simulator"))
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "bench.py"), "--smoke", "--output", str(output)],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=240, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    results = json.loads(output.read_text())
    assert results["smoke"] is True
    assert set(FIGURES) <= set(results["figures"]), sorted(results["figures"])
    assert {"20", "40", "200", "ratio"} <= set(results["figures"]["matcher"])
    for name in CALL_FIGURES:
        figure = results["figures"][name]
        assert figure["seconds"] > 0 and figure["peak_mib"] > 0, (name, figure)
        assert figure["calls"]["drs"] > 0, (name, figure["calls"])
        calls = figure["calls"]
        assert calls["per_server"] + calls["batch"] + calls["polling"] == calls["drs"], (name, calls)
    # StartRecovery is a batch call (one job per wave), counted apart from the calls that name one server.
    failback = results["figures"]["failback_10x1"]["calls"]
    assert failback["batch"] >= failback["operations"]["drs:StartRecovery"] >= 1
    assert failback["per_server"] == sum(n for op, n in failback["operations"].items() if op.startswith("drs:")
                                         and not op.startswith("drs:Describe") and op not in (
                                             "drs:StartRecovery", "drs:UpdateLaunchConfigurationTemplate"))
    overhead = results["figures"]["overhead"]
    assert overhead["critical_path_seconds"] > 0 and "overhead" in overhead
    assert results["wave_seconds"]["n"] >= 2 and results["wave_seconds"]["p50"] > 0
    # Every figure is in the printed table, each budgeted row with its verdict.
    for row in results["rows"]:
        assert row["metric"] in proc.stdout
        assert row["status"] in ("", "PASS", "FAIL")
    assert "budget" in proc.stdout
