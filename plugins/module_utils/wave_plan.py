# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The inventory contract (docs/INVENTORY.md): every protected server is a host named by its match tag, in exactly
one wave: the wave_<n> group it is in, or its integer drs_wave (both, when given, must agree); waves run in
ascending order, optionally limited to drs_waves."""

import re

from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ConfigurationError

WAVE_GROUP = re.compile(r"^wave_(\d+)$")


# The options of drs_wave_plan, for its action plugin, which runs the plan on the controller; the module spells
# them out too (tests/unit/plugins/module_utils/test_wave_plan.py checks that both say the same).
ARGUMENT_SPEC = {"hosts": {"type": "dict"}, "only": {"type": "list", "elements": "raw"}}


def inventory_hosts(hostvars, all_hosts, play_host):
    """The hosts of the inventory for plan_waves, {name: {"drs_wave", "groups"}}: every host but the one the play
    runs on (localhost, which AWX and molecule inventories list), unless that one has a drs_wave or a wave group."""
    out = {}
    for name in all_hosts:
        values = hostvars.get(name) or {}
        groups = list(values.get("group_names") or [])
        if name == play_host and values.get("drs_wave") is None and not any(WAVE_GROUP.match(g) for g in groups):
            continue
        out[name] = {"drs_wave": values.get("drs_wave"), "groups": groups}
    return out


def _as_wave(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def plan_waves(hosts, only=None):
    """hosts: {name: {"drs_wave": value, "groups": [group names]}}. Returns {"waves": [n, ...],
    "hosts_by_wave": {n: [names]}}; raises ConfigurationError listing every host at fault."""
    problems = []
    by_wave = {}
    for name in sorted(hosts):
        info = hosts[name] or {}
        wave_groups = sorted({int(m.group(1)) for g in info.get("groups") or [] for m in [WAVE_GROUP.match(g)] if m})
        if len(wave_groups) > 1:
            problems.append(f"{name}: in several wave groups ({', '.join(f'wave_{w}' for w in wave_groups)}); a server "
                            "belongs to exactly one wave")
            continue
        if info.get("drs_wave") is None:
            # The group is the wave: wave_3 means wave 3, with or without a drs_wave variable.
            if wave_groups:
                by_wave.setdefault(wave_groups[0], []).append(name)
            else:
                problems.append(f"{name}: in no wave (put it in a wave_<n> group or set drs_wave)")
            continue
        wave = _as_wave(info.get("drs_wave"))
        if wave is None or wave < 0:
            problems.append(f"{name}: drs_wave {info.get('drs_wave')!r} is not a non-negative integer")
            continue
        if wave_groups and wave_groups[0] != wave:
            problems.append(f"{name}: drs_wave is {wave} but the host is in group wave_{wave_groups[0]}")
            continue
        by_wave.setdefault(wave, []).append(name)
    if problems:
        raise ConfigurationError("The inventory breaks the wave contract: " + "; ".join(problems) + ".",
                                 server=problems[0].split(":")[0],
                                 remediation="Put every protected server in exactly one wave_<n> group, or give it "
                                             "an integer drs_wave (see docs/INVENTORY.md).", details={"problems": problems})
    if not by_wave:
        raise ConfigurationError("The inventory has no protected servers.",
                                 remediation="Add the servers as hosts named by their Name tag, in wave_<n> groups.")
    waves = sorted(by_wave)
    if only:
        wanted = []
        for value in only:
            wave = _as_wave(value)
            if wave is None or wave not in by_wave:
                raise ConfigurationError(f"drs_waves names wave {value!r}, which has no servers; waves: "
                                         f"{', '.join(str(w) for w in waves)}.", server=str(value))
            wanted.append(wave)
        waves = sorted(set(wanted))
    return {"waves": waves, "hosts_by_wave": {w: by_wave[w] for w in waves}}
