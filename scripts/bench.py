#!/usr/bin/env python
"""`make bench`: the collection's performance figures, each measured in one run on this machine.

1. matcher       InstanceMatcher in process: 100, 1,000 and 10,000 source servers against as many targets,
                 plus 5% decoy targets (a Name no server has) and 5% duplicate targets (a second target with a
                 server's Name, which makes that server ambiguous).
2. match_module  drs_instance_match through ansible-playbook against the simulator, 1,000 servers: wall time and
                 the EC2 and DRS calls of the simulator's request log.
3. failover      playbooks/failover.yml end to end with instant DRS jobs: 100 servers in 3 waves and 1,000 servers
                 in 10 waves: wall time, peak memory of the ansible-playbook process tree, DRS calls per server.
4. overhead      playbooks/failover.yml with the simulator's field DRS timings (about 9 minutes per wave): how much
                 the orchestration adds to the DRS jobs on the critical path (one wave after the other). The time
                 scale is 1 unless --time-scale says otherwise: the orchestration's seconds are real seconds, and
                 jobs compressed by a scale s make the same seconds weigh s times more against them.
5. failback      playbooks/failback.yml for 100 servers after an untimed failover: the figures of 3.
6. first_launch  in run 3 (100 servers): seconds from the start of ansible-playbook to the first StartRecovery the
                 simulator receives, the time the orchestrator adds before DRS starts recovering.

Every figure is printed beside its budget with PASS/FAIL and written to benchmarks/results.json, with the
per-wave durations of the execution records (DynamoDB <prefix>-executions, WAVE# items) of runs 3 and 4.
`--smoke` runs every figure at tiny sizes to prove the suite works; its timings mean nothing.
"""
from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for _path in (os.path.join(ROOT, "simulator"), os.path.join(ROOT, "tests")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import yaml  # noqa: E402

from demo import collections_path  # noqa: E402  (scripts/ is this script's own directory)
from simlib import PRIMARY, RECOVERY, Sim, SimulatorProcess, small_estate  # noqa: E402

sys.path.insert(0, collections_path())

RESULTS = os.path.join(ROOT, "benchmarks", "results.json")
PREFIX = "bench"
GROUP = "bench"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "AKIASIMULATOR", "AWS_SECRET_ACCESS_KEY": "simulator-not-a-secret"}
INSTANT = 1e6  # simulated seconds per real second: a ten-minute DRS job ends within a millisecond
# DRS reads are batched lists (Describe*: DescribeJobs and DescribeJobLogItems while a wave waits, source servers
# and recovery instances by filter). Of the other DRS operations, these act on a batch (a job of up to 100
# servers, a wave's or a run's setting) and are made once per wave or per run, never per server; every other one
# names one server (GetLaunchConfiguration, UpdateLaunchConfiguration, ReverseReplication, StopReplication, ...).
BATCH_OPERATIONS = frozenset(["StartRecovery", "UpdateLaunchConfigurationTemplate", "TerminateRecoveryInstances"])


def is_read(operation):
    return operation.startswith("Describe")


def is_batch(operation):
    return operation in BATCH_OPERATIONS

# A pause this long between two polling calls starts a new poll round (calls of one round follow each other).
ROUND_GAP = 0.25

FULL = {"matcher": (100, 1000, 10000), "match_module": 1000, "failover": ((100, 3), (1000, 10)),
        "overhead": (100, 3), "overhead_time_scale": 1.0, "failback": (100, 2)}
SMOKE = {"matcher": (20, 40, 200), "match_module": 20, "failover": ((10, 1),),
         "overhead": (10, 1), "overhead_time_scale": 2000.0, "failback": (10, 1)}


# ----------------------------------------------------------------------------------------------- checks
class Report:
    """The rows of the results table: figure, metric, value, budget, status (PASS, FAIL or '' for info)."""

    def __init__(self, smoke):
        self.smoke = smoke
        self.rows = []
        self.figures = {}

    def row(self, figure, metric, value, unit="", budget=None, passed=None):
        status = "" if passed is None else ("PASS" if passed else "FAIL")
        self.rows.append({"figure": figure, "metric": metric, "value": value, "unit": unit,
                          "budget": budget or "", "status": status})
        print(f"  {metric:<52} {_fmt(value)} {unit:<6} {budget or '':<34} {status}", flush=True)

    def note_load(self):
        """The machine's 1-minute load average beside each figure just measured: on a shared machine, wall times
        grow with it."""
        for figure in self.figures.values():
            figure.setdefault("load_average_1m", round(os.getloadavg()[0], 2))

    def table(self):
        lines = [f"{'figure':<14} {'metric':<52} {'value':>12} {'unit':<6} {'budget':<34} status"]
        for r in self.rows:
            lines.append(f"{r['figure']:<14} {r['metric']:<52} {_fmt(r['value'])} {r['unit']:<6} {r['budget']:<34} "
                         f"{r['status']}")
        return "\n".join(lines)


def _fmt(value):
    if isinstance(value, float):
        return f"{value:>12.3f}"
    return f"{value!s:>12}"


# ----------------------------------------------------------------------------------------------- 1. matcher
class _Boto:
    """A boto3-shaped DRS and EC2 client over lists, with paging and no copying, so that the real DRSClient and
    EC2Client (batching, paging) run and the time measured is the collection's own."""

    def __init__(self, servers=(), instances=()):
        self.servers = list(servers)
        self.instances = {i["InstanceId"]: i for i in instances}
        self.calls = 0
        self._query = (None, [])

    def _page(self, key, items, token, size):
        start = int(token or 0)
        page = {key: items[start:start + size]}
        if start + size < len(items):
            page["nextToken" if key == "items" else "NextToken"] = str(start + size)
        return page

    def describe_source_servers(self, aws_retry=None, filters=None, maxResults=1000, nextToken=None):
        self.calls += 1
        items = self.servers
        if (filters or {}).get("sourceServerIDs"):
            wanted = set(filters["sourceServerIDs"])
            items = [s for s in items if s["sourceServerID"] in wanted]
        return self._page("items", items, nextToken, maxResults)

    def describe_instances(self, aws_retry=None, Filters=(), MaxResults=1000, NextToken=None):
        self.calls += 1
        key = repr(Filters)
        if NextToken and self._query[0] == key:
            items = self._query[1]
        else:
            items = list(self.instances.values())
            for flt in Filters:
                values = set(flt["Values"])
                if flt["Name"] == "instance-id":
                    items = [self.instances[i] for i in flt["Values"] if i in self.instances]
                elif flt["Name"] == "tag-key":
                    items = [i for i in items if any(t["Key"] in values for t in i["Tags"])]
                elif flt["Name"] == "instance-state-name":
                    items = [i for i in items if i["State"]["Name"] in values]
            self._query = (key, items)
        page = self._page("Instances", items, NextToken, MaxResults)
        out = {"Reservations": [{"Instances": page["Instances"]}]}
        if "NextToken" in page:
            out["NextToken"] = page["NextToken"]
        return out


def _match_estate(count):
    """Source servers, their source instances and targets: as many targets as servers, plus 5% decoys and 5%
    duplicates of existing names."""
    from unit.plugins.module_utils.fakes import instance, source_server

    servers, sources, targets = [], [], []
    for n in range(count):
        name, ip = f"server-{n:05d}", f"10.{n // 65536}.{(n // 256) % 256}.{n % 256}"
        server_id, source_id = f"s-{n:017x}", f"i-{n:017x}"
        servers.append(source_server(server_id, source_id, ip=ip))
        sources.append(instance(instance_id=source_id, name=name, tagged=False, state="running", ip=ip))
        targets.append(instance(instance_id=f"i-{0x10000000 + n:017x}", name=name, ip=ip))
    extra = max(1, count // 20)
    for n in range(extra):
        targets.append(instance(instance_id=f"i-{0x20000000 + n:017x}", name=f"decoy-{n:05d}"))
        targets.append(instance(instance_id=f"i-{0x30000000 + n:017x}", name=f"server-{n * 20:05d}"))
    return servers, sources, targets, extra


def bench_matcher(report, sizes):
    from ansible_collections.elasticdr.orchestration.plugins.module_utils.drs import DRSClient
    from ansible_collections.elasticdr.orchestration.plugins.module_utils.ec2 import EC2Client
    from ansible_collections.elasticdr.orchestration.plugins.module_utils.matching import InstanceMatcher

    print("1. matcher in process", flush=True)
    figure = {}
    for count in sizes:
        servers, sources, targets, extra = _match_estate(count)
        clients = (_Boto(servers=servers), _Boto(instances=sources), _Boto(instances=targets))
        matcher = InstanceMatcher(DRSClient(clients[0]), EC2Client(clients[1]), EC2Client(clients[2]))
        gc.collect()
        # CPU seconds of this process, as the unit tests measure: other load on a shared machine does not count.
        started, wall = time.process_time(), time.perf_counter()
        result = matcher.match()
        elapsed, wall = time.process_time() - started, time.perf_counter() - wall
        assert len(result.pairs) == count - extra and len(result.ambiguous) == extra, (count, result.to_dict().keys())
        figure[str(count)] = {"cpu_seconds": elapsed, "wall_seconds": wall, "pairs": len(result.pairs), "ambiguous": len(result.ambiguous),
                              "targets": len(targets), "calls": sum(c.calls for c in clients)}
        report.row("matcher", f"{count} servers ({len(targets)} targets): CPU time", elapsed, "s",
                   "< 1 s" if count == max(sizes) else None,
                   (elapsed < 1.0) if count == max(sizes) and not report.smoke else None)
    small, large = figure[str(sizes[1])]["cpu_seconds"], figure[str(sizes[2])]["cpu_seconds"]
    ratio = large / max(small, 1e-9)
    figure["ratio"] = ratio
    report.row("matcher", f"ratio time({sizes[2]})/time({sizes[1]})", ratio, "", "linear ~ 10 (< 20)",
               None if report.smoke else ratio < 20)
    report.figures["matcher"] = figure


# ----------------------------------------------------------------------------------------------- ansible runs
def ansible_env(sim_url, workdir):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "ANSIBLE_", "EC2_", "BOTO")) and k != "PYTHONPATH"}
    env.update(CREDENTIALS)
    env.update({"AWS_URL": sim_url, "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "AWS_EC2_METADATA_DISABLED": "true", "ANSIBLE_COLLECTIONS_PATH": collections_path(),
                "ANSIBLE_LOCALHOST_WARNING": "false", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
                "ANSIBLE_NOCOLOR": "1", "ANSIBLE_RETRY_FILES_ENABLED": "false",
                "ANSIBLE_LOCAL_TEMP": os.path.join(workdir, "ansible-local"),
                "ANSIBLE_PYTHON_INTERPRETER": sys.executable})
    return env


class TreeMemory:
    """Peak resident memory of a process and all its descendants, sampled every 0.1 s (psutil when installed,
    else /proc)."""

    def __init__(self, pid):
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        try:
            import psutil
        except ImportError:
            psutil = None
        self._psutil = psutil
        self._page = os.sysconf("SC_PAGE_SIZE")

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _run(self):
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self.sample())
            except (OSError, ValueError):
                pass
            self._stop.wait(0.1)

    def sample(self):
        if self._psutil is not None:
            try:
                root = self._psutil.Process(self.pid)
                procs = [root] + root.children(recursive=True)
            except self._psutil.Error:
                return 0
            total = 0
            for proc in procs:
                try:
                    total += proc.memory_info().rss
                except self._psutil.Error:
                    pass
            return total
        children = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                        ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                children.setdefault(ppid, []).append(int(entry))
        total, todo = 0, [self.pid]
        while todo:
            pid = todo.pop()
            try:
                with open(f"/proc/{pid}/statm", encoding="ascii") as handle:
                    total += int(handle.read().split()[1]) * self._page
            except (OSError, IndexError, ValueError):
                continue
            todo.extend(children.get(pid, ()))
        return total


def run_playbook(sim_url, workdir, playbook, inventory=None, extra=(), label="run"):
    """ansible-playbook as a subprocess: (return code, wall seconds, peak tree RSS in MiB, stdout)."""
    cmd = [sys.executable, os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), playbook]
    if inventory:
        cmd += ["-i", inventory]
    cmd += list(extra)
    log = os.path.join(workdir, f"{label}.log")
    with open(log, "w", encoding="utf-8") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env=ansible_env(sim_url, workdir), cwd=workdir, stdout=out,
                                stderr=subprocess.STDOUT)
        with TreeMemory(proc.pid) as memory:
            try:
                proc.wait()
            except BaseException:
                proc.kill()
                raise
        wall = time.perf_counter() - started
    with open(log, encoding="utf-8") as handle:
        stdout = handle.read()
    if proc.returncode != 0:
        print(stdout[-4000:], file=sys.stderr)
        raise RuntimeError(f"{label}: ansible-playbook exited {proc.returncode} (log: {log})")
    return wall, memory.peak / 2 ** 20, stdout


def inventory_for(workdir, summary, poll_interval, wait_timeout):
    by_wave = {}
    for name, server in summary["servers"].items():
        by_wave.setdefault(server["wave"], []).append(name)
    inventory = {"all": {
        "vars": {"drs_primary_region": PRIMARY, "drs_recovery_region": RECOVERY, "drs_protection_group": GROUP,
                 "drs_state_table_prefix": PREFIX, "drs_poll_interval": poll_interval,
                 "drs_wait_timeout": wait_timeout, "drs_replication_timeout": wait_timeout},
        "children": {f"wave_{w}": {"hosts": {n: {} for n in sorted(names)}}
                     for w, names in sorted(by_wave.items())}}}
    path = os.path.join(workdir, "hosts.yml")
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(inventory, handle)
    return path


class Simulator:
    """A fresh simulator with an estate and the state tables."""

    def __init__(self, servers, waves, time_scale):
        self.process = SimulatorProcess(time_scale=time_scale)
        self.sim = Sim(self.process.url)
        self.time_scale = time_scale
        self.summary = self.sim.load_estate(small_estate(servers, waves))
        from integration.helpers import state_tables

        state_tables(self.sim, PREFIX)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.process.stop()


def drs_calls(calls, servers):
    """DRS calls of a request log split into per-server calls, batch calls (once per wave or run) and polling,
    with poll rounds (bursts of polling calls) and the count of each operation."""
    drs = [c for c in calls if c["service"] == "drs"]
    polling = [c for c in drs if is_read(c["operation"])]
    rounds, last = 0, None
    for call in polling:
        moment = _sim_seconds(call["time"])  # the real time of the call
        if last is None or moment - last > ROUND_GAP:
            rounds += 1
        last = moment
    operations = {}
    for call in calls:
        key = f"{call['service']}:{call['operation']}"
        operations[key] = operations.get(key, 0) + 1
    batch = [c for c in drs if is_batch(c["operation"])]
    per_server = len(drs) - len(polling) - len(batch)
    return {"drs": len(drs), "polling": len(polling), "batch": len(batch), "per_server": per_server,
            "per_server_per_server": per_server / servers,
            "non_polling_per_server": (len(drs) - len(polling)) / servers, "poll_rounds": rounds,
            "polling_per_round": len(polling) / max(rounds, 1), "ec2": sum(1 for c in calls if c["service"] == "ec2"),
            "operations": dict(sorted(operations.items())),
            # Seconds the simulator itself spent serving these calls (moto's response building, the DRS model),
            # one request at a time: what a run waited on its local AWS rather than on its own work.
            "simulator_seconds": round(sum(c.get("seconds", 0.0) for c in calls), 3)}


def _batch_operations(calls):
    return [op.split(":", 1)[1] for op in calls["operations"] if op.startswith("drs:") and is_batch(op.split(":", 1)[1])]


def execution_id(stdout, kind):
    for line in stdout.splitlines():
        if f"{kind} execution " in line:
            return line.split(f"{kind} execution ", 1)[1].split()[0]
    raise RuntimeError(f"no {kind} execution id printed")


def wave_durations(sim, execution):
    """{wave: seconds} from the WAVE# items of one execution record."""
    client = sim.client("dynamodb", region=RECOVERY)
    items = client.query(TableName=f"{PREFIX}-executions", KeyConditionExpression="execution_id = :e",
                         ExpressionAttributeValues={":e": {"S": execution}})["Items"]
    out = {}
    for item in items:
        key = item["record_key"]["S"]
        if key.startswith("WAVE#") and "duration_seconds" in item:
            out[int(key[5:])] = float(item["duration_seconds"]["N"])
    return out


def _playbook(name):
    return os.path.join(ROOT, "playbooks", name)


# ----------------------------------------------------------------------------------------------- 2. match module
def bench_match_module(report, servers):
    print(f"2. drs_instance_match module, {servers} servers", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-match-") as workdir, Simulator(servers, 1, INSTANT) as env:
        play = [{"name": "match", "hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": [{
            "name": "Match every source server", "elasticdr.orchestration.drs_instance_match": {
                "region": RECOVERY, "source_region": PRIMARY}, "register": "matched"}, {
            "name": "Count", "ansible.builtin.assert": {"that": [f"matched.pairs | length == {servers}"]}}]}]
        path = os.path.join(workdir, "match.yml")
        with open(path, "w", encoding="utf-8") as handle:
            yaml.safe_dump(play, handle)
        env.sim.clear_requests()
        wall, peak, _out = run_playbook(env.sim.url, workdir, path, label="match")
        calls = drs_calls(env.sim.requests(), servers)
    pages = -(-servers // 1000)
    batches = -(-servers // 200)
    # One paged read of the source servers, one per 200 source instances, one paged read of the tagged targets.
    batched = calls["drs"] <= pages and calls["ec2"] <= batches + pages
    report.row("match_module", "wall time (ansible-playbook)", wall, "s", "<= 3 s", None if report.smoke else wall <= 3)
    report.row("match_module", "DRS calls", calls["drs"], "", f"<= {pages} (pages of 1000)", batched)
    report.row("match_module", "EC2 calls", calls["ec2"], "", f"<= {batches + pages} (batches of 200 + pages)",
               batched)
    report.row("match_module", "of which the simulator serving its calls", calls["simulator_seconds"], "s")
    report.row("match_module", "peak memory (process tree)", peak, "MiB")
    report.figures["match_module"] = {"servers": servers, "seconds": wall, "peak_mib": peak, "calls": calls}


# ----------------------------------------------------------------------------------------------- 3./5. end to end
def _end_to_end_rows(report, figure, servers, waves, wall, peak, calls, budget_s):
    report.row(figure, "wall time", wall, "s", f"<= {budget_s} s", None if report.smoke else wall <= budget_s)
    report.row(figure, "of which the simulator serving its calls", calls["simulator_seconds"], "s")
    report.row(figure, "peak memory (process tree)", peak, "MiB")
    report.row(figure, "DRS calls per server, apart from polling (calls naming one server)",
               calls["per_server_per_server"], "", "<= 3", calls["per_server_per_server"] <= 3)
    report.row(figure, f"DRS batch calls ({', '.join(sorted(_batch_operations(calls)))}): per wave",
               calls["batch"] / waves, "")
    report.row(figure, "all DRS calls apart from polling, over servers", calls["non_polling_per_server"], "")
    # Reads grow with waves x polls: each poll round is a few batched calls, never one per server.
    per_wave = servers / waves
    report.row(figure, f"DRS reads and polls ({calls['poll_rounds']} rounds, {waves} waves)", calls["polling"], "")
    report.row(figure, "DRS reads per wave", calls["polling"] / waves, "")
    report.row(figure, "DRS reads per poll round", calls["polling_per_round"], "",
               f"<= 3 (not ~{per_wave:.0f} servers/wave)", calls["polling_per_round"] <= 3)


def bench_failover(report, servers, waves, figure=None, first_launch=False):
    figure = figure or f"failover_{servers}x{waves}"
    budget = 10 if servers <= 100 else 45
    print(f"3. failover.yml, {servers} servers in {waves} waves, instant jobs", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-failover-") as workdir, Simulator(servers, waves, INSTANT) as env:
        inventory = inventory_for(workdir, env.summary, 1, 3600)
        env.sim.clear_requests()
        launched_at = time.time()
        wall, peak, stdout = run_playbook(env.sim.url, workdir, _playbook("failover.yml"), inventory, label="failover")
        requests = env.sim.requests()
        calls = drs_calls(requests, servers)
        durations = wave_durations(env.sim, execution_id(stdout, "FAILOVER"))
    _end_to_end_rows(report, figure, servers, waves, wall, peak, calls, budget)
    if first_launch:
        starts = sorted(_sim_seconds(r["time"]) for r in requests if r.get("operation") == "StartRecovery")
        seconds = starts[0] - launched_at
        report.row("first_launch", "ansible-playbook start to first StartRecovery", seconds, "s", "<= 5 s",
                   None if report.smoke else seconds <= 5)
        report.figures["first_launch"] = {"servers": servers, "waves": waves, "seconds": seconds}
    report.figures[figure] = {"servers": servers, "waves": waves, "seconds": wall, "peak_mib": peak, "calls": calls,
                              "wave_seconds": durations}
    return durations


def bench_failback(report, servers, waves):
    figure = f"failback_{servers}x{waves}"
    print(f"5. failback.yml, {servers} servers in {waves} waves, instant jobs (after an untimed failover)", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-failback-") as workdir, Simulator(servers, waves, INSTANT) as env:
        inventory = inventory_for(workdir, env.summary, 1, 3600)
        run_playbook(env.sim.url, workdir, _playbook("failover.yml"), inventory, label="failover")
        env.sim.clear_requests()
        wall, peak, stdout = run_playbook(env.sim.url, workdir, _playbook("failback.yml"), inventory, label="failback")
        calls = drs_calls(env.sim.requests(), servers)
        durations = wave_durations(env.sim, execution_id(stdout, "FAILBACK"))
    _end_to_end_rows(report, figure, servers, waves, wall, peak, calls, 15)
    report.figures[figure] = {"servers": servers, "waves": waves, "seconds": wall, "peak_mib": peak, "calls": calls,
                              "wave_seconds": durations}


# ----------------------------------------------------------------------------------------------- 4. overhead
def _sim_seconds(stamp):
    return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def bench_overhead(report, servers, waves, time_scale):
    from ansible_collections.elasticdr.orchestration.plugins.module_utils.recovery import WAVE_TAG

    figure = "overhead"
    print(f"4. failover.yml, {servers} servers in {waves} waves, field DRS timings at time scale {time_scale:g}",
          flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-overhead-") as workdir, Simulator(servers, waves, time_scale) as env:
        inventory = inventory_for(workdir, env.summary, 1, 3600)
        wall, peak, stdout = run_playbook(env.sim.url, workdir, _playbook("failover.yml"), inventory, label="overhead")
        jobs = env.sim.client("drs", region=RECOVERY).describe_jobs(filters={})["items"]
        durations = wave_durations(env.sim, execution_id(stdout, "FAILOVER"))
    # Waves run one after the other and the jobs of a wave side by side: the critical path is, per wave, its
    # longest job.
    by_wave = {}
    for job in jobs:
        if job.get("type") != "LAUNCH" or not job.get("endDateTime"):
            continue
        wave = (job.get("tags") or {}).get(WAVE_TAG) or job["creationDateTime"]
        seconds = (_sim_seconds(job["endDateTime"]) - _sim_seconds(job["creationDateTime"])) / time_scale
        by_wave[wave] = max(by_wave.get(wave, 0.0), seconds)
    critical = sum(by_wave.values())
    assert len(by_wave) == waves, f"expected the jobs of {waves} waves, found {sorted(by_wave)}"
    overhead = (wall - critical) / critical
    report.row(figure, "wall time", wall, "s")
    report.row(figure, f"DRS jobs on the critical path ({len(by_wave)} waves)", critical, "s")
    report.row(figure, "orchestration seconds (wall - jobs)", wall - critical, "s")
    report.row(figure, "overhead (wall - jobs) / jobs", overhead * 100, "%", "<= 0.3 %",
               None if report.smoke else overhead <= 0.003)
    real_jobs = critical * time_scale
    if time_scale != 1:
        report.row(figure, "same seconds over the jobs at field timing", (wall - critical) / real_jobs * 100, "%")
    report.figures[figure] = {"servers": servers, "waves": waves, "time_scale": time_scale, "seconds": wall,
                              "peak_mib": peak, "critical_path_seconds": critical, "per_wave_job_seconds": by_wave,
                              "overhead": overhead, "overhead_at_real_timing": (wall - critical) / real_jobs,
                              "wave_seconds": durations}
    return durations


# ----------------------------------------------------------------------------------------------- main
def percentiles(values):
    if len(values) < 2:
        return {"p50": values[0] if values else None, "p95": values[0] if values else None,
                "p99": values[0] if values else None, "n": len(values)}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": statistics.median(values), "p95": cuts[94], "p99": cuts[98], "n": len(values)}


def machine():
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            model = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), "")
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu_model": model or platform.processor(), "python": platform.python_version(),
            "platform": platform.platform()}


def _stop(signum, _frame):
    raise SystemExit(128 + signum)  # unwinds the runs: each stops its ansible-playbook and simulator


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, to check the suite runs; timings mean nothing")
    parser.add_argument("--output", default=RESULTS, help="where to write the JSON results (%(default)s)")
    parser.add_argument("--time-scale", type=float,
                        help="simulated seconds per real second for figure 4 (default: 1, the field timings; 2000 "
                             "with --smoke); a larger scale is quicker and overstates the overhead by about as much")
    parser.add_argument("--only", nargs="+", choices=["matcher", "match_module", "failover", "overhead", "failback"],
                        help="run only these figures")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _stop)
    sizes = SMOKE if args.smoke else FULL
    wanted = set(args.only or ["matcher", "match_module", "failover", "overhead", "failback"])
    report = Report(args.smoke)
    started = time.perf_counter()
    load = {"start": os.getloadavg()[0]}
    waves = []
    if "matcher" in wanted:
        bench_matcher(report, sizes["matcher"])
        report.note_load()
    if "match_module" in wanted:
        bench_match_module(report, sizes["match_module"])
        report.note_load()
    if "failover" in wanted:
        for index, (servers, count) in enumerate(sizes["failover"]):
            waves += bench_failover(report, servers, count, first_launch=index == 0).values()
            report.note_load()
    if "overhead" in wanted:
        waves += bench_overhead(report, *sizes["overhead"], args.time_scale or sizes["overhead_time_scale"]).values()
        report.note_load()
    if "failback" in wanted:
        bench_failback(report, *sizes["failback"])
        report.note_load()
    load["end"] = os.getloadavg()[0]
    for name, figure in report.figures.items():
        load[name] = figure.get("load_average_1m")
    wave_stats = percentiles(sorted(waves)) if waves else None
    results = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(), "load_average_1m": load, "smoke": args.smoke, "seconds": time.perf_counter() - started,
        "figures": report.figures, "wave_seconds": wave_stats, "rows": report.rows,
        "passed": all(r["status"] != "FAIL" for r in report.rows),
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=2, sort_keys=True)
        handle.write("\n")
    print()
    print(report.table())
    if wave_stats:
        print(f"\nper-wave seconds over {wave_stats['n']} waves (runs 3 and 4): P50 {wave_stats['p50']:.1f}, "
              f"P95 {wave_stats['p95']:.1f}, P99 {wave_stats['p99']:.1f}")
    print(f"\n{'all budgets met' if results['passed'] else 'some budgets NOT met'}; results in "
          f"{os.path.relpath(args.output, ROOT)} ({results['seconds']:.0f} s)")
    return 0 if results["passed"] or args.smoke else 1


if __name__ == "__main__":
    sys.exit(main())
