"""ansible-doc renders every module and the inventory plugin; the documented options are exactly the options the
modules accept (same type, default, choices); and the option coverage table in conftest.py names, for every
documented option, tests that exist."""
import ast
import json
import os
import re

import pytest
import yaml

from . import conftest
from .helpers import HERE, MODULES, NS, ROOT, run_tool

# amazon.aws's connection options, merged in by AnsibleAWSModule (not in our argument_spec)
AWS_COMMON = {"access_key", "secret_key", "session_token", "profile", "endpoint_url", "region", "aws_ca_bundle",
              "aws_config", "validate_certs", "debug_botocore_endpoint_logs"}
# Options the table may list as not verifiable against the simulator, with the reason given there
NOT_VERIFIABLE = {"aws_ca_bundle", "validate_certs", "aws_config", "session_token"}
# Shared cross-account options that some modules accept but do not use (no primary-region call)
PRIMARY_REGION_OPTIONS = {"source_region", "source_role_arn", "source_external_id"}
PRIMARY_REGION_MODULES = {"drs_instance_match", "drs_reverse_replication", "drs_preflight", "drs_failback_standby", "drs_wave"}


@pytest.fixture(scope="module")
def docs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("docs")
    proc = run_tool("ansible-doc", ["--json"] + [NS + m for m in MODULES], "http://unused", tmp)
    assert proc.returncode == 0, proc.stderr
    modules = {name[len(NS):]: value["doc"] for name, value in json.loads(proc.stdout).items()}
    proc = run_tool("ansible-doc", ["--json", "-t", "inventory", NS + "drs"], "http://unused", tmp)
    assert proc.returncode == 0, proc.stderr
    modules["inventory"] = json.loads(proc.stdout)[NS + "drs"]["doc"]
    return modules


def test_every_module_is_documented_and_in_the_coverage_table():
    """MODULES drives the documentation and coverage checks: a module missing from it would escape them."""
    shipped = {f[:-3] for f in os.listdir(os.path.join(ROOT, "plugins", "modules")) if f.endswith(".py")}
    assert shipped == set(MODULES)


def test_ansible_doc_renders_every_module_and_the_inventory_plugin(tmp_path):
    proc = run_tool("ansible-doc", [NS + m for m in MODULES], "http://unused", tmp_path)
    assert proc.returncode == 0 and "ERROR" not in proc.stderr, proc.stderr
    for module in MODULES:
        assert f"> MODULE {NS}{module} (" in proc.stdout, module
    assert proc.stdout.count("OPTIONS (= indicates it is required):") == len(MODULES)
    assert proc.stdout.count("EXAMPLES:") == len(MODULES) and proc.stdout.count("RETURN VALUES:") == len(MODULES)
    inventory = run_tool("ansible-doc", ["-t", "inventory", NS + "drs"], "http://unused", tmp_path)
    assert inventory.returncode == 0 and "ERROR" not in inventory.stderr, inventory.stderr
    assert f"> INVENTORY {NS}drs (" in inventory.stdout and "protection_group" in inventory.stdout


def _module_utils_spec(name, attribute):
    source = open(os.path.join(ROOT, "plugins", "module_utils", name + ".py"), encoding="utf-8").read()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == attribute:
            return ast.literal_eval(node.value)
    raise AssertionError(f"no {attribute} in module_utils/{name}.py")


def _argument_spec(module):
    """The options a module accepts: its argument_spec(...) keywords plus the shared cross-account options."""
    source = open(os.path.join(ROOT, "plugins", "modules", module + ".py"), encoding="utf-8").read()
    shared = open(os.path.join(ROOT, "plugins", "module_utils", "module_support.py"), encoding="utf-8").read()
    shared_specs = {}
    for node in ast.walk(ast.parse(shared)):
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) in ("CROSS_ACCOUNT_ARGS",
                                                                                    "PRIMARY_REGION_ARGS"):
            shared_specs[node.targets[0].id] = ast.literal_eval(node.value)
    calls = [n for n in ast.walk(ast.parse(source))
             if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "argument_spec"]
    if not calls:  # a module that calls no AWS API: AnsibleModule(argument_spec={...})
        plain = [kw.value for n in ast.walk(ast.parse(source))
                 if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "AnsibleModule"
                 for kw in n.keywords if kw.arg == "argument_spec"]
        assert len(plain) == 1, module
        return ast.literal_eval(plain[0])
    assert len(calls) == 1, module
    keywords = {}
    for kw in calls[0].keywords:
        if kw.arg is None:  # **module_utils_file.ARGUMENT_SPEC: the one spec a module shares with its action plugin
            keywords.update(_module_utils_spec(kw.value.value.id, kw.value.attr))
        else:
            keywords[kw.arg] = ast.literal_eval(kw.value)
    spec = dict(shared_specs["CROSS_ACCOUNT_ARGS"])
    if keywords.pop("include_source_options", False):
        spec.update(shared_specs["PRIMARY_REGION_ARGS"])
    spec.update(keywords)
    return spec


@pytest.mark.parametrize("module", MODULES)
def test_documented_options_are_the_accepted_options(docs, module):
    documented = docs[module]["options"]
    spec = _argument_spec(module)
    assert set(documented) - AWS_COMMON == set(spec), module
    for name, option in spec.items():
        doc = documented[name]
        assert doc.get("type", "str") == option.get("type", "str"), (module, name)
        assert doc.get("default") == option.get("default"), (module, name)
        assert doc.get("choices") == option.get("choices"), (module, name)
        assert doc.get("elements") == option.get("elements"), (module, name)
        assert bool(doc.get("required")) == bool(option.get("required")), (module, name)


def _coverage_table():
    rows = []
    for line in (conftest.__doc__ or "").splitlines():
        match = re.match(r"^\s*([\w*]+)\s*\|\s*([\w*]+)\s*\|\s*(.+?)\s*$", line)
        if match and match.group(1) != "Module":
            rows.append(match.groups())
    return rows


def _defined_tests():
    tests = set()
    for name in os.listdir(HERE):
        if name.startswith("test_") and name.endswith(".py"):
            source = open(os.path.join(HERE, name), encoding="utf-8").read()
            tests.update(f"{name}::{t}" for t in re.findall(r"^def (test_\w+)\(", source, re.M))
    return tests


def test_option_coverage_table_is_complete(docs):
    rows = _coverage_table()
    assert rows, "no option coverage table in tests/integration/conftest.py"
    defined = _defined_tests()
    table = {}
    for plugin, option, tests in rows:
        table.setdefault((plugin, option), []).append(tests)
        refs = re.findall(r"(test_\w+\.py::test_\w+)", tests)
        if tests.startswith("NOT VERIFIABLE"):
            assert option in NOT_VERIFIABLE and refs == [], (plugin, option)
            continue
        # No stale rows: every option named is documented by its plugin.
        if plugin != "*":
            assert option in docs[plugin]["options"], f"{plugin}.{option} is in the table but not documented"
        assert refs, f"{plugin} {option}: no test named in {tests!r}"
        for ref in refs:
            assert ref in defined, f"{plugin} {option}: {ref} does not exist"
    missing = []
    for plugin, doc in docs.items():
        for option in doc["options"]:
            if (plugin, option) not in table and (plugin == "inventory" or ("*", option) not in table):
                missing.append(f"{plugin}.{option}")
    assert not missing, f"options without a test in the coverage table: {missing}"


def test_only_modules_that_read_the_primary_region_take_its_options(docs):
    for plugin, doc in docs.items():
        if plugin == "inventory":
            continue
        taken = PRIMARY_REGION_OPTIONS & set(doc["options"])
        expected = PRIMARY_REGION_OPTIONS if plugin in PRIMARY_REGION_MODULES else set()
        assert taken == expected, plugin


def test_drs_wave_plan_is_documented(tmp_path):
    # drs_wave_plan makes no AWS call (no connection options); it is exercised by test_failover_playbook.py.
    proc = run_tool("ansible-doc", [NS + "drs_wave_plan"], "http://unused", tmp_path)
    assert proc.returncode == 0 and "ERROR" not in proc.stderr, proc.stderr
    assert "> MODULE elasticdr.orchestration.drs_wave_plan (" in proc.stdout and "hosts_by_wave" in proc.stdout


def test_drs_wave_plan_reads_the_inventory_or_takes_the_hosts_given(tmp_path):
    inventory = {"all": {"hosts": {"localhost": {"ansible_connection": "local"}},
                         "children": {"wave_1": {"hosts": {"db-01": {}}}, "wave_2": {"hosts": {"app-01": {}}},
                                      "other": {"hosts": {"batch-01": {"drs_wave": 3}}}}}}
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "from the inventory", NS + "drs_wave_plan": {}, "register": "read"},
        {"name": "from hosts", NS + "drs_wave_plan": {"hosts": {"x-01": {"drs_wave": 5, "groups": []}}},
         "register": "given"},
        {"ansible.builtin.debug": {"msg": "PLAN {{ read.hosts_by_wave | to_json }} GIVEN {{ given.hosts_by_wave | to_json }}"}},
    ]}]
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inventory), encoding="utf-8")
    (tmp_path / "plan.yml").write_text(yaml.safe_dump(play), encoding="utf-8")
    proc = run_tool("ansible-playbook", [str(tmp_path / "plan.yml"), "-i", str(tmp_path / "hosts.yml")], "http://unused",
                    tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:]
    line = json.loads(next(line for line in proc.stdout.splitlines() if "PLAN " in line).split('"msg": ', 1)[1])
    # The play's host (localhost) is not a protected server; a wave group or a drs_wave puts a host in its wave.
    assert '{"1": ["db-01"], "2": ["app-01"], "3": ["batch-01"]}' in line, line
    assert 'GIVEN {"5": ["x-01"]}' in line, line
