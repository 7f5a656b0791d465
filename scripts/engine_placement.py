#!/usr/bin/env python
"""Where drs_wave's engine runs: the measurement behind docs/ARCHITECTURE.md ("Where the engine runs, and why").

Runs the same wave N times through ansible-playbook against the simulator, three ways (the library copy sits beside the playbooks):
  baseline   ansible.builtin.debug, the cost of a task in the play itself;
  action     elasticdr.orchestration.drs_wave, the engine in the controller process (its action plugin);
  module     the same drs_wave module file run as a module (an AnsiballZ process per call), from a library copy.
The wave is one the execution record says COMPLETED, so each call is the engine's fixed cost: build the clients,
read the record, decide. The cost per wave is (run - baseline) / N. Prints one line per way and writes nothing.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench import GROUP, PREFIX, RECOVERY, Simulator, run_playbook  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _play(task, count):
    return [{"name": "placement", "hosts": "localhost", "connection": "local", "gather_facts": False,
             "tasks": [dict(task, loop=list(range(count)))]}]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--calls", type=int, default=10, help="calls per way (%(default)s)")
    args = parser.parse_args(argv)
    from ansible_collections.elasticdr.orchestration.plugins.module_utils.executions import ExecutionRecorder
    from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper
    from ansible_collections.elasticdr.orchestration.plugins.module_utils.retry import DRSRetry
    from ansible_collections.elasticdr.orchestration.plugins.module_utils.state_store import StateStore

    with tempfile.TemporaryDirectory(prefix="placement-") as workdir, Simulator(4, 1, 1e6) as env:
        store = StateStore(RetryingBotoClientWrapper(env.sim.client("dynamodb"), DRSRetry.honour_retry_after()), PREFIX)
        recorder = ExecutionRecorder(store, GROUP, "placement-1")
        recorder.start("FAILOVER", waves=[1])
        recorder.record_wave(1, "COMPLETED")
        names = sorted(env.summary["servers"])
        wave_args = {"region": RECOVERY, "protection_group": GROUP, "table_prefix": PREFIX,
                     "execution_id": "placement-1", "waves": {"1": names}, "wave": 1}
        library = os.path.join(workdir, "library")
        os.makedirs(library)
        shutil.copy(os.path.join(ROOT, "plugins", "modules", "drs_wave.py"), os.path.join(library, "drs_wave_module.py"))
        ways = {
            "baseline": {"ansible.builtin.debug": {"msg": "x"}},
            "action": {"elasticdr.orchestration.drs_wave": wave_args},
            "module": {"drs_wave_module": wave_args},
        }
        seconds = {}
        for way, task in ways.items():
            path = os.path.join(workdir, f"{way}.yml")
            with open(path, "w", encoding="utf-8") as handle:
                yaml.safe_dump(_play(dict(task, name=way), args.calls), handle)
            seconds[way], _peak, _out = run_playbook(env.sim.url, workdir, path, label=way)
    for way in ("action", "module"):
        per_call = (seconds[way] - seconds["baseline"]) / args.calls
        print(f"{way:<8} {per_call:6.3f} s per wave ({seconds[way]:.2f} s for {args.calls} calls, baseline "
              f"{seconds['baseline']:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
