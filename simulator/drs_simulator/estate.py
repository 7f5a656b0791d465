"""Estate files: build a whole DR estate (VPCs, subnets, source instances, DRS source servers and
pre-provisioned launch-into targets) at start-up, and generate estates of any size.

The format is documented, with a commented example, in docs/simulator.md and simulator/estates/demo.yml.
"""
from __future__ import annotations

import copy
import ipaddress

DEFAULT_ACCOUNT = "123456789012"
_SERVER_KEYS = {"name", "wave", "tier", "account", "subnet", "private_ip", "instance_type", "architecture", "platform",
                "boot_mode", "disks_gib", "tags", "target", "replication", "staging_account", "drs_account"}
_TARGET_KEYS = {"account", "subnet", "private_ip", "instance_type", "architecture", "platform", "boot_mode",
                "tag", "state", "tags", "create"}
_TOP_KEYS = {"name", "description", "primary_region", "recovery_region", "default_account", "settings",
             "networks", "servers", "drs_initialized"}


class EstateError(ValueError):
    """An estate document that cannot be built; the message names the entry and the fix."""


def _require(cond, message):
    if not cond:
        raise EstateError(message)


def load_estate(runtime, data, source="estate"):
    """Validate the whole document first, then build it. Returns a summary of what was created."""
    _require(isinstance(data, dict), f"{source}: an estate must be a mapping with 'networks' and 'servers'")
    unknown = set(data) - _TOP_KEYS
    _require(not unknown, f"{source}: unknown top-level key(s) {', '.join(sorted(unknown))}; "
                          f"allowed: {', '.join(sorted(_TOP_KEYS))}")
    primary = data.get("primary_region", "us-east-1")
    recovery = data.get("recovery_region", "us-west-2")
    default_account = str(data.get("default_account", DEFAULT_ACCOUNT))
    _require(primary != recovery, f"{source}: primary_region and recovery_region must differ")
    settings = data.get("settings")
    if settings:
        try:  # validate now; apply only once the whole document is valid
            copy.deepcopy(runtime.config).update(settings)
        except ValueError as exc:
            raise EstateError(f"{source}: settings: {exc}") from exc

    networks = data.get("networks") or []
    _require(isinstance(networks, list) and networks, f"{source}: 'networks' must be a non-empty list")
    subnets = {}
    plans = []
    for index, net in enumerate(networks):
        where = f"{source}: networks[{index}]"
        _require(isinstance(net, dict), f"{where} must be a mapping")
        for key in ("name", "region", "cidr", "subnets"):
            _require(key in net, f"{where} needs '{key}'")
        _require(net["region"] in (primary, recovery), f"{where}: region {net['region']} is neither the primary "
                                                       f"({primary}) nor the recovery ({recovery}) region")
        try:
            vpc_net = ipaddress.IPv4Network(net["cidr"])
        except ValueError as exc:
            raise EstateError(f"{where}: cidr {net['cidr']!r} is not a network ({exc})") from exc
        account = str(net.get("account", default_account))
        for sindex, sub in enumerate(net["subnets"]):
            swhere = f"{where}.subnets[{sindex}]"
            _require(isinstance(sub, dict) and "name" in sub and "cidr" in sub, f"{swhere} needs 'name' and 'cidr'")
            _require(sub["name"] not in subnets, f"{swhere}: subnet name {sub['name']} is used twice")
            try:
                sub_net = ipaddress.IPv4Network(sub["cidr"])
            except ValueError as exc:
                raise EstateError(f"{swhere}: cidr {sub['cidr']!r} is not a network ({exc})") from exc
            _require(sub_net.subnet_of(vpc_net), f"{swhere}: {sub['cidr']} is not inside the VPC {net['cidr']}")
            subnets[sub["name"]] = {"network": net["name"], "account": account, "region": net["region"],
                                    "cidr": sub_net, "az": sub.get("az", net["region"] + "a")}
        plans.append((net, account, vpc_net))

    servers = data.get("servers") or []
    _require(isinstance(servers, list) and servers, f"{source}: 'servers' must be a non-empty list")
    names = set()
    used_ips = set()
    for index, server in enumerate(servers):
        where = f"{source}: servers[{index}]"
        _require(isinstance(server, dict) and server.get("name"), f"{where} needs a 'name'")
        where = f"{source}: server {server['name']}"
        unknown = set(server) - _SERVER_KEYS
        _require(not unknown, f"{where}: unknown key(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(_SERVER_KEYS))}")
        _require(server["name"] not in names, f"{where}: the name is used twice (Name tags must be unique in an estate)")
        names.add(server["name"])
        _check_placement(server, subnets, primary, where, used_ips)
        target = server.get("target")
        if target is not None:
            _require(isinstance(target, dict), f"{where}: target must be a mapping")
            unknown = set(target) - _TARGET_KEYS
            _require(not unknown, f"{where}: target has unknown key(s) {', '.join(sorted(unknown))}")
            _check_placement(target, subnets, recovery, f"{where} target", used_ips)
        _require(isinstance(server.get("wave", 1), int), f"{where}: wave must be an integer")
        disks = server.get("disks_gib", [8])
        _require(isinstance(disks, list) and disks and all(isinstance(d, int) and not isinstance(d, bool) and d > 0
                                                           for d in disks),
                 f"{where}: disks_gib must be a non-empty list of positive integers (GiB), e.g. [8, 100]")
        for item, label in ((server, ""), (target or {}, " target")):
            tags = item.get("tags")
            _require(tags is None or (isinstance(tags, dict) and all(isinstance(k, str) for k in tags)),
                     f"{where}{label}: tags must be a mapping of tag keys to values, e.g. {{owner: dba}}")
    if settings:
        runtime.config.update(settings)
    return _build(runtime, data, primary, recovery, default_account, plans, subnets, servers)


def _check_placement(item, subnets, region, where, used_ips):
    _require("subnet" in item, f"{where}: needs a 'subnet' (one of the estate's subnet names)")
    _require(item["subnet"] in subnets, f"{where}: unknown subnet {item['subnet']!r}; known: {', '.join(sorted(subnets))}")
    sub = subnets[item["subnet"]]
    _require(sub["region"] == region, f"{where}: subnet {item['subnet']} is in {sub['region']}, expected {region}")
    if item.get("private_ip"):
        try:
            ip = ipaddress.IPv4Address(item["private_ip"])
        except ValueError as exc:
            raise EstateError(f"{where}: private_ip {item['private_ip']!r} is not an IPv4 address") from exc
        _require(ip in sub["cidr"], f"{where}: private_ip {ip} is outside subnet {item['subnet']} ({sub['cidr']})")
        key = (sub["network"], str(ip))
        _require(key not in used_ips, f"{where}: private_ip {ip} is already used in network {sub['network']}")
        used_ips.add(key)
    if item.get("architecture"):
        _require(item["architecture"] in ("x86_64", "arm64"), f"{where}: architecture must be x86_64 or arm64")
    if item.get("platform"):
        _require(item["platform"] in ("linux", "windows"), f"{where}: platform must be linux or windows")


def _build(runtime, data, primary, recovery, default_account, plans, subnets, servers):
    from .control import seed_source_server
    from .ec2access import ec2_backend

    vpcs, sgs = {}, {}
    for net, account, vpc_net in plans:
        ec2 = ec2_backend(account, net["region"])
        vpc = ec2.create_vpc(str(vpc_net), tags=[{"Key": "Name", "Value": net["name"]}])
        vpcs[net["name"]] = vpc.id
        sg = ec2.create_security_group(f"{net['name']}-sg", f"{net['name']} application servers", vpc_id=vpc.id,
                                       tags={"Name": f"{net['name']}-sg"})
        sgs[net["name"]] = sg.id
        for sub in net["subnets"]:
            info = subnets[sub["name"]]
            created = ec2.create_subnet(vpc.id, str(info["cidr"]), availability_zone=info["az"],
                                        tags={"subnet": {"Name": sub["name"]}})
            info["id"] = created.id
    initialized = set()
    summary = {"name": data.get("name", "estate"), "primary_region": primary, "recovery_region": recovery,
               "vpcs": vpcs, "subnets": {k: v["id"] for k, v in subnets.items()}, "servers": {}}
    for server in servers:
        wave = int(server.get("wave", 1))
        tags = {"Name": server["name"], "drs:wave": str(wave)}
        if server.get("tier"):
            tags["drs:tier"] = str(server["tier"])
        tags.update(server.get("tags") or {})
        source = _run_instance(server, subnets[server["subnet"]], sgs, tags, server.get("private_ip"))
        entry = {"wave": wave, "source_account": subnets[server["subnet"]]["account"],
                 "source_instance_id": source.id, "source_private_ip": source.private_ip}
        target_spec = server.get("target")
        if target_spec is not None and target_spec.get("create", True):
            merged = {k: v for k, v in server.items() if k in ("instance_type", "architecture", "platform", "boot_mode",
                                                              "disks_gib")}
            merged.update(target_spec)
            target_tags = {"Name": server["name"], "drs:wave": str(wave)}
            if target_spec.get("tag", True):
                target_tags["AWSDRS"] = "AllowLaunchingIntoThisInstance"
            target_tags.update(target_spec.get("tags") or {})
            target = _run_instance(merged, subnets[target_spec["subnet"]], sgs, target_tags,
                                   target_spec.get("private_ip"))
            if target_spec.get("state", "stopped") == "stopped":
                target.stop()
            entry.update({"target_account": subnets[target_spec["subnet"]]["account"],
                          "target_instance_id": target.id, "target_private_ip": target.private_ip})
        drs_account = str(server.get("drs_account") or entry.get("target_account") or entry["source_account"])
        replication = server.get("replication") or {}
        drs_server = seed_source_server(
            runtime, instance=source, instance_account=entry["source_account"], source_region=primary,
            recovery_region=recovery, account_id=drs_account,
            staging_account_id=str(server["staging_account"]) if server.get("staging_account") else None,
            replication_state=replication.get("state", "CONTINUOUS"),
            lag_seconds=float(replication.get("lag_seconds", 5)), tags={"Name": server["name"], "drs:wave": str(wave)},
        )
        entry.update({"source_server_id": drs_server.id, "source_server_arn": drs_server.arn,
                      "drs_account": drs_account, "staging_account": server.get("staging_account")})
        summary["servers"][server["name"]] = entry
        initialized.update({(drs_account, recovery), (entry["source_account"], primary)})
    for account, region in sorted(initialized | {tuple(x) for x in data.get("drs_initialized", [])}):
        runtime.drs.backend(str(account), region).initialize_service()
    runtime.estate_summary = summary
    return summary


def _run_instance(spec, subnet, sgs, tags, private_ip):
    from .ec2access import ec2_backend

    ec2 = ec2_backend(subnet["account"], subnet["region"])
    architecture = spec.get("architecture", "x86_64")
    platform = spec.get("platform", "linux")
    image = next((img.id for img in ec2.amis.values()
                  if img.architecture == architecture and (img.platform == "windows") == (platform == "windows")),
                 next(iter(ec2.amis)))
    devices = [f"/dev/xvd{chr(ord('a') + i)}" for i in range(len(spec.get("disks_gib", [8])))]
    kwargs = {
        "instance_type": spec.get("instance_type", "t3.medium"), "is_instance_type_default": False,
        "subnet_id": subnet["id"], "region_name": subnet["region"], "security_group_ids": [sgs[subnet["network"]]],
        "tags": {"instance": tags},
        "block_device_mappings": [{"DeviceName": d, "Ebs": {"VolumeSize": size, "DeleteOnTermination": True}}
                                  for d, size in zip(devices, spec.get("disks_gib", [8]))],
    }
    if private_ip:
        kwargs["private_ip"] = private_ip
    instance = ec2.run_instances(image, 1, None, [], **kwargs).instances[0]
    instance.architecture = architecture
    instance.platform = "windows" if platform == "windows" else None
    instance.root_device_name = devices[0]
    instance.boot_mode = spec.get("boot_mode") or ("uefi" if architecture == "arm64" else "legacy-bios")
    return instance


def generate_estate(servers: int, waves: int, name: str | None = None, primary="us-east-1",
                    recovery="us-west-2") -> dict:
    """A 3-tier estate of any size: databases in the first waves, then application, then web servers.

    Targets sit in a recovery VPC with the same CIDR, so every target keeps the source's private IP.
    """
    if servers < 1 or waves < 1 or waves > servers:
        raise EstateError("need servers >= 1 and 1 <= waves <= servers")
    if servers > 15000:
        raise EstateError("at most 15000 servers fit the generated address plan")
    tiers = [("db", 0), ("app", 1), ("web", 2)]
    primary_subnets = [{"name": f"{t}-primary", "cidr": f"10.10.{64 * i}.0/18", "az": f"{primary}a"} for t, i in tiers]
    recovery_subnets = [{"name": f"{t}-recovery", "cidr": f"10.10.{64 * i}.0/18", "az": f"{recovery}a"} for t, i in tiers]
    doc = {
        "name": name or f"generated-{servers}-servers-{waves}-waves",
        "primary_region": primary, "recovery_region": recovery,
        "networks": [
            {"name": "app-primary", "region": primary, "cidr": "10.10.0.0/16", "subnets": primary_subnets},
            {"name": "app-recovery", "region": recovery, "cidr": "10.10.0.0/16", "subnets": recovery_subnets},
        ],
        "servers": [],
    }
    per_wave = -(-servers // waves)
    counters = {"db": 0, "app": 0, "web": 0}
    for index in range(servers):
        wave = index // per_wave + 1
        tier = tiers[min(2, (wave - 1) * 3 // waves)][0]
        counters[tier] += 1
        number = counters[tier]
        tier_index = [t for t, _ in tiers].index(tier)
        base = ipaddress.IPv4Address(f"10.10.{64 * tier_index}.0") + 10 + number
        doc["servers"].append({
            "name": f"{tier}-{number:02d}", "wave": wave, "tier": tier, "subnet": f"{tier}-primary",
            "private_ip": str(base), "instance_type": {"db": "r6i.large", "app": "m6i.large", "web": "t3.medium"}[tier],
            "target": {"subnet": f"{tier}-recovery", "private_ip": str(base)},
        })
    return doc
