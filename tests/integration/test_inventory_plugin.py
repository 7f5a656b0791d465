"""The inventory plugin elasticdr.orchestration.drs against the simulator, through ansible-inventory: hosts named
by tag in wave_<n> groups with the inventory contract's variables, constructed options, naming and wave options,
filters, caching, errors, and assumed roles."""
import json
import time

import yaml

from simlib import PRIMARY, small_estate

from .helpers import ACCESS_KEY, EXTERNAL_ID, ROLE_222, SECRET_KEY, cross_account_estate, run_tool

STAGING = "444444444444"
# a failing inventory source must fail ansible-inventory, not only warn
STRICT = {"ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true"}


def _plain(value):
    """ansible-inventory's JSON marks values from plugins as unsafe: {"__ansible_unsafe": v} -> v."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class Inventory:
    def __init__(self, proc):
        self.proc = proc
        assert proc.returncode == 0, f"ansible-inventory failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        self.data = _plain(json.loads(proc.stdout))
        self.hostvars = self.data["_meta"]["hostvars"]

    def hosts(self, group):
        return sorted(self.data.get(group, {}).get("hosts", []))

    @property
    def all_vars(self):
        return self.data["all"].get("vars", {})

    @property
    def groups(self):
        return sorted(k for k in self.data if k not in ("_meta", "all", "ungrouped"))


def _inventory(sim, tmp_path, name, config, env=None, expect_ok=True, extra=(), from_env=True):
    """ansible-inventory --list --export on <name>.drs.yml; from_env=False: no endpoint/keys in the environment."""
    path = tmp_path / f"{name}.drs.yml"
    path.write_text(yaml.safe_dump(dict({"plugin": "elasticdr.orchestration.drs", "regions": ["us-west-2"],
                                         "protection_group": "shop"}, **config), sort_keys=False))
    proc = run_tool("ansible-inventory", ["-i", str(path), "--list", "--export"] + list(extra), sim.url, tmp_path,
                    env=dict(STRICT, **(env or {})), credentials=from_env, endpoint=from_env)
    return Inventory(proc) if expect_ok else proc


def test_hosts_groups_and_contract_variables(sim, tmp_path):
    # db-01/02 wave 1, app-01/02 wave 2, web-01/02 wave 3; app-02 replicates through a staging account
    summary = sim.load_estate(small_estate(6, 3, **{"app-02": {"staging_account": STAGING}}))
    servers = summary["servers"]
    drs = sim.client("drs")
    drs.tag_resource(resourceArn=servers["db-01"]["source_server_arn"], tags={"dr-host": "database-one", "dr-wave": "5"})
    drs.untag_resource(resourceArn=servers["web-02"]["source_server_arn"], tagKeys=["drs:wave"])

    basic = _inventory(sim, tmp_path, "basic", {
        "state_table_prefix": "dr-state",
        # without strict, a compose expression that fails is skipped
        "compose": {"label": "drs_source_server_id ~ '@' ~ drs_wave", "broken": "no_such_variable.attribute"},
        "keyed_groups": [{"key": "drs_replication_state", "prefix": "repl"}],
        "groups": {"first_wave": "drs_wave == 1"},
    })
    assert basic.hosts("wave_1") == ["db-01", "db-02"]
    assert basic.hosts("wave_2") == ["app-01", "app-02"]
    assert basic.hosts("wave_3") == ["web-01"]  # web-02 lost its wave tag: skipped, with a warning
    assert "web-02" in basic.proc.stderr and "drs:wave" in basic.proc.stderr
    assert basic.all_vars == {"drs_primary_region": "us-east-1", "drs_recovery_region": "us-west-2",
                              "drs_protection_group": "shop", "drs_state_table_prefix": "dr-state"}
    for name, host in basic.hostvars.items():
        expected = servers[name]
        assert host["drs_wave"] == expected["wave"] and isinstance(host["drs_wave"], int)
        assert host["drs_source_server_id"] == expected["source_server_id"]
        assert host["drs_source_server_arn"] == expected["source_server_arn"]
        assert host["drs_source_instance_id"] == expected["source_instance_id"]
        assert host["drs_source_private_ip"] == expected["source_private_ip"]
        assert host["drs_replication_state"] == "CONTINUOUS" and host["drs_lag_seconds"] == 5.0
        assert host["drs_replication_direction"] == "FAILOVER"
        assert host["drs_staging_account_id"] == (STAGING if name == "app-02" else None)
        assert host["label"] == f"{expected['source_server_id']}@{expected['wave']}"  # compose
        assert "broken" not in host
    assert basic.hosts("repl_CONTINUOUS") == sorted(basic.hostvars)  # keyed_groups
    assert basic.hosts("first_wave") == ["db-01", "db-02"]  # groups

    named = _inventory(sim, tmp_path, "named", {"hostname_tag": "dr-host", "require_hostname_tag": True,
                                                "wave_tag": "dr-wave"})
    assert sorted(named.hostvars) == ["database-one"] and named.hosts("wave_5") == ["database-one"]
    assert named.hostvars["database-one"]["drs_source_server_id"] == servers["db-01"]["source_server_id"]
    assert "has no dr-host tag; skipped" in named.proc.stderr

    defaulted = _inventory(sim, tmp_path, "defaulted", {
        "default_wave": 9, "primary_region": "eu-west-1",
        "keyed_groups": [{"key": "drs_replication_direction", "prefix": ""}], "leading_separator": False,
        "compose": {"environment": "dr_environment"}, "use_extra_vars": True,
    }, extra=["-e", "dr_environment=rehearsal"])
    assert defaulted.hosts("wave_9") == ["web-02"] and len(defaulted.hostvars) == 6
    assert defaulted.all_vars["drs_primary_region"] == "eu-west-1"
    assert defaulted.all_vars["drs_state_table_prefix"] == "drs-orchestration"
    assert defaulted.hosts("FAILOVER") == sorted(defaulted.hostvars)  # no leading "_"
    assert {h["environment"] for h in defaulted.hostvars.values()} == {"rehearsal"}  # extra vars in compose

    staged = _inventory(sim, tmp_path, "staged", {"staging_account_ids": [STAGING]})
    assert sorted(staged.hostvars) == ["app-02"]
    assert staged.all_vars["drs_staging_account_id"] == STAGING


def test_inventory_errors(sim, tmp_path):
    summary = sim.load_estate(small_estate(3, 1))
    drs = sim.client("drs")
    two_regions = _inventory(sim, tmp_path, "two_regions", {"regions": ["us-west-2", "us-east-2"]}, expect_ok=False)
    assert two_regions.returncode != 0 and "regions must name exactly one recovery region" in two_regions.stderr

    drs.tag_resource(resourceArn=summary["servers"]["db-03"]["source_server_arn"], tags={"drs:wave": "three"})
    bad_wave = _inventory(sim, tmp_path, "bad_wave", {}, expect_ok=False)
    assert bad_wave.returncode != 0 and "drs:wave='three'" in bad_wave.stderr and "db-03" in bad_wave.stderr

    drs.tag_resource(resourceArn=summary["servers"]["db-03"]["source_server_arn"], tags={"drs:wave": "1"})
    strict = _inventory(sim, tmp_path, "strict", {"strict": True, "compose": {"broken": "no_such_variable.attribute"}},
                        expect_ok=False)
    assert strict.returncode != 0 and "no_such_variable" in strict.stderr

    drs.tag_resource(resourceArn=summary["servers"]["db-02"]["source_server_arn"], tags={"Name": "db-01"})
    duplicate = _inventory(sim, tmp_path, "duplicate", {}, expect_ok=False)
    assert duplicate.returncode != 0
    assert "Two DRS source servers are named db-01" in duplicate.stderr
    assert summary["servers"]["db-01"]["source_server_id"] in duplicate.stderr
    assert summary["servers"]["db-02"]["source_server_id"] in duplicate.stderr


def test_assumed_role(sim, tmp_path):
    summary = sim.load_estate(cross_account_estate("222222222222"))
    role = {"assume_role_arn": ROLE_222, "external_id": EXTERNAL_ID}
    # endpoint and keys from the inventory file only
    with_role = _inventory(sim, tmp_path, "role", dict(role, endpoint_url=sim.url, access_key=ACCESS_KEY,
                                                       secret_key=SECRET_KEY), from_env=False)
    assert sorted(with_role.hostvars) == sorted(summary["servers"])
    assert with_role.all_vars["drs_target_role_arn"] == ROLE_222
    # the ExternalId is a secret: used to assume the role, never published (ansible-inventory --list, AWX)
    assert "drs_external_id" not in with_role.all_vars
    assert EXTERNAL_ID not in with_role.proc.stdout and EXTERNAL_ID not in with_role.proc.stderr
    assert all(h["drs_source_server_arn"].split(":")[4] == "222222222222" for h in with_role.hostvars.values())

    refused = _inventory(sim, tmp_path, "no_external_id", {"assume_role_arn": ROLE_222}, expect_ok=False)
    assert refused.returncode != 0 and "needs external_id" in refused.stderr

    sim.clear_requests()
    credentials = tmp_path / "credentials"
    credentials.write_text(f"[simprofile]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n")
    allowed = _inventory(sim, tmp_path, "allowed", {"assume_role_arn": ROLE_222, "require_external_id": False,
                                                    "endpoint_url": sim.url, "profile": "simprofile",
                                                    "region": "us-west-2"},
                         from_env=False, env={"AWS_SHARED_CREDENTIALS_FILE": str(credentials)})
    assert len(allowed.hostvars) == 2 and "drs_external_id" not in allowed.all_vars
    assert {r["account"] for r in sim.requests(service="drs")} == {"222222222222"}
    assert [r["region"] for r in sim.requests(service="sts")] == ["us-west-2"]



def test_playbooks_get_the_external_id_from_the_environment_not_from_the_inventory(sim, tmp_path):
    """The plugin assumes its role with external_id and publishes only the role; the modules read the ExternalId
    from DRS_EXTERNAL_ID (their external_id option's fallback), the way the roles pass it (drs_external_id or omit)."""
    sim.load_estate(cross_account_estate("222222222222"))
    source = tmp_path / "shop.drs.yml"
    source.write_text(yaml.safe_dump({"plugin": "elasticdr.orchestration.drs", "regions": ["us-west-2"],
                                      "protection_group": "shop", "assume_role_arn": ROLE_222,
                                      "external_id": "{{ lookup('env', 'DRS_EXTERNAL_ID') }}"}, sort_keys=False))
    playbook = tmp_path / "read.yml"
    playbook.write_text(yaml.safe_dump([{"hosts": "all", "gather_facts": False, "connection": "local", "tasks": [
        {"name": "Read the source servers as the recovery account role", "run_once": True,
         "elasticdr.orchestration.drs_source_server_info": {
             "region": "{{ drs_recovery_region }}", "target_role_arn": "{{ drs_target_role_arn }}",
             "external_id": "{{ drs_external_id | default(omit, true) }}"},
         "register": "found"},
        {"name": "Show the count", "run_once": True, "ansible.builtin.debug": {
            "msg": "servers={{ found.source_servers | length }}"}}]}]))
    env = dict(STRICT, DRS_EXTERNAL_ID=EXTERNAL_ID)
    listed = run_tool("ansible-inventory", ["-i", str(source), "--list"], sim.url, tmp_path, env=env)
    assert listed.returncode == 0, listed.stderr
    assert EXTERNAL_ID not in listed.stdout and ROLE_222 in listed.stdout
    sim.clear_requests()
    ran = run_tool("ansible-playbook", ["-i", str(source), str(playbook)], sim.url, tmp_path, env=env, timeout=300)
    assert ran.returncode == 0, ran.stdout[-3000:]
    assert "servers=2" in ran.stdout and EXTERNAL_ID not in ran.stdout
    assert {r["account"] for r in sim.requests(service="drs")} == {"222222222222"}
    # without the variable in the environment, the module refuses the role before any call to it
    inventory_only = tmp_path / "static.yml"
    inventory_only.write_text(yaml.safe_dump({"all": {"hosts": {"xa-01": {}}, "vars": {
        "drs_recovery_region": "us-west-2", "drs_target_role_arn": ROLE_222}}}))
    refused = run_tool("ansible-playbook", ["-i", str(inventory_only), str(playbook)], sim.url, tmp_path,
                       env=STRICT, timeout=300)
    assert refused.returncode != 0 and "needs an ExternalId" in refused.stdout, refused.stdout[-3000:]

def test_failback_direction_and_cache(sim, tmp_path):
    summary = sim.load_estate(small_estate(2, 1))
    server = summary["servers"]["db-01"]
    drs = sim.client("drs")
    job = drs.start_recovery(sourceServers=[{"sourceServerID": server["source_server_id"]}], isDrill=False)["job"]
    job = sim.run_job(drs, job["jobID"])
    recovery_instance = job["participatingServers"][0]["recoveryInstanceID"]
    drs.reverse_replication(recoveryInstanceID=recovery_instance)

    failback = _inventory(sim, tmp_path, "failback", {"regions": [PRIMARY], "replication_direction": "FAILBACK",
                                                      "default_wave": 1})
    assert len(failback.hostvars) == 1
    host = next(iter(failback.hostvars.values()))
    assert host["drs_replication_direction"] == "FAILBACK"
    assert host["drs_source_instance_id"] == recovery_instance
    assert failback.all_vars["drs_recovery_region"] == PRIMARY
    failover = _inventory(sim, tmp_path, "failover", {"regions": [PRIMARY], "default_wave": 1})
    assert failover.hostvars == {}

    cache = {"cache": True, "cache_plugin": "ansible.builtin.jsonfile", "cache_connection": str(tmp_path / "cache"),
             "cache_timeout": 3600, "cache_prefix": "drs_it_"}
    first = _inventory(sim, tmp_path, "cached", cache)
    assert sorted(first.hostvars) == ["db-01", "db-02"]
    assert [p.name.startswith("drs_it_") for p in (tmp_path / "cache").iterdir()] == [True]
    drs.tag_resource(resourceArn=server["source_server_arn"], tags={"Name": "db-01-renamed"})
    sim.clear_requests()
    cached = _inventory(sim, tmp_path, "cached", cache)
    assert sorted(cached.hostvars) == ["db-01", "db-02"]  # served from the cache
    assert sim.requests(service="drs") == []
    flushed = _inventory(sim, tmp_path, "cached", cache, extra=["--flush-cache"])
    assert sorted(flushed.hostvars) == ["db-01-renamed", "db-02"]
    # an expired cache is read again
    drs.tag_resource(resourceArn=server["source_server_arn"], tags={"Name": "db-01-again"})
    time.sleep(1.2)
    expired = _inventory(sim, tmp_path, "cached", dict(cache, cache_timeout=1))
    assert sorted(expired.hostvars) == ["db-01-again", "db-02"]
