# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Launch-configuration planning for launch into an existing instance: rules, idempotence, diff."""

import threading
import time

import pytest

from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ConfigurationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.launch_config import LaunchSettings
from ansible_collections.elasticdr.orchestration.plugins.module_utils.launch_config import choose_template
from ansible_collections.elasticdr.orchestration.plugins.module_utils.launch_config import configuration_from_template
from ansible_collections.elasticdr.orchestration.plugins.module_utils.launch_config import desired_configuration
from ansible_collections.elasticdr.orchestration.plugins.module_utils.launch_config import for_each_server
from ansible_collections.elasticdr.orchestration.plugins.module_utils.launch_config import managed_view
from ansible_collections.elasticdr.orchestration.plugins.module_utils.launch_config import plan_template
from ansible_collections.elasticdr.orchestration.plugins.module_utils.launch_config import plan_update

TARGET = "i-0123456789abcdef0"


def drs_default(**changes):
    """A launch configuration as DRS creates it for a new source server."""
    config = {"sourceServerID": "s-0123456789abcdef0", "name": "web-01", "ec2LaunchTemplateID": "lt-0123456789abcdef0",
              "launchDisposition": "STARTED", "targetInstanceTypeRightSizingMethod": "BASIC", "copyPrivateIp": True,
              "copyTags": True, "licensing": {"osByol": True}, "postLaunchEnabled": False}
    config.update(changes)
    return config


@pytest.mark.parametrize("option", ["copy_private_ip", "copy_tags"])
def test_validate_refuses_copy_options_with_launch_into_naming_the_option(option):
    with pytest.raises(ConfigurationError) as info:
        LaunchSettings(launch_into=True, **{option: True}).validate()
    assert info.value.message.startswith(f"{option}=true")
    assert f"Remove {option}" in info.value.remediation
    assert "copyPrivateIp or copyTags" in info.value.remediation


@pytest.mark.parametrize("option", ["copy_private_ip", "copy_tags"])
def test_copy_options_are_allowed_without_launch_into(option):
    settings = LaunchSettings(launch_into=False, **{option: True})
    settings.validate()
    desired = desired_configuration(drs_default(), settings)
    field = {"copy_private_ip": "copyPrivateIp", "copy_tags": "copyTags"}[option]
    assert desired[field] is True
    assert desired["launchIntoInstanceProperties"] == {}


@pytest.mark.parametrize("kwargs,word", [({"launch_disposition": "RUNNING"}, "launch_disposition"),
                                         ({"right_sizing": "SMART"}, "right_sizing")])
def test_validate_refuses_unknown_enum_values(kwargs, word):
    with pytest.raises(ConfigurationError) as info:
        LaunchSettings(**kwargs).validate()
    assert word in info.value.message


def test_defaults_validate():
    LaunchSettings().validate()


def test_desired_forces_copy_private_ip_and_copy_tags_off_with_launch_into():
    # Even settings that skipped validate() never produce a configuration DRS would refuse.
    settings = LaunchSettings(launch_into=True, copy_private_ip=True, copy_tags=True)
    desired = desired_configuration(drs_default(), settings, TARGET)
    assert desired["copyPrivateIp"] is False and desired["copyTags"] is False
    assert desired["launchIntoInstanceProperties"] == {"launchIntoEC2InstanceID": TARGET}
    assert desired["targetInstanceTypeRightSizingMethod"] == "NONE"


def test_desired_keeps_unmanaged_current_values_unless_given():
    current = drs_default(licensing={"osByol": True}, postLaunchEnabled=True)
    kept = desired_configuration(current, LaunchSettings(), TARGET)
    assert kept["licensing"] == {"osByol": True} and kept["postLaunchEnabled"] is True
    changed = desired_configuration(current, LaunchSettings(os_byol=False, post_launch_enabled=False), TARGET)
    assert changed["licensing"] == {"osByol": False} and changed["postLaunchEnabled"] is False
    assert desired_configuration({}, LaunchSettings(), TARGET)["licensing"] == {"osByol": False}


def test_plan_update_from_drs_defaults_lists_every_change_with_a_diff():
    current = drs_default()
    desired = desired_configuration(current, LaunchSettings(launch_disposition="STOPPED"), TARGET)
    changes, before, after = plan_update(current, desired)
    assert changes == {
        "launchDisposition": "STOPPED", "targetInstanceTypeRightSizingMethod": "NONE", "copyPrivateIp": False,
        "copyTags": False, "launchIntoInstanceProperties": {"launchIntoEC2InstanceID": TARGET},
    }
    assert before["copyPrivateIp"] is True and before["launchIntoInstanceProperties"] == {}
    assert after["copyPrivateIp"] is False and after["launchIntoInstanceProperties"] == {"launchIntoEC2InstanceID": TARGET}
    assert before["licensing"] == after["licensing"] == {"osByol": True}
    # Only the managed fields appear in the diff.
    assert "ec2LaunchTemplateID" not in before and "name" not in after


def test_plan_update_is_empty_once_applied():
    current = drs_default()
    settings = LaunchSettings()
    changes, _before, after = plan_update(current, desired_configuration(current, settings, TARGET))
    applied = dict(current, **changes)
    changes_again, before_again, after_again = plan_update(applied, desired_configuration(applied, settings, TARGET))
    assert changes_again == {}
    assert before_again == after_again == after


def test_plan_update_detects_a_different_target_only():
    current = drs_default(launchDisposition="STARTED", targetInstanceTypeRightSizingMethod="NONE", copyPrivateIp=False,
                          copyTags=False, launchIntoInstanceProperties={"launchIntoEC2InstanceID": TARGET})
    other = "i-0fedcba9876543210"
    changes, before, after = plan_update(current, desired_configuration(current, LaunchSettings(), other))
    assert changes == {"launchIntoInstanceProperties": {"launchIntoEC2InstanceID": other}}
    assert before["launchIntoInstanceProperties"]["launchIntoEC2InstanceID"] == TARGET
    assert after["launchIntoInstanceProperties"]["launchIntoEC2InstanceID"] == other


def test_plan_update_turns_launch_into_off():
    current = drs_default(targetInstanceTypeRightSizingMethod="NONE", copyPrivateIp=False, copyTags=False,
                          launchIntoInstanceProperties={"launchIntoEC2InstanceID": TARGET})
    changes, _before, after = plan_update(current, desired_configuration(current, LaunchSettings(launch_into=False)))
    assert changes == {"launchIntoInstanceProperties": {}}
    assert after["launchIntoInstanceProperties"] == {}


def test_managed_view_normalises_missing_and_null_values():
    view = managed_view({"launchIntoInstanceProperties": {"launchIntoEC2InstanceID": None}, "licensing": None})
    assert view == {"launchDisposition": None, "targetInstanceTypeRightSizingMethod": None, "copyPrivateIp": False,
                    "copyTags": False, "licensing": {"osByol": False}, "postLaunchEnabled": False,
                    "launchIntoInstanceProperties": {}}


def test_for_each_server_keeps_the_order_overlaps_the_calls_and_raises_the_first_error():
    in_flight, peak, lock = [0], [0], threading.Lock()

    def call(item):
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        time.sleep(0.02)
        with lock:
            in_flight[0] -= 1
        if item == "bad":
            raise ValueError(item)
        return item.upper()

    assert for_each_server(call, ["a", "b", "c", "d", "e", "f"], workers=3) == ["A", "B", "C", "D", "E", "F"]
    assert peak[0] == 3
    peak[0] = 0
    assert for_each_server(call, ["a", "b"], workers=1) == ["A", "B"] and peak[0] == 1
    with pytest.raises(ValueError, match="bad"):
        for_each_server(call, ["a", "bad", "c"], workers=2)


def drs_template(template_id="lct-0123456789abcdef0", **changes):
    """A region's launch configuration template as DRS creates it when the service is initialised."""
    template = {"launchConfigurationTemplateID": template_id, "launchDisposition": "STARTED",
                "targetInstanceTypeRightSizingMethod": "BASIC", "copyPrivateIp": False, "copyTags": False,
                "licensing": {"osByol": False}, "postLaunchEnabled": False, "launchIntoSourceInstance": False}
    template.update(changes)
    return template


def test_plan_template_turns_launch_into_source_on_and_only_what_differs():
    changes, before, after = plan_template(drs_template(copyTags=True), LaunchSettings(launch_disposition="STOPPED"))
    assert changes == {"launchIntoSourceInstance": True, "launchDisposition": "STOPPED",
                       "targetInstanceTypeRightSizingMethod": "NONE", "copyTags": False}
    assert before["launchIntoSourceInstance"] is False and before["copyTags"] is True
    assert after == dict(before, **changes)
    # Fields the collection does not manage are left alone, and a second plan has nothing to do.
    assert "licensing" not in changes and "postLaunchEnabled" not in changes
    applied = dict(drs_template(copyTags=True), **changes)
    assert plan_template(applied, LaunchSettings(launch_disposition="STOPPED"))[0] == {}


def test_choose_template_names_the_template_or_the_region_at_fault():
    one, two = drs_template("lct-1"), drs_template("lct-2")
    assert choose_template([one], None, "us-east-1") is one
    assert choose_template([one, two], "lct-2", "us-east-1") is two
    with pytest.raises(ConfigurationError) as info:
        choose_template([one, two], None, "us-east-1")
    assert "lct-1, lct-2" in str(info.value) and "template_id" in info.value.remediation
    with pytest.raises(ConfigurationError) as info:
        choose_template([one], "lct-9", "us-east-1")
    assert info.value.server == "lct-9" and "lct-1" in info.value.remediation
    with pytest.raises(ConfigurationError) as info:
        choose_template([], None, "us-east-1")
    assert info.value.server == "us-east-1" and "Initialize" in info.value.remediation


def test_a_server_created_from_a_launch_into_source_template_needs_no_update():
    template = dict(drs_template(), **plan_template(drs_template(), LaunchSettings())[0])
    current = configuration_from_template(template, TARGET)
    assert current["launchIntoInstanceProperties"] == {"launchIntoEC2InstanceID": TARGET}
    changes, _before, _after = plan_update(current, desired_configuration(current, LaunchSettings(), TARGET))
    assert changes == {}
    # Another disposition asked for than the template's is still sent.
    changes, _before, _after = plan_update(
        current, desired_configuration(current, LaunchSettings(launch_disposition="STOPPED"), TARGET))
    assert changes == {"launchDisposition": "STOPPED"}


def test_a_template_without_launch_into_source_gives_no_target():
    current = configuration_from_template(drs_template(), TARGET)
    assert current["launchIntoInstanceProperties"] == {}
    changes, _before, _after = plan_update(current, desired_configuration(current, LaunchSettings(), TARGET))
    assert changes["launchIntoInstanceProperties"] == {"launchIntoEC2InstanceID": TARGET}
    assert changes["targetInstanceTypeRightSizingMethod"] == "NONE"
