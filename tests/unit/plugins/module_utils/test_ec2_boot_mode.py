"""The boot mode the collection checks is the one a launch-into target boots with (CurrentInstanceBootMode), not the
AMI's parameter (BootMode), which may be uefi-preferred and then boots either way depending on the instance type
(https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instance-boot-mode.html)."""
import pytest

from ansible_collections.elasticdr.orchestration.plugins.module_utils.ec2 import boot_mode_of
from ansible_collections.elasticdr.orchestration.plugins.module_utils.matching import SourceView
from ansible_collections.elasticdr.orchestration.plugins.module_utils.matching import validate_pair

from .fakes import instance
from .fakes import source_server


@pytest.mark.parametrize("fields, expected", [
    ({"BootMode": "uefi-preferred", "CurrentInstanceBootMode": "legacy-bios"}, "legacy-bios"),
    ({"BootMode": "uefi-preferred", "CurrentInstanceBootMode": "uefi"}, "uefi"),
    ({"CurrentInstanceBootMode": "uefi"}, "uefi"),           # an AMI without a boot mode parameter
    ({"BootMode": "legacy-bios"}, "legacy-bios"),             # only the AMI's, naming one mode
    ({"BootMode": "uefi-preferred"}, None),                   # only the AMI's, naming none: unknown
    ({}, None),
])
def test_boot_mode_of_prefers_the_current_boot_mode(fields, expected):
    assert boot_mode_of(fields) == expected


def _boot_check(target_fields, source_fields=None):
    source_instance = dict(instance(1, name="db-01", state="running"), **(source_fields or {}))
    target = dict(instance(2, name="db-01"), **target_fields)
    view = SourceView(source_server("s-1", instance_id=source_instance["InstanceId"]), source_instance, "Name", None)
    return {c["name"]: c for c in validate_pair(view, target, {})}.get("boot_mode")


def test_a_linux_target_from_a_uefi_preferred_ami_that_boots_bios_is_accepted():
    check = _boot_check({"BootMode": "uefi-preferred", "CurrentInstanceBootMode": "legacy-bios"})
    assert check["passed"], check


def test_a_linux_target_that_boots_uefi_is_refused_whatever_its_ami_says():
    check = _boot_check({"BootMode": "uefi-preferred", "CurrentInstanceBootMode": "uefi"})
    assert not check["passed"] and "target boots uefi" in check["message"], check


def test_a_windows_pair_compares_the_modes_both_boot_with():
    windows = {"Platform": "windows"}
    same = _boot_check(dict(windows, BootMode="uefi-preferred", CurrentInstanceBootMode="uefi"),
                       dict(windows, BootMode="uefi"))
    assert same["passed"], same
    other = _boot_check(dict(windows, CurrentInstanceBootMode="legacy-bios"),
                        dict(windows, BootMode="uefi-preferred", CurrentInstanceBootMode="uefi"))
    assert not other["passed"] and "uefi is needed" in other["message"], other
