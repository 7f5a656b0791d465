"""The inventory's wave contract: one integer wave per server, consistent with its wave_<n> group."""
import pytest

from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ConfigurationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.wave_plan import plan_waves


def host(wave, *groups):
    return {"drs_wave": wave, "groups": list(groups)}


def test_waves_run_ascending_with_their_hosts():
    plan = plan_waves({"web-01": host(3, "wave_3"), "db-01": host(1, "wave_1"), "app-01": host("2", "wave_2"),
                       "db-02": host(1, "wave_1", "databases")})
    assert plan["waves"] == [1, 2, 3]
    assert plan["hosts_by_wave"] == {1: ["db-01", "db-02"], 2: ["app-01"], 3: ["web-01"]}


def test_the_wave_group_is_the_wave_without_a_drs_wave_variable():
    plan = plan_waves({"db-01": host(None, "wave_1"), "web-01": host(None, "wave_12", "web"), "app-01": host(2)})
    assert plan["waves"] == [1, 2, 12]
    assert plan["hosts_by_wave"] == {1: ["db-01"], 2: ["app-01"], 12: ["web-01"]}


def test_only_limits_the_waves_and_refuses_an_empty_one():
    hosts = {"a": host(1, "wave_1"), "b": host(2, "wave_2")}
    assert plan_waves(hosts, only=["2"])["waves"] == [2]
    with pytest.raises(ConfigurationError) as caught:
        plan_waves(hosts, only=[5])
    assert "5" in str(caught.value) and "1, 2" in str(caught.value)


@pytest.mark.parametrize("hosts, fragment", [
    ({"a": host(None)}, "a: in no wave"),
    ({"a": host(None, "wave_1", "wave_2")}, "a: in several wave groups (wave_1, wave_2)"),
    ({"a": host("one")}, "a: drs_wave 'one' is not a non-negative integer"),
    ({"a": host(True)}, "a: drs_wave True"),
    ({"a": host(1, "wave_1", "wave_2")}, "a: in several wave groups (wave_1, wave_2)"),
    ({"a": host(2, "wave_1")}, "a: drs_wave is 2 but the host is in group wave_1"),
    ({}, "no protected servers"),
])
def test_contract_violations_name_the_host(hosts, fragment):
    with pytest.raises(ConfigurationError) as caught:
        plan_waves(hosts)
    assert fragment in str(caught.value)


def test_every_host_at_fault_is_named_at_once():
    with pytest.raises(ConfigurationError) as caught:
        plan_waves({"a": host(None), "b": host("x"), "c": host(1, "wave_1")})
    assert [p.split(":")[0] for p in caught.value.details["problems"]] == ["a", "b"]


def test_the_action_plugin_accepts_the_options_the_module_documents():
    import ast
    import os

    from ansible_collections.elasticdr.orchestration.plugins.module_utils.wave_plan import ARGUMENT_SPEC

    path = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "plugins", "modules", "drs_wave_plan.py")
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    (spec,) = [ast.literal_eval(kw.value) for node in ast.walk(tree) if isinstance(node, ast.Call)
               for kw in node.keywords if kw.arg == "argument_spec"]
    assert spec == ARGUMENT_SPEC


def test_the_inventory_hosts_leave_out_the_play_host_unless_it_is_in_a_wave():
    from ansible_collections.elasticdr.orchestration.plugins.module_utils.wave_plan import inventory_hosts

    hostvars = {"localhost": {"group_names": []}, "db-01": {"group_names": ["wave_1"]},
                "app-01": {"group_names": ["apps"], "drs_wave": 2}}
    assert inventory_hosts(hostvars, ["localhost", "db-01", "app-01"], "localhost") == {
        "db-01": {"drs_wave": None, "groups": ["wave_1"]}, "app-01": {"drs_wave": 2, "groups": ["apps"]}}
    # The play host counts when it is a protected server: in a wave group, or with a drs_wave.
    assert "localhost" in inventory_hosts({"localhost": {"group_names": ["wave_3"]}}, ["localhost"], "localhost")
    assert "localhost" in inventory_hosts({"localhost": {"group_names": [], "drs_wave": 1}}, ["localhost"], "localhost")
