"""EC2 instances and AMIs in moto given the defaults EC2 gives them, where the collection reads them.

moto 5.2.5 differs from EC2 in a few defaults that a user scripting an estate with plain boto3 meets at once.
Each is corrected here in moto's model (the objects the serializers read), never in a serializer, so moto's own
EC2 serializer and the simulator's faster one (ec2serialize.py) both write the corrected values. The sources are
AWS's EC2 API reference and user guide; docs/simulator.md ("EC2 as EC2 behaves") lists them.

- **Security groups.** "If you don't specify a security group when you launch an instance, the instance is
  launched into the appropriate default security group"
  (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html; RunInstances
  `SecurityGroupIds`: "Default: Amazon EC2 uses the default security group",
  https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_RunInstances.html). moto puts the VPC's default
  group on the primary network interface only and leaves the instance's `SecurityGroups` empty. An instance's
  security groups are those of its primary network interface: here the instance reads and writes them there,
  so DescribeInstances, the ENI, ModifyInstanceAttribute (groups) and ModifyNetworkInterfaceAttribute agree;
  a secondary interface keeps its own groups (moto gave it the instance's as well).
- **Source/destination check** is an attribute of the network interface as well
  (https://docs.aws.amazon.com/vpc/latest/userguide/VPC_NAT_Instance.html#EIP_Disable_SrcDestCheck); the
  instance's value is its primary interface's, as for the groups.
- **Platform.** `Platform` is "windows for Windows instances; otherwise blank"
  (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Instance.html, and likewise
  https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Image.html); moto's AMI list carries `Linux/UNIX`
  there for some Linux images, which their instances inherited. `PlatformDetails` and `UsageOperation`, absent in
  moto, are the billing fields of the AMI (`Linux/UNIX` / `RunInstances`, `Windows` / `RunInstances:0002`,
  https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/billing-info-fields.html).
- **Boot mode.** The AMI boot mode parameter is optional
  (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ami-boot.html); moto gives every AMI `uefi`, so a plain
  Linux x86_64 image would look UEFI-only. An instance's `BootMode` is the one "specified by the AMI" and
  `CurrentInstanceBootMode` the one it boots with: uefi or legacy-bios from the AMI as given; uefi-preferred
  gives uefi where the instance type supports UEFI, else legacy-bios; no AMI boot mode gives the instance
  type's default, uefi on Graviton (arm64), legacy-bios on Intel and AMD
  (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instance-boot-mode.html).
- **Root volume.** An instance launched without block device mappings gets its AMI's root volume at the AMI's
  root device name, of the size of the AMI's snapshot
  (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/block-device-mapping-concepts.html); moto always attached
  an 8 GiB volume at /dev/sda1, so `RootDeviceName` (from the AMI, e.g. /dev/xvda) named no device in
  `BlockDeviceMappings`.
- **Instance profile.** `IamInstanceProfile.Id` is the instance profile's ID
  (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_IamInstanceProfile.html), the one
  DescribeIamInstanceProfileAssociations shows; moto wrote the association's ID there, and kept the first
  profile after ReplaceIamInstanceProfileAssociation. The instance now shows its current association's profile.
- **State reason.** `StateReason` is "the reason for the most recent state transition", given for stopped and
  terminated instances (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_StateReason.html); moto
  wrote an empty `{Code: "", Message: ""}` for running ones, EC2 omits it.
"""
from __future__ import annotations

_APPLIED_MARK = "_drs_simulator_ec2_defaults"

# AMI billing fields by platform (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/billing-info-fields.html).
_BILLING = {"windows": ("Windows", "RunInstances:0002"), None: ("Linux/UNIX", "RunInstances")}
BOOT_MODES = ("legacy-bios", "uefi", "uefi-preferred")


def normal_platform(value) -> str | None:
    """EC2's `Platform`: "windows" for Windows, otherwise nothing."""
    return "windows" if (value or "").strip().lower() == "windows" else None


def supported_boot_modes(instance_type: str | None) -> list[str]:
    """The instance type's SupportedBootModes from moto's instance type table (DescribeInstanceTypes), or []."""
    from moto.ec2.models.instance_types import INSTANCE_TYPES

    return list((INSTANCE_TYPES.get(instance_type or "") or {}).get("SupportedBootModes") or [])


def current_boot_mode(ami_boot_mode: str | None, architecture: str | None, instance_type: str | None) -> str:
    """The boot mode an instance boots with, from its AMI's boot mode parameter and its instance type
    (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instance-boot-mode.html)."""
    if ami_boot_mode in ("uefi", "legacy-bios"):
        return ami_boot_mode
    supported = supported_boot_modes(instance_type)
    if ami_boot_mode == "uefi-preferred":
        return "uefi" if (not supported or "uefi" in supported) else "legacy-bios"
    default = "uefi" if architecture == "arm64" else "legacy-bios"
    if supported and default not in supported:
        return supported[0]
    return default


def _primary_eni(instance):
    nics = instance.__dict__.get("nics")
    return nics.get(0) if nics else None


def _install_instance():
    from moto.ec2.models.instances import Instance

    def get_security_groups(self):
        eni = _primary_eni(self)
        if eni is not None:
            # The interface's own list (ENI.group_set is defined from it below).
            return list(eni._group_set)
        return list(self.__dict__.get("_sim_security_groups") or [])

    def set_security_groups(self, groups):
        groups = list(groups or [])
        self.__dict__["_sim_security_groups"] = groups
        eni = _primary_eni(self)
        if eni is not None and groups:
            eni._group_set = groups

    def get_source_dest_check(self):
        eni = _primary_eni(self)
        if eni is not None:
            return eni.source_dest_check
        return self.__dict__.get("_sim_source_dest_check", True)

    def set_source_dest_check(self, value):
        # ModifyInstanceAttribute passes the request's value through; EC2 answers with a boolean.
        if isinstance(value, str):
            value = value.strip().lower() == "true"
        elif isinstance(value, dict):
            value = str(value.get("Value", True)).strip().lower() == "true"
        self.__dict__["_sim_source_dest_check"] = bool(value)
        eni = _primary_eni(self)
        if eni is not None:
            eni.source_dest_check = bool(value)

    def get_platform(self):
        return self.__dict__.get("_sim_platform")

    def set_platform(self, value):
        self.__dict__["_sim_platform"] = normal_platform(value)

    def get_boot_mode(self):
        return self.__dict__.get("_sim_boot_mode")

    def set_boot_mode(self, value):
        self.__dict__["_sim_boot_mode"] = value if value in BOOT_MODES else None

    def get_current_boot_mode(self):
        return current_boot_mode(self.boot_mode, self.architecture, self.instance_type)

    def get_state_reason(self):
        reason = self.__dict__.get("_sim_state_reason")
        if reason is None or not (reason.code or reason.message):
            return None
        return reason

    def set_state_reason(self, value):
        self.__dict__["_sim_state_reason"] = value

    def get_instance_profile(self):
        association = (getattr(self.ec2_backend, "iam_instance_profile_associations", None) or {}).get(self.id)
        profile = getattr(association, "iam_instance_profile", None)
        if profile is not None:
            return {"Arn": profile.arn, "Id": profile.id}
        return self.__dict__.get("_sim_iam_instance_profile")

    def set_instance_profile(self, value):
        self.__dict__["_sim_iam_instance_profile"] = value

    Instance.security_groups = property(get_security_groups, set_security_groups)
    Instance.iam_instance_profile = property(get_instance_profile, set_instance_profile)
    Instance.source_dest_check = property(get_source_dest_check, set_source_dest_check)
    Instance.platform = property(get_platform, set_platform)
    Instance.platform_details = property(lambda self: _BILLING[self.platform][0])
    Instance.usage_operation = property(lambda self: _BILLING[self.platform][1])
    Instance.usage_operation_update_time = property(lambda self: self.launch_time)
    Instance.boot_mode = property(get_boot_mode, set_boot_mode)
    Instance.current_instance_boot_mode = property(get_current_boot_mode)
    Instance.state_reason = property(get_state_reason, set_state_reason)

    original_init = Instance.__init__

    def __init__(self, ec2_backend, image_id, user_data, security_groups, **kwargs):
        original_init(self, ec2_backend, image_id, user_data, security_groups, **kwargs)
        ami = ec2_backend.amis.get(self.image_id) if getattr(ec2_backend, "amis", None) else None
        # The AMI's boot mode parameter, as given (none when the AMI has none).
        self.boot_mode = getattr(ami, "boot_mode", None)

    def setup_defaults(self):
        ami = self.ec2_backend.amis.get(self.image_id)
        size, snapshot_id = 8, None
        root = next((m for m in (ami.block_device_mappings if ami is not None else [])
                     if m.get("DeviceName") == ami.root_device_name), None)
        if root is not None:
            size = int(root["Ebs"].get("VolumeSize") or size)
            snapshot_id = root["Ebs"].get("SnapshotId")
        try:
            volume = self.ec2_backend.create_volume(size=size, zone_name=self._placement.zone, snapshot_id=snapshot_id)
        except Exception:  # the AMI's snapshot is gone (deleted by a test): the volume is still created
            volume = self.ec2_backend.create_volume(size=size, zone_name=self._placement.zone)
        self.ec2_backend.attach_volume(volume.id, self.id, self.root_device_name or "/dev/sda1", True)

    Instance.__init__ = __init__
    Instance.setup_defaults = setup_defaults


def _install_network_interface():
    from moto.ec2.models.elastic_network_interfaces import NetworkInterface

    # moto added the instance's groups to every interface attached to it; each interface has its own groups
    # (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/using-eni.html), and the instance's are its primary
    # interface's (above), so an interface's groups are its own list.
    NetworkInterface.group_set = property(lambda self: list(self._group_set))


def _install_ami():
    from moto.ec2.models.amis import Ami

    original_init = Ami.__init__

    def __init__(self, *args, **kwargs):
        given = kwargs.get("boot_mode")
        original_init(self, *args, **kwargs)
        self.boot_mode = given if given in BOOT_MODES else None
        self.platform = normal_platform(self.platform)
        self.platform_details, self.usage_operation = _BILLING[self.platform]

    Ami.__init__ = __init__


def install() -> None:
    """Patch moto's Instance and Ami once per process (before any backend creates them)."""
    from moto.ec2.models.instances import Instance

    if getattr(Instance, _APPLIED_MARK, False):
        return
    _install_ami()
    _install_network_interface()
    _install_instance()
    setattr(Instance, _APPLIED_MARK, True)
