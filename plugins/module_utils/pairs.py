# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""A protection group's instance pairs in the config table (<prefix>-instance-pairs): which pairs to add,
update and remove (the plan), separate from writing them (apply_plan), so check mode and --diff fall out of
the plan and nothing is written unless every pair given is valid.

Each entry given for state=present is the whole pair: the stored item is replaced by it, and fields left out
are removed. created_at/updated_at are kept by the plan and never compared. The group's lock item
(source_server_id "#LOCK") is not a pair: StateStore.get_pairs leaves it out, and an entry can never name it
because a source server ID must look like s-<17 characters>.
"""

from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ConfigurationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ValidationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.matching import normalise
from ansible_collections.elasticdr.orchestration.plugins.module_utils.models import PROTECTION_GROUP
from ansible_collections.elasticdr.orchestration.plugins.module_utils.models import SOURCE_SERVER_ID
from ansible_collections.elasticdr.orchestration.plugins.module_utils.models import InstancePair
from ansible_collections.elasticdr.orchestration.plugins.module_utils.models import iso

TIMESTAMPS = ("created_at", "updated_at")
# drs_instance_match's matched_by for a pair it took from this table: not a new way of matching, so storing
# such a pair back keeps the stored matched_by (a match -> store -> match -> store cycle changes nothing).
FROM_STORED_PAIR = "stored_pair"
# What an entry may set; protection_group comes from the option, the timestamps from the plan.
PAIR_FIELDS = tuple(f for f in InstancePair.FIELDS if f not in ("protection_group",) + TIMESTAMPS)
PAIR_REMEDIATION = ("Correct the named fields: state=present needs name, source_server_id (s-<17 characters>) and "
                    "target_instance_id (i-<hex>) for every pair, as drs_instance_match returns them; state=absent "
                    "needs source_server_id or name. Nothing was written.")


def check_protection_group(protection_group):
    if not (isinstance(protection_group, str) and PROTECTION_GROUP.match(protection_group)):
        raise ConfigurationError(
            f"protection_group {protection_group!r} is not a valid protection group name.",
            remediation="Use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit.")


def _label(entry, index):
    if isinstance(entry, dict):
        return entry.get("name") or entry.get("source_server_id") or f"pairs[{index}]"
    return f"pairs[{index}]"


def _significant(value):
    return value is not None and value != ""


def comparable(pair):
    """The fields of a pair that the plan compares (no protection group, no timestamps, no empty values)."""
    return {f: pair[f] for f in PAIR_FIELDS if _significant(pair.get(f))}


def desired_pair(entry, protection_group):
    """An entry of the pairs option -> the pair to store (without timestamps). Unknown keys (the rest of a
    drs_instance_match pair: checks, target_state, ...) are ignored. Raises ValidationError naming the pair."""
    if not isinstance(entry, dict):
        message = f"{entry!r} is not a dict"
        raise ValidationError(message, details={"fields": [{"field": "pairs", "message": message}]})
    given_group = entry.get("protection_group")
    if _significant(given_group) and given_group != protection_group:
        message = f"protection_group {given_group!r} differs from the protection_group option {protection_group!r}"
        raise ValidationError(message, server=entry.get("name"),
                              details={"fields": [{"field": "protection_group", "message": message}]})
    pair = comparable(entry)
    wave = pair.get("wave")
    # drs_instance_match reports the wave as the tag's text ("1"); the table keeps a number.
    if isinstance(wave, str) and wave.strip().isdigit():
        pair["wave"] = int(wave.strip())
    record = InstancePair.from_dict(dict(pair, protection_group=protection_group))
    out = record.to_dict()
    out.pop("protection_group")
    return out


class PairPlan:
    """What one drs_instance_pair call changes in one protection group."""

    def __init__(self, protection_group, stored):
        self.protection_group = protection_group
        self.stored = {p["source_server_id"]: p for p in stored}
        self.add = []        # desired pairs (without timestamps)
        self.update = []     # (stored, desired)
        self.remove = []     # stored pairs
        self.unchanged = []  # stored pairs

    @property
    def changed(self):
        return bool(self.add or self.update or self.remove)

    @property
    def added(self):
        return sorted(p["source_server_id"] for p in self.add)

    @property
    def updated(self):
        return sorted(p["source_server_id"] for _stored, p in self.update)

    @property
    def removed(self):
        return sorted(p["source_server_id"] for p in self.remove)

    def items_to_put(self, now):
        """The items to write, with their timestamps (created_at kept from the stored item)."""
        items = []
        for pair in self.add:
            items.append(dict(pair, protection_group=self.protection_group, created_at=now, updated_at=now))
        for stored, pair in self.update:
            items.append(dict(pair, protection_group=self.protection_group,
                              created_at=stored.get("created_at") or now, updated_at=now))
        return items

    def pairs_after(self, now):
        """The group's pairs once the plan is applied (what a real run leaves), sorted by name."""
        after = [dict(p) for p in self.unchanged] + self.items_to_put(now)
        return sorted(after, key=lambda p: (str(p.get("name") or ""), p["source_server_id"]))

    def diff(self):
        """--diff: before/after of the pairs that change, keyed by source server ID, without timestamps."""
        before, after = {}, {}
        for pair in self.add:
            after[pair["source_server_id"]] = dict(pair)
        for stored, pair in self.update:
            before[stored["source_server_id"]] = comparable(stored)
            after[pair["source_server_id"]] = dict(pair)
        for stored in self.remove:
            before[stored["source_server_id"]] = comparable(stored)
        return {"before": before, "after": after}


def _raise_invalid(protection_group, problems):
    first = problems[0]
    raise ValidationError(
        f"Invalid pairs for protection group {protection_group}: "
        + "; ".join(f"pairs[{p['index']}] ({p['pair']}): {p['message']}" for p in problems) + ".",
        server=first["pair"], details={"pairs": problems}, remediation=PAIR_REMEDIATION)


def _validate_present(entries, protection_group):
    desired, problems = [], []
    for index, entry in enumerate(entries):
        try:
            desired.append(desired_pair(entry, protection_group))
        except ValidationError as error:
            fields = error.details.get("fields") or []
            problems.append({"index": index, "pair": _label(entry, index), "fields": [f["field"] for f in fields],
                             "message": "; ".join(f["message"] for f in fields) or error.message})
    if problems:
        _raise_invalid(protection_group, problems)
    for key, what in (("source_server_id", "source server"), ("name", "name")):
        seen = {}
        for pair in desired:
            seen.setdefault(normalise(pair[key]) if key == "name" else pair[key], []).append(pair)
        repeated = sorted(pairs[0][key] for pairs in seen.values() if len(pairs) > 1)
        if repeated:
            raise ConfigurationError(
                f"The same {what} is given in more than one pair: {', '.join(repeated)}.", server=repeated[0],
                remediation="Give each source server once; pair names must be unique within the protection group "
                            "(compared like Name tags: case and spacing ignored). Nothing was written.")
    return desired


def _check_group_after(plan, protection_group):
    """A target claimed by two pairs, or one name used twice, would make the stored pairs ambiguous."""
    after = plan.pairs_after("")
    for key, what in (("target_instance_id", "target instance"), ("name", "name")):
        owners = {}
        for pair in after:
            owners.setdefault(normalise(pair.get(key)) if key == "name" else pair.get(key), []).append(pair)
        for value, pairs in sorted(owners.items(), key=lambda item: str(item[0])):
            if value is not None and len(pairs) > 1:
                servers = ", ".join(f"{p.get('name')} ({p['source_server_id']})" for p in pairs)
                raise ConfigurationError(
                    f"In protection group {protection_group}, {what} {pairs[0].get(key)} would belong to more than "
                    f"one pair: {servers}.", server=pairs[0].get("name"),
                    details={key: pairs[0].get(key), "source_server_ids": [p["source_server_id"] for p in pairs]},
                    remediation=f"Give each pair its own {what}: correct the pair, or remove the other one in the same "
                                "run (state=absent, or purge=true with the full list). Nothing was written.")


def _plan_present(plan, entries, purge):
    desired = _validate_present(entries, plan.protection_group)
    wanted = set()
    for pair in desired:
        sid = pair["source_server_id"]
        wanted.add(sid)
        current = plan.stored.get(sid)
        if pair.get("matched_by") == FROM_STORED_PAIR:
            pair.pop("matched_by")
            if current is not None and _significant(current.get("matched_by")):
                pair["matched_by"] = current["matched_by"]
        if current is None:
            plan.add.append(pair)
        elif comparable(current) != pair:
            plan.update.append((current, pair))
        else:
            plan.unchanged.append(current)
    for sid, current in sorted(plan.stored.items()):
        if sid in wanted:
            continue
        (plan.remove if purge else plan.unchanged).append(current)
    _check_group_after(plan, plan.protection_group)


def _plan_absent(plan, entries):
    by_name = {}
    for pair in plan.stored.values():
        by_name.setdefault(normalise(pair.get("name")), []).append(pair)
    problems, removing = [], {}
    for index, entry in enumerate(entries):
        entry = entry if isinstance(entry, dict) else {}
        sid, name = entry.get("source_server_id"), entry.get("name")
        label = _label(entry, index)
        if not _significant(sid) and not _significant(name):
            problems.append({"index": index, "pair": label, "fields": ["source_server_id", "name"],
                             "message": "state=absent needs source_server_id or name"})
            continue
        if _significant(sid):
            if not (isinstance(sid, str) and SOURCE_SERVER_ID.match(sid)):
                problems.append({"index": index, "pair": label, "fields": ["source_server_id"],
                                 "message": f"source_server_id {sid!r} is not a source server ID"})
            elif sid in plan.stored:
                removing[sid] = plan.stored[sid]
            continue
        found = by_name.get(normalise(name), [])
        if len(found) > 1:
            problems.append({"index": index, "pair": label, "fields": ["name"],
                             "message": f"name {name!r} is shared by stored pairs "
                                        f"{', '.join(sorted(p['source_server_id'] for p in found))}; give source_server_id"})
        elif found:
            removing[found[0]["source_server_id"]] = found[0]
    if problems:
        _raise_invalid(plan.protection_group, problems)
    for sid, current in sorted(plan.stored.items()):
        (plan.remove if sid in removing else plan.unchanged).append(current)


def plan_pairs(stored, entries, protection_group, state="present", purge=False):
    """stored: the group's pairs as read (StateStore.get_pairs); entries: the pairs option.
    Returns a PairPlan; raises ValidationError/ConfigurationError (naming the pair) before anything is written."""
    check_protection_group(protection_group)
    if state not in ("present", "absent"):
        raise ConfigurationError(f"state must be present or absent, not {state!r}.")
    if state == "absent" and purge:
        raise ConfigurationError(
            "purge=true only applies with state=present.",
            remediation="To remove every pair of the group, use state=present, purge=true and pairs=[]; to remove "
                        "some, list them with state=absent and purge=false.")
    plan = PairPlan(protection_group, stored)
    if state == "present":
        _plan_present(plan, list(entries or []), purge)
    else:
        _plan_absent(plan, list(entries or []))
    return plan


def apply_plan(store, plan, now=None):
    """Write the plan (puts, then deletes); returns the group's pairs after. Nothing is written when nothing
    changes."""
    now = now or iso()
    for item in plan.items_to_put(now):
        store.put_pair(item)
    for pair in plan.remove:
        store.delete_pair(plan.protection_group, pair["source_server_id"])
    return plan.pairs_after(now)
