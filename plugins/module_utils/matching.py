# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Instance matching: DRS source servers -> their source EC2 instances -> launch-into targets.

The algorithm (docs/INSTANCE_MATCHING_ALGORITHM.md):
1. read the DRS source servers (recovery account/region), batched;
2. read their source instances by identificationHints.awsInstanceID (source account/region), batched;
   if the source region cannot be read (it may be the disaster), fall back to what DRS recorded;
3. name each server by its source instance's match tag (default Name), normalised;
4. read every candidate target (instances carrying the match tag in the recovery account/region) in pages;
5. pair by normalised name, explicit overrides first, then the protection group's stored pairs (the config
   table, by source server ID); report duplicates and ambiguities, never guess;
6. validate each pair; a target claimed by two servers invalidates both.
Every step is a dict lookup: time and calls grow linearly with the number of servers and pages.
"""

import contextlib
import gc

from ansible_collections.elasticdr.orchestration.plugins.module_utils.drs import source_instance_id
from ansible_collections.elasticdr.orchestration.plugins.module_utils.drs import staging_account_of
from ansible_collections.elasticdr.orchestration.plugins.module_utils.ec2 import LAUNCH_INTO_TAG_KEY
from ansible_collections.elasticdr.orchestration.plugins.module_utils.ec2 import LAUNCH_INTO_TAG_VALUE
from ansible_collections.elasticdr.orchestration.plugins.module_utils.ec2 import boot_mode_of
from ansible_collections.elasticdr.orchestration.plugins.module_utils.ec2 import primary_private_ip
from ansible_collections.elasticdr.orchestration.plugins.module_utils.ec2 import state_of
from ansible_collections.elasticdr.orchestration.plugins.module_utils.ec2 import tags_of
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ConfigurationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import DRSAPIError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import InstanceMatchingError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import StepFailed

ERROR = "error"
WARNING = "warning"


def normalise(value):
    """Match-tag values compare case-insensitively, ignoring surrounding and repeated whitespace."""
    if value is None:
        return None
    text = " ".join(str(value).split()).lower()
    return text or None


def instance_family(instance_type):
    return (instance_type or "").split(".", 1)[0] or None


def _check(name, passed, message, severity=ERROR):
    return {"name": name, "passed": bool(passed), "severity": severity, "message": message}


def validate_pair(source, target, options):
    """The checks of one pair (docs/DRS_BEHAVIOUR.md section 4). `source` is a SourceView, `target` an EC2
    instance dict. Returns a list of {name, passed, severity, message}."""
    checks = []
    target_id = target["InstanceId"]
    tagged = tags_of(target).get(LAUNCH_INTO_TAG_KEY) == LAUNCH_INTO_TAG_VALUE
    checks.append(_check("launch_into_tag", tagged,
                         f"{target_id} carries {LAUNCH_INTO_TAG_KEY}={LAUNCH_INTO_TAG_VALUE}" if tagged else
                         f"{target_id} lacks the tag {LAUNCH_INTO_TAG_KEY}={LAUNCH_INTO_TAG_VALUE}"))
    state = state_of(target)
    if state == "stopped":
        checks.append(_check("target_state", True, f"{target_id} is stopped"))
    elif state in ("pending", "running", "stopping"):
        severity = ERROR if options.get("require_stopped") else WARNING
        checks.append(_check("target_state", False,
                             f"{target_id} is {state}; it must be stopped before the launch "
                             "(drs_recovery stops tagged targets when stop_targets is true)", severity))
    else:
        checks.append(_check("target_state", False, f"{target_id} is {state} and cannot be launched into"))
    target_arch = target.get("Architecture") or "x86_64"
    if source.architecture:
        checks.append(_check("architecture", target_arch == source.architecture,
                             f"source {source.architecture}, target {target_arch}"))
    checks.append(_check("architecture_supported", target_arch == "x86_64",
                         f"launch into an existing instance needs x86_64; the target is {target_arch}"))
    target_platform = "windows" if (target.get("Platform") or "").lower() == "windows" else "linux"
    if source.platform:
        checks.append(_check("platform", target_platform == source.platform,
                             f"source {source.platform}, target {target_platform}"))
    boot = boot_mode_of(target)
    if boot:
        wanted = "legacy-bios" if (source.platform or target_platform) == "linux" else source.boot_mode
        if wanted:
            checks.append(_check("boot_mode", boot == wanted, f"target boots {boot}; {wanted} is needed"))
    root = target.get("RootDeviceType")
    if root:
        checks.append(_check("root_device", root == "ebs", f"root device type {root} (EBS needed)"))
    if source.instance_type and target.get("InstanceType"):
        same = instance_family(source.instance_type) == instance_family(target["InstanceType"])
        checks.append(_check("instance_type_family", same,
                             f"source {source.instance_type}, target {target['InstanceType']}"
                             + ("" if same else " (right-sizing NONE keeps the target's type)"), WARNING))
    zone = (target.get("Placement") or {}).get("AvailabilityZone")
    checks.append(_check("subnet_az", bool(target.get("SubnetId") and zone),
                         f"target in {target.get('SubnetId')} ({zone})" if target.get("SubnetId")
                         else f"{target_id} is not in a VPC subnet"))
    groups = [g.get("GroupName") or g.get("GroupId") for g in target.get("SecurityGroups") or []]
    checks.append(_check("security_groups", bool(groups),
                         f"target security groups: {', '.join(groups)}" if groups else f"{target_id} has no security group"))
    if source.security_groups and groups:
        missing = sorted(set(source.security_groups) - set(groups))
        checks.append(_check("security_group_names", not missing,
                             "target has every source security group name" if not missing else
                             f"source security groups missing on the target: {', '.join(missing)}", WARNING))
    target_ip = primary_private_ip(target)
    if source.private_ip:
        same_ip = target_ip == source.private_ip
        severity = ERROR if options.get("require_same_private_ip") else WARNING
        checks.append(_check("private_ip", same_ip,
                             f"source {source.private_ip}, target {target_ip}"
                             + ("" if same_ip else " (the recovered server will use the target's IP)"), severity))
    return checks


def pair_is_valid(checks):
    return all(c["passed"] or c["severity"] != ERROR for c in checks)


class SourceView:
    """What the matcher knows of one protected server."""

    __slots__ = ("source_server", "source_server_id", "source_instance_id", "name", "private_ip", "architecture",
                 "platform", "boot_mode", "instance_type", "security_groups", "staging_account_id", "wave",
                 "name_from")

    def __init__(self, source_server, instance, match_tag, wave_tag):
        self.source_server = source_server
        self.source_server_id = source_server["sourceServerID"]
        self.source_instance_id = source_instance_id(source_server)
        props = source_server.get("sourceProperties") or {}
        server_tags = source_server.get("tags") or {}
        if instance is not None:
            tags = tags_of(instance)
            self.name = tags.get(match_tag)
            self.name_from = "source_instance"
            self.private_ip = primary_private_ip(instance)
            self.architecture = instance.get("Architecture") or "x86_64"
            self.platform = "windows" if (instance.get("Platform") or "").lower() == "windows" else "linux"
            self.boot_mode = boot_mode_of(instance)
            self.instance_type = instance.get("InstanceType")
            self.security_groups = [g.get("GroupName") for g in instance.get("SecurityGroups") or [] if g.get("GroupName")]
            wave = tags.get(wave_tag) if wave_tag else None
        else:
            # The source region may be unreachable (it may be the disaster): use what DRS recorded.
            self.name = server_tags.get(match_tag) or (props.get("identificationHints") or {}).get("hostname")
            self.name_from = "drs_source_server"
            nics = props.get("networkInterfaces") or []
            primary = next((n for n in nics if n.get("isPrimary")), nics[0] if nics else {})
            self.private_ip = (primary.get("ips") or [None])[0]
            self.architecture = props.get("architecture")
            os_name = ((props.get("os") or {}).get("fullString") or "").lower()
            self.platform = "windows" if "windows" in os_name else ("linux" if os_name else None)
            self.boot_mode = None
            self.instance_type = props.get("recommendedInstanceType")
            self.security_groups = []
            wave = None
        if wave is None and wave_tag:
            wave = server_tags.get(wave_tag)
        self.wave = wave
        self.staging_account_id = staging_account_of(source_server)


class MatchResult:
    def __init__(self):
        self.pairs = []
        self.unmatched = []
        self.ambiguous = []
        self.invalid = []
        self.notes = []
        self.considered = 0

    @property
    def match_rate(self):
        return round(len(self.pairs) / self.considered, 4) if self.considered else 0.0

    def to_dict(self):
        return {
            "pairs": self.pairs, "unmatched": self.unmatched, "ambiguous": self.ambiguous, "invalid": self.invalid,
            "match_rate": self.match_rate, "considered": self.considered, "notes": self.notes,
        }


def split_by_group(result, groups):
    """A match result (MatchResult.to_dict()) of the union of several groups of names, split back into one result
    per group: {group: {"pairs", "unmatched", "ambiguous", "invalid", "match_rate", "considered", "notes"}}.

    groups: {group: [name, ...]}, as given to InstanceMatcher.match(names=...) together. Names compare
    normalised, as matching does; a name given in two groups is reported in both. The notes are the whole run's.
    Matching the groups together is one read of the estate for all of them, and a target claimed by servers of
    two groups invalidates both, which matching each group alone cannot see.
    """
    group_of = {}
    for group, names in groups.items():
        for name in names or []:
            group_of.setdefault(normalise(name), []).append(group)
    out = {group: {"pairs": [], "unmatched": [], "ambiguous": [], "invalid": []} for group in groups}
    for kind in ("pairs", "unmatched", "ambiguous", "invalid"):
        for entry in result[kind]:
            for group in group_of.get(normalise(entry.get("name")), ()):
                out[group][kind].append(entry)
    for part in out.values():
        part["considered"] = sum(len(part[kind]) for kind in ("pairs", "unmatched", "ambiguous", "invalid"))
        part["match_rate"] = round(len(part["pairs"]) / part["considered"], 4) if part["considered"] else 0.0
        part["notes"] = list(result.get("notes") or [])
    return out


@contextlib.contextmanager
def _without_cyclic_gc():
    """Matching allocates a few small dicts per server and no reference cycles, which reference counting frees.
    The cyclic collector's passes over a large estate's records are wasted work that grows faster than the
    matching: at 10,000 servers they took as long as the matching itself (docs/PERFORMANCE.md)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class InstanceMatcher:
    """Pairs source servers with launch-into targets. Clients are module_utils DRSClient/EC2Client objects.

    source_ec2 reads the source account/region (None: rely on DRS's records only); target_ec2 reads the
    recovery account/region, where DRS launches.
    """

    def __init__(self, drs, source_ec2, target_ec2, match_tag="Name", wave_tag="drs:wave", options=None):
        self.drs = drs
        self.source_ec2 = source_ec2
        self.target_ec2 = target_ec2
        self.match_tag = match_tag
        self.wave_tag = wave_tag
        self.options = dict(options or {})

    def match(self, names=None, source_server_ids=None, overrides=None, source_servers=None, stored_pairs=None):
        """Match the servers named (by match tag value) or given by ID, or every FAILOVER source server.

        overrides: {name or source server ID: target instance ID}, explicit pairs that win over tags.
        source_servers: already-read DRS source servers (skips the DRS read).
        stored_pairs: {source server ID: target instance ID}, the protection group's pairs from the config table:
        explicit pairs too, but an override given for the same server (by ID or by name) wins over them.
        """
        with _without_cyclic_gc():
            return self._match(names, source_server_ids, overrides, source_servers, stored_pairs)

    def _match(self, names, source_server_ids, overrides, source_servers, stored_pairs):
        result = MatchResult()
        overrides = dict(overrides or {})
        stored_pairs = dict(stored_pairs or {})
        servers = source_servers
        if servers is None:
            servers = self.drs.describe_source_servers(source_server_ids)
        servers = [s for s in servers if s.get("replicationDirection", "FAILOVER") == "FAILOVER"]
        if source_server_ids is not None:
            wanted_ids = set(source_server_ids)
            servers = [s for s in servers if s["sourceServerID"] in wanted_ids]
            for missing in sorted(wanted_ids - {s["sourceServerID"] for s in servers}):
                result.unmatched.append({"name": None, "source_server_id": missing,
                                         "reason": "no FAILOVER source server with this ID in the recovery region"})

        views = self._source_views(servers, result)
        wanted_names = None
        if names is not None:
            wanted_names = {normalise(n): n for n in names}
            by_name = {}
            for view in views:
                by_name.setdefault(normalise(view.name), []).append(view)
            views = [v for v in views if normalise(v.name) in wanted_names]
            for key, name in sorted(wanted_names.items()):
                if key not in by_name:
                    result.unmatched.append({"name": name, "source_server_id": None,
                                             "reason": f"no DRS source server whose source instance has "
                                                       f"{self.match_tag}={name}"})
        result.considered = len(views) + len(result.unmatched)

        # Duplicate source names: a target could belong to either, so neither is matched by name.
        source_groups = {}
        for view in views:
            source_groups.setdefault(normalise(view.name), []).append(view)

        override_targets = {}
        override_for = {}
        how_for = {}
        # Overrides by name compare like tags do (case and spacing ignored); by ID, exactly.
        overrides_by_name = {normalise(k): v for k, v in overrides.items()}
        for view in views:
            target_id = overrides.get(view.source_server_id) or overrides_by_name.get(normalise(view.name))
            how = "override"
            if not target_id and stored_pairs.get(view.source_server_id):
                target_id, how = stored_pairs[view.source_server_id], "stored_pair"
            if target_id:
                override_for[view.source_server_id] = target_id
                how_for[view.source_server_id] = how
        if override_for:
            override_targets = self.target_ec2.describe_instances(override_for.values())

        needs_tag_lookup = any(v.source_server_id not in override_for for v in views)
        candidates = {}
        if needs_tag_lookup:
            for instance in self.target_ec2.instances_with_tag_key(self.match_tag):
                key = normalise(tags_of(instance).get(self.match_tag))
                if key:
                    candidates.setdefault(key, []).append(instance)

        proposed = []
        for view in views:
            key = normalise(view.name)
            if view.source_server_id in override_for:
                target_id = override_for[view.source_server_id]
                how = how_for[view.source_server_id]
                target = override_targets.get(target_id)
                if target is None:
                    what = "override" if how == "override" else "stored pair's"
                    result.invalid.append(self._entry(view, None, [
                        _check("target_exists", False, f"{what} target {target_id} does not exist in the recovery "
                                                       "account/region")], target_id=target_id, how=how))
                    continue
                proposed.append((view, target, how))
                continue
            if not key:
                result.unmatched.append({"name": None, "source_server_id": view.source_server_id,
                                         "source_instance_id": view.source_instance_id,
                                         "reason": f"the source instance has no {self.match_tag} tag"})
                continue
            if len(source_groups[key]) > 1:
                result.ambiguous.append({
                    "name": view.name, "source_server_id": view.source_server_id,
                    "reason": f"{len(source_groups[key])} source servers share {self.match_tag}={view.name}",
                    "source_server_ids": sorted(v.source_server_id for v in source_groups[key]),
                    "candidate_target_ids": sorted(c["InstanceId"] for c in candidates.get(key, [])),
                })
                continue
            found = candidates.get(key, [])
            if not found:
                result.unmatched.append({"name": view.name, "source_server_id": view.source_server_id,
                                         "source_instance_id": view.source_instance_id,
                                         "reason": f"no instance with {self.match_tag}={view.name} in the recovery "
                                                   "account/region"})
                continue
            if len(found) > 1:
                result.ambiguous.append({
                    "name": view.name, "source_server_id": view.source_server_id,
                    "reason": f"{len(found)} recovery-region instances share {self.match_tag}={view.name}",
                    "source_server_ids": [view.source_server_id],
                    "candidate_target_ids": sorted(c["InstanceId"] for c in found),
                })
                continue
            proposed.append((view, found[0], "tag"))

        claims = {}
        for view, target, _how in proposed:
            claims.setdefault(target["InstanceId"], []).append(view.source_server_id)
        for view, target, how in proposed:
            checks = validate_pair(view, target, self.options)
            claimants = claims[target["InstanceId"]]
            checks.append(_check("claimed_once", len(claimants) == 1,
                                 "no other source server claims this target" if len(claimants) == 1 else
                                 f"target also claimed by {', '.join(c for c in claimants if c != view.source_server_id)}"))
            entry = self._entry(view, target, checks, how=how)
            (result.pairs if pair_is_valid(checks) else result.invalid).append(entry)
        result.pairs.sort(key=lambda p: (p["name"] or "", p["source_server_id"]))
        result.invalid.sort(key=lambda p: (p["name"] or "", p["source_server_id"]))
        return result

    def _source_views(self, servers, result):
        instances = {}
        ids = [source_instance_id(s) for s in servers]
        if self.source_ec2 is not None and any(ids):
            try:
                instances = self.source_ec2.describe_instances(ids)
            except DRSAPIError as error:
                if not self.options.get("fallback_to_drs_records", True):
                    raise
                result.notes.append(
                    f"Could not read the source instances ({error}); matching from the DRS source server records.")
        return [SourceView(s, instances.get(source_instance_id(s)), self.match_tag, self.wave_tag) for s in servers]

    @staticmethod
    def _entry(view, target, checks, target_id=None, how="tag"):
        return {
            "name": view.name,
            "source_server_id": view.source_server_id,
            "source_server_arn": view.source_server.get("arn"),
            "source_instance_id": view.source_instance_id,
            "source_private_ip": view.private_ip,
            "target_instance_id": target["InstanceId"] if target else target_id,
            "target_private_ip": primary_private_ip(target) if target else None,
            "target_state": state_of(target) if target else None,
            "staging_account_id": view.staging_account_id,
            "wave": view.wave,
            "matched_by": how,
            "name_from": view.name_from,
            "checks": checks,
        }


# The options of drs_instance_match beside the connection and cross-account ones: one spec for the module and its
# action plugin.
ARGUMENT_SPEC = {
    "names": {"type": "list", "elements": "str"},
    "waves": {"type": "dict"},
    "source_server_ids": {"type": "list", "elements": "str"},
    "overrides": {"type": "dict", "default": {}},
    "match_tag": {"type": "str", "default": "Name"},
    "wave_tag": {"type": "str", "default": "drs:wave"},
    "require_stopped": {"type": "bool", "default": False},
    "require_same_private_ip": {"type": "bool", "default": False},
    "fallback_to_drs_records": {"type": "bool", "default": True},
    "fail_on_unmatched": {"type": "bool", "default": False},
    "protection_group": {"type": "str"},
    "table_prefix": {"type": "str", "default": "drs-orchestration"},
}
MUTUALLY_EXCLUSIVE = [["names", "waves"]]


def _names_of(wave, names):
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ConfigurationError(f"waves: the value of wave {wave} must be a list of server names; got {names!r}.",
                                 remediation="Give waves as {wave: [name, ...]}, for example the hosts_by_wave "
                                             "result of drs_wave_plan.")
    return names


def match_servers(connections, params, warn=None):
    """drs_instance_match's body: match the servers named (or of every wave of params["waves"], in one read)
    with their launch-into targets, the protection group's stored pairs as explicit pairs. Returns its result;
    raises StepFailed with it when fail_on_unmatched and a server cannot be paired. warn(note) gets each note."""
    # pairs imports this module (normalise): imported here, when a match runs.
    from ansible_collections.elasticdr.orchestration.plugins.module_utils.pairs import check_protection_group
    from ansible_collections.elasticdr.orchestration.plugins.module_utils.wave_summary import problems_of

    if params.get("protection_group"):
        check_protection_group(params["protection_group"])
    source_ec2 = connections.source_ec2() if params.get("source_region") else None
    stored_pairs = None
    if params.get("protection_group"):
        stored = connections.state_store(params["table_prefix"]).get_pairs(params["protection_group"])
        stored_pairs = {p["source_server_id"]: p["target_instance_id"] for p in stored if p.get("target_instance_id")}
    matcher = InstanceMatcher(
        connections.recovery_drs(), source_ec2, connections.recovery_ec2(), match_tag=params["match_tag"],
        wave_tag=params["wave_tag"],
        options={"require_stopped": params["require_stopped"],
                 "require_same_private_ip": params["require_same_private_ip"],
                 "fallback_to_drs_records": params["fallback_to_drs_records"]})
    waves = None
    names = params.get("names")
    if params.get("waves") is not None:
        waves = {str(wave): _names_of(wave, wave_names) for wave, wave_names in params["waves"].items()}
        names = sorted({name for wave_names in waves.values() for name in wave_names})
    result = matcher.match(names=names, source_server_ids=params.get("source_server_ids"),
                           overrides=params.get("overrides") or {}, stored_pairs=stored_pairs).to_dict()
    if waves is not None:
        result["waves"] = split_by_group(result, waves)
    for note in result["notes"]:
        if warn:
            warn(note)
    problems = problems_of(result)
    if params["fail_on_unmatched"] and problems:
        first = problems[0]
        error = InstanceMatchingError(
            f"{len(problems)} server(s) could not be paired with a valid launch-into target; first: "
            f"{first.get('name') or first.get('source_server_id')}: "
            f"{first.get('reason') or '; '.join(c['message'] for c in first.get('checks', []) if not c['passed'])}",
            server=first.get("name") or first.get("source_server_id"))
        raise StepFailed(error, dict(changed=False, **result))
    return dict(changed=False, **result)
