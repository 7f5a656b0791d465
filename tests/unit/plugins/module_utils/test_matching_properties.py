# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Properties of the matcher over random estates: duplicate names on both sides, random overrides and
random target attributes. Whatever the estate, the matcher never pairs one target twice, never reports a
pair that fails an error check, never guesses between duplicates and accounts for every server once."""

from collections import Counter

from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from ansible_collections.elasticdr.orchestration.plugins.module_utils.matching import normalise
from ansible_collections.elasticdr.orchestration.plugins.module_utils.matching import pair_is_valid

from .fakes import MatchEstate
from .fakes import iid

# Values that collide once normalised ("web", "Web ", "WEB"; "app  1", "App 1"), values that do not, and no tag.
NAMES = ["web", "Web ", "WEB", "app  1", "App 1", "db", "cache", "queue", "mail", "dns", None]
SOURCE_IPS = [None, "10.0.0.1", "10.0.0.1"]
TARGET_IPS = [None, "10.0.0.1", "10.0.0.1", "10.0.0.2"]
# At most one defect per target (None: none), so that valid pairs, and conflicts between them, are common.
TARGET_DEFECTS = [None] * 16 + [
    {"tagged": False}, {"state": "terminated"}, {"state": "shutting-down"}, {"arch": "arm64"}, {"platform": "windows"}, {"boot": "uefi"},
    {"root": "instance-store"}, {"subnet": None}, {"groups": ()},
]

source_spec = st.fixed_dictionaries({
    "name": st.sampled_from(NAMES),
    "ip": st.sampled_from(SOURCE_IPS),
    "platform": st.sampled_from([None] * 5 + ["windows"]),
    "arch": st.sampled_from(["x86_64"] * 5 + ["arm64"]),
    "boot": st.sampled_from([None, None, None, "uefi", "legacy-bios"]),
    "direction": st.sampled_from(["FAILOVER"] * 5 + ["FAILBACK"]),
    "groups": st.sampled_from([("app",), ("app", "web")]),
})
target_spec = st.fixed_dictionaries({
    "name": st.sampled_from(NAMES),
    "ip": st.sampled_from(TARGET_IPS),
    "boot": st.sampled_from([None, None, None, "legacy-bios"]),
    "state": st.sampled_from(["stopped", "stopped", "running", "stopping", "pending"]),
    "defect": st.sampled_from(TARGET_DEFECTS),
})


@st.composite
def estates(draw):
    sources = draw(st.lists(source_spec, min_size=0, max_size=8))
    targets = draw(st.lists(target_spec, min_size=0, max_size=8))
    estate = MatchEstate()
    source_ids = [estate.source(s["name"], ip=s["ip"], platform=s["platform"], arch=s["arch"], boot=s["boot"],
                                direction=s["direction"], groups=s["groups"]) for s in sources]
    target_ids = []
    for spec in targets:
        attributes = {"ip": spec["ip"], "boot": spec["boot"], "state": spec["state"]}
        attributes.update(spec["defect"] or {})
        target_ids.append(estate.target(spec["name"], **attributes))
    # Overrides: by source server ID or by name, to an existing target or to one that does not exist.
    overrides = {}
    for _repeat in range(draw(st.integers(min_value=0, max_value=3))):
        if not source_ids:
            break
        index = draw(st.integers(min_value=0, max_value=len(source_ids) - 1))
        key = source_ids[index] if draw(st.booleans()) or sources[index]["name"] is None else sources[index]["name"]
        # Often the first targets, so that two overrides (or an override and a tag match) share one.
        choices = target_ids[:1] + target_ids + [iid(0xDEADBEEF)]
        overrides[key] = draw(st.sampled_from(choices))
    names = None
    if draw(st.booleans()):
        names = draw(st.lists(st.sampled_from([n for n in NAMES if n] + ["ghost"]), max_size=4))
    options = {"require_stopped": draw(st.booleans()), "require_same_private_ip": draw(st.booleans())}
    return estate, sources, source_ids, overrides, names, options


def _target_ok(source, target, options):
    """An oracle written apart from validate_pair: the launch-into rules (docs/DRS_BEHAVIOUR.md section 4)."""
    tags = {t["Key"]: t["Value"] for t in target.get("Tags") or []}
    state = target["State"]["Name"]
    source_platform = source["platform"] or "linux"
    target_platform = target.get("Platform") or "linux"
    rules = [
        tags.get("AWSDRS") == "AllowLaunchingIntoThisInstance",
        state == "stopped" or (state in ("pending", "running", "stopping") and not options["require_stopped"]),
        target["Architecture"] == "x86_64" and source["arch"] == "x86_64",
        source_platform == target_platform,
        target.get("RootDeviceType") == "ebs",
        bool(target.get("SubnetId")),
        bool(target.get("SecurityGroups")),
    ]
    boot = target.get("BootMode")
    if boot and source_platform == "linux":
        rules.append(boot == "legacy-bios")
    elif boot and source["boot"]:
        rules.append(boot == source["boot"])
    if options["require_same_private_ip"] and source["ip"]:
        rules.append(target.get("PrivateIpAddress") == source["ip"])
    return all(rules)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(estates())
def test_matcher_invariants(drawn):
    estate, sources, source_ids, overrides, names, options = drawn
    result = estate.matcher(**options).match(names=names, overrides=overrides)
    spec_of = dict(zip(source_ids, sources))
    targets = {t["InstanceId"]: t for t in estate.targets}

    # No target instance appears in two valid pairs.
    claimed = Counter(p["target_instance_id"] for p in result.pairs)
    assert all(n == 1 for n in claimed.values()), claimed

    # Every reported pair passes every error-severity check, and the independent oracle agrees.
    for pair in result.pairs:
        assert pair_is_valid(pair["checks"])
        assert not [c for c in pair["checks"] if c["severity"] == "error" and not c["passed"]]
        source = spec_of[pair["source_server_id"]]
        target = targets[pair["target_instance_id"]]
        assert _target_ok(source, target, options), (source, target, pair["checks"])
        if pair["matched_by"] == "tag":
            target_name = {t["Key"]: t["Value"] for t in target["Tags"]}.get("Name")
            assert normalise(source["name"]) is not None
            assert normalise(target_name) == normalise(source["name"])
        else:
            # Overrides by name compare like tags (normalised); by source server ID, exactly.
            by_name = {normalise(k): v for k, v in overrides.items()}
            assert overrides.get(pair["source_server_id"]) == target["InstanceId"] or \
                by_name.get(normalise(source["name"])) == target["InstanceId"]

    # Which servers were considered: FAILOVER ones, of the requested names if any.
    wanted = None if names is None else {normalise(n) for n in names}
    considered = [s for s, spec in spec_of.items() if spec["direction"] == "FAILOVER"
                  and (wanted is None or normalise(spec["name"]) in wanted)]
    override_names = {normalise(k) for k in overrides}
    has_override = {s for s in considered if s in overrides or normalise(spec_of[s]["name"]) in override_names}

    # Every duplicated normalised source name (without an explicit override) is reported, never paired.
    groups = Counter(normalise(spec_of[s]["name"]) for s in considered)
    paired = {p["source_server_id"] for p in result.pairs}
    reported = {e["source_server_id"] for e in result.ambiguous + result.invalid + result.unmatched}
    for server_id in considered:
        key = normalise(spec_of[server_id]["name"])
        if key is not None and groups[key] > 1 and server_id not in has_override:
            assert server_id not in paired
            assert server_id in {a["source_server_id"] for a in result.ambiguous}
            assert server_id in reported

    # Every considered server appears in exactly one of pairs / unmatched / ambiguous / invalid.
    entries = result.pairs + result.unmatched + result.ambiguous + result.invalid
    by_server = Counter(e["source_server_id"] for e in entries if e["source_server_id"] is not None)
    assert by_server == Counter(considered)
    ghosts = [e for e in result.unmatched if e["source_server_id"] is None]
    missing_names = {normalise(n) for n in names or []} - {normalise(spec_of[s]["name"]) for s in considered}
    assert {normalise(g["name"]) for g in ghosts} == missing_names and len(ghosts) == len(missing_names)
    assert len(entries) == result.considered == len(considered) + len(ghosts)

    # The match rate is pairs over considered servers.
    expected_rate = round(len(result.pairs) / result.considered, 4) if result.considered else 0.0
    assert result.match_rate == expected_rate
