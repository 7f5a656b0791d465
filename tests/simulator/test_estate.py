"""Estates and the command line: the generator, building an estate, bad estates, time scale."""
import os
import subprocess
import sys
import time

import pytest
import requests
import yaml

from simlib import PRIMARY, RECOVERY, ROOT, Sim, SimulatorProcess, small_estate

ENV = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "simulator") + os.pathsep + os.environ.get("PYTHONPATH", ""))


def _cli(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "drs_simulator", *args], capture_output=True, text=True,
                          env=ENV, timeout=timeout)


def _tags(item):
    return {t["Key"]: t["Value"] for t in item.get("Tags", [])}


def _instances(ec2, **kwargs):
    return [i for r in ec2.describe_instances(**kwargs)["Reservations"] for i in r["Instances"]]


# ------------------------------------------------------------------ generator


def test_generator_cli(tmp_path):
    result = _cli("estate", "--servers", "20", "--waves", "4")
    assert result.returncode == 0, result.stderr
    doc = yaml.safe_load(result.stdout)
    servers = doc["servers"]
    assert len(servers) == 20
    assert len({s["name"] for s in servers}) == 20
    assert sorted({s["wave"] for s in servers}) == [1, 2, 3, 4]
    waves = [s["wave"] for s in servers]
    assert waves == sorted(waves)
    assert len({s["private_ip"] for s in servers}) == 20
    for server in servers:
        assert server["target"]["private_ip"] == server["private_ip"]
        assert server["subnet"].endswith("-primary") and server["target"]["subnet"].endswith("-recovery")
    assert doc["primary_region"] == PRIMARY and doc["recovery_region"] == RECOVERY
    # Databases come first, web servers last.
    assert servers[0]["tier"] == "db" and servers[-1]["tier"] == "web"

    out = tmp_path / "estate.yml"
    written = _cli("estate", "--servers", "20", "--waves", "4", "-o", str(out))
    assert written.returncode == 0 and written.stdout == ""
    assert yaml.safe_load(out.read_text()) == doc


@pytest.mark.parametrize("servers, waves", [("3", "5"), ("0", "1"), ("4", "0")])
def test_generator_cli_refuses_impossible_sizes(servers, waves):
    result = _cli("estate", "--servers", servers, "--waves", waves)
    assert result.returncode == 2
    assert "waves" in result.stderr and "servers" in result.stderr
    assert result.stdout == ""


# ------------------------------------------------------------------ building an estate


def test_generated_estate_builds_sources_and_targets(sim):
    doc = yaml.safe_load(_cli("estate", "--servers", "20", "--waves", "4").stdout)
    summary = sim.load_estate(doc)
    assert set(summary["servers"]) == {s["name"] for s in doc["servers"]}
    assert sim.requests() == []  # loading an estate clears the request log

    source_ec2 = sim.client("ec2", region=PRIMARY)
    target_ec2 = sim.client("ec2", region=RECOVERY)
    sources = {_tags(i)["Name"]: i for i in _instances(source_ec2)}
    targets = {_tags(i)["Name"]: i for i in _instances(target_ec2)}
    assert set(sources) == set(targets) == set(summary["servers"])
    for server in doc["servers"]:
        name = server["name"]
        source, target = sources[name], targets[name]
        entry = summary["servers"][name]
        assert source["InstanceId"] == entry["source_instance_id"]
        assert target["InstanceId"] == entry["target_instance_id"]
        assert source["State"]["Name"] == "running"
        assert target["State"]["Name"] == "stopped"
        assert _tags(target)["AWSDRS"] == "AllowLaunchingIntoThisInstance"
        assert "AWSDRS" not in _tags(source)
        assert source["PrivateIpAddress"] == target["PrivateIpAddress"] == server["private_ip"]
        assert _tags(source)["drs:wave"] == _tags(target)["drs:wave"] == str(server["wave"])
        assert source["InstanceType"] == server["instance_type"]

    # Every source instance has a DRS source server in the recovery region.
    drs = sim.client("drs", region=RECOVERY)
    items = drs.describe_source_servers(maxResults=1000)["items"]
    assert {s["sourceProperties"]["identificationHints"]["awsInstanceID"] for s in items} == {
        i["InstanceId"] for i in sources.values()}
    assert {s["sourceServerID"] for s in items} == {e["source_server_id"] for e in summary["servers"].values()}
    assert sim.control("GET", "estate")["name"] == doc["name"]
    assert sim.control("GET", "health")["estate"] == doc["name"]


def test_estate_overrides_and_settings(sim):
    doc = small_estate(2, 1, **{"db-02": {"target": {"state": "running", "tag": False},
                                          "replication": {"state": "BACKLOG", "lag_seconds": 300}}})
    doc["settings"] = {"quotas": {"concurrent_jobs": 3}}
    summary = sim.load_estate(doc)
    assert sim.control("GET", "config")["quotas"]["concurrent_jobs"] == 3
    target = _instances(sim.client("ec2", region=RECOVERY),
                        InstanceIds=[summary["servers"]["db-02"]["target_instance_id"]])[0]
    assert target["State"]["Name"] == "running"
    assert "AWSDRS" not in _tags(target)
    drs = sim.client("drs")
    server = drs.describe_source_servers(
        filters={"sourceServerIDs": [summary["servers"]["db-02"]["source_server_id"]]})["items"][0]
    assert server["dataReplicationInfo"]["dataReplicationState"] == "BACKLOG"
    assert server["dataReplicationInfo"]["lagDuration"] == "PT300S"


# ------------------------------------------------------------------ bad estates

def _good():
    return small_estate(3, 1)


def _mutate(change):
    doc = _good()
    change(doc)
    return doc


def _set(path, value):
    def change(doc):
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


# name -> (document: YAML text or a mapping, texts the error must contain)
BAD_ESTATES = {
    "malformed-yaml": ("name: broken\nnetworks: [\n  - {name: x, region: us-east-1\nservers: {\n",
                       ["not valid YAML", "line"]),
    "not-a-mapping": ("- name: db-01\n- name: db-02\n", ["must be a mapping", "networks", "servers"]),
    "unknown-top-level-key": (_mutate(_set(["serverz"], [])), ["unknown top-level key", "serverz", "allowed:"]),
    "unknown-subnet": (_mutate(_set(["servers", 0, "subnet"], "db-primry")),
                       ["server db-01", "db-primry", "known:", "db-primary"]),
    "ip-outside-subnet": (_mutate(_set(["servers", 1, "private_ip"], "10.99.0.5")),
                          ["server db-02", "10.99.0.5", "outside subnet db-primary", "10.10.0.0/18"]),
    "target-ip-outside-subnet": (_mutate(_set(["servers", 2, "target", "private_ip"], "192.168.1.1")),
                                 ["server db-03 target", "192.168.1.1", "db-recovery", "10.10.0.0/18"]),
    "duplicate-name": (_mutate(_set(["servers", 2, "name"], "db-01")), ["server db-01", "used twice"]),
    "duplicate-ip": (_mutate(lambda d: d["servers"][1].update(private_ip=d["servers"][0]["private_ip"])),
                     ["server db-02", "10.10.0.11", "already used", "app-primary"]),
    "bad-architecture": (_mutate(_set(["servers", 0, "architecture"], "sparc")),
                         ["server db-01", "architecture", "x86_64 or arm64"]),
    "same-regions": (_mutate(_set(["recovery_region"], PRIMARY)),
                     ["primary_region", "recovery_region", "must differ"]),
    "bad-settings": (_mutate(_set(["settings"], {"quotas": {"servers_per_wave": 5}})),
                     ["settings", "quotas.servers_per_wave"]),
    "disks-not-a-list": (_mutate(_set(["servers", 0, "disks_gib"], 8)), ["server db-01", "disks_gib"]),
    "tags-not-a-mapping": (_mutate(_set(["servers", 1, "tags"], ["app=billing"])), ["server db-02", "tags"]),
    # A valid settings section must not be applied when the rest of the document is refused.
    "settings-with-bad-server": (
        _mutate(lambda d: (d.update(settings={"quotas": {"concurrent_jobs": 1}}),
                           d["servers"][0].update(subnet="nowhere"))),
        ["server db-01", "nowhere"]),
}

# Cases whose point is what a running simulator keeps (a refused estate must not change settings), or
# that take the same code path as another case: not worth a process start of their own.
CONTROL_ONLY = {"settings-with-bad-server", "target-ip-outside-subnet"}


def _body(document):
    return document if isinstance(document, str) else yaml.safe_dump(document, sort_keys=False)


@pytest.mark.parametrize("case", sorted(BAD_ESTATES))
def test_bad_estate_via_control_endpoint(sim, case):
    document, expected = BAD_ESTATES[case]
    config_before = sim.control("GET", "config")
    response = requests.post(f"{sim.url}/_simulator/estate", data=_body(document).encode(),
                             headers={"Content-Type": "application/yaml"}, timeout=60)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    for text in expected:
        assert text in error, (text, error)
    # Nothing was built or changed, and the simulator keeps serving.
    assert sim.control("GET", "health")["status"] == "ok"
    assert sim.control("GET", "estate") == {}
    assert sim.control("GET", "config") == config_before
    for region in (PRIMARY, RECOVERY):
        assert _instances(sim.client("ec2", region=region)) == []
        assert len(sim.client("ec2", region=region).describe_vpcs()["Vpcs"]) == 1  # the default VPC only
    drs = sim.client("drs")
    with pytest.raises(drs.exceptions.UninitializedAccountException):
        drs.describe_source_servers()
    # A good estate still loads afterwards.
    assert len(sim.load_estate(small_estate(1, 1))["servers"]) == 1


def test_bad_estate_file_stops_serve(tmp_path):
    """`serve --estate bad.yml` exits with code 2 and the same message on stderr (cases run in parallel)."""
    paths, commands = {}, {}
    for case, (document, _expected) in sorted(BAD_ESTATES.items()):
        if case in CONTROL_ONLY:
            continue
        paths[case] = tmp_path / f"{case}.yml"
        paths[case].write_text(_body(document))
        commands[case] = ["serve", "--host", "127.0.0.1", "--port", "0", "--quiet", "--estate", str(paths[case])]
    problems = []
    for case, (rc, stdout, stderr) in _run_parallel(commands).items():
        if rc != 2:
            problems.append(f"{case}: exit code {rc}, stderr {stderr!r}")
        if "listening on" in stdout:
            problems.append(f"{case}: started serving")
        if "Traceback" in stderr:
            problems.append(f"{case}: traceback {stderr!r}")
        missing = [text for text in BAD_ESTATES[case][1] if text not in stderr]
        if missing:
            problems.append(f"{case}: stderr {stderr!r} lacks {missing}")
        if str(paths[case]) not in stderr:
            problems.append(f"{case}: stderr does not name the file {paths[case]}")
    assert not problems, "\n".join(problems)


def _run_parallel(commands, timeout=90):
    """Run CLI invocations at once (each start imports moto: about a second of CPU); {key: (rc, out, err)}."""
    processes = {key: subprocess.Popen([sys.executable, "-m", "drs_simulator", *args], stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True, env=ENV)
                 for key, args in commands.items()}
    results = {}
    try:
        for key, process in processes.items():
            try:
                out, err = process.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                out, err = process.communicate()
                err += "\n(killed: still running)"
            results[key] = (process.returncode, out, err)
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
    return results


def test_serve_refuses_missing_estate_file_and_bad_time_scale(tmp_path):
    missing = tmp_path / "nope.yml"
    commands = {"missing-file": ["serve", "--port", "0", "--estate", str(missing)]}
    for scale in ("0", "-1", "nan", "inf"):
        commands[f"time-scale {scale}"] = ["serve", "--port", "0", f"--time-scale={scale}"]
    results = _run_parallel(commands)
    rc, out, err = results.pop("missing-file")
    assert rc == 2 and "cannot read estate file" in err and str(missing) in err, (rc, err)
    for key, (rc, out, err) in results.items():
        assert rc == 2, (key, rc, err)
        assert "--time-scale must be" in err, (key, err)
        assert "listening on" not in out, key


# ------------------------------------------------------------------ serve --estate / --time-scale


@pytest.fixture
def estate_file(tmp_path):
    path = tmp_path / "estate.yml"
    path.write_text(yaml.safe_dump(small_estate(2, 1, **{"db-01": {"tags": {"owner": "dba"}}})))
    return path


def test_serve_with_estate_builds_it_at_start(estate_file):
    process = SimulatorProcess(estate=str(estate_file))
    try:
        sim = Sim(process.url)
        health = sim.control("GET", "health")
        assert health["estate"] == "generated-2-servers-1-waves"
        assert sim.requests() == []  # building the estate left no entries in the request log
        summary = sim.control("GET", "estate")
        assert set(summary["servers"]) == {"db-01", "db-02"}
        drs = sim.client("drs")
        items = drs.describe_source_servers()["items"]
        assert {s["sourceServerID"] for s in items} == {e["source_server_id"] for e in summary["servers"].values()}
        source = _instances(sim.client("ec2", region=PRIMARY),
                            InstanceIds=[summary["servers"]["db-01"]["source_instance_id"]])[0]
        assert _tags(source)["owner"] == "dba"
        targets = _instances(sim.client("ec2", region=RECOVERY))
        assert sorted(t["State"]["Name"] for t in targets) == ["stopped", "stopped"]
        assert [r["operation"] for r in sim.requests()] == ["DescribeSourceServers", "DescribeInstances",
                                                            "DescribeInstances"]
    finally:
        process.stop()


def test_time_scale_makes_jobs_fast():
    process = SimulatorProcess(time_scale=1000)
    try:
        sim = Sim(process.url)
        assert sim.control("GET", "health")["time_scale"] == 1000.0
        summary = sim.load_estate(small_estate(1, 1))
        config = sim.control("GET", "config")["durations"]
        simulated = config["job_start"] + config["snapshot"] + config["conversion"] + config["launch"]
        assert 500 <= simulated <= 600  # the default durations this test relies on (~555 s)
        drs = sim.client("drs")
        server_id = summary["servers"]["db-01"]["source_server_id"]
        started = time.monotonic()
        job_id = drs.start_recovery(sourceServers=[{"sourceServerID": server_id}], isDrill=True)["job"]["jobID"]
        while True:
            job = drs.describe_jobs(filters={"jobIDs": [job_id]})["items"][0]
            if job["status"] == "COMPLETED":
                break
            assert time.monotonic() - started < 5, f"job still {job['status']} after 5 s of real time"
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        # ~0.56 s at 1000x; at real time it would take over nine minutes.
        assert 0.3 < elapsed < 5
        assert job["participatingServers"][0]["launchStatus"] == "LAUNCHED"
    finally:
        process.stop()
