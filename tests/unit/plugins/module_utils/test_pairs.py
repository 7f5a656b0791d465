# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Planning a protection group's instance pairs: validate everything first, change only what differs, keep the
timestamps, never touch the lock item; and applying the plan writes exactly what it says."""

import pytest

from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ConfigurationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ValidationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.pairs import apply_plan
from ansible_collections.elasticdr.orchestration.plugins.module_utils.pairs import comparable
from ansible_collections.elasticdr.orchestration.plugins.module_utils.pairs import desired_pair
from ansible_collections.elasticdr.orchestration.plugins.module_utils.pairs import plan_pairs

from .fakes import iid
from .fakes import sid

GROUP = "payments"
CREATED = "2026-01-01T00:00:00.000Z"
NOW = "2026-06-15T15:00:00.000Z"


def entry(n, **changes):
    data = {"name": f"web-{n:02d}", "source_server_id": sid(n), "target_instance_id": iid(100 + n),
            "source_private_ip": f"10.0.1.{n}", "target_private_ip": f"10.0.1.{n}", "wave": 1}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def stored(n, **changes):
    return dict(entry(n, **changes), protection_group=GROUP, created_at=CREATED, updated_at=CREATED)


class FakeStore:
    """Records put_pair/delete_pair; knows nothing of the lock item, like the real get_pairs."""

    def __init__(self):
        self.puts = []
        self.deletes = []

    def put_pair(self, item):
        self.puts.append(item)

    def delete_pair(self, protection_group, source_server_id):
        self.deletes.append((protection_group, source_server_id))


def test_a_match_result_pair_is_accepted_as_it_is():
    """A pair as drs_instance_match returns it: extra keys ignored, empty values dropped, the wave tag's text
    stored as a number."""
    match_pair = dict(entry(1, wave="2"), source_server_arn="arn:aws:drs:...", target_state="stopped",
                      name_from="source_instance", checks=[{"name": "launch_into_tag", "passed": True}],
                      staging_account_id=None, matched_by="tag", source_instance_id="")
    pair = desired_pair(match_pair, GROUP)
    assert pair == dict(entry(1), wave=2, matched_by="tag")


def test_add_update_unchanged_and_no_purge():
    current = [stored(1), stored(2), stored(3)]
    plan = plan_pairs(current, [entry(1), entry(2, target_instance_id=iid(999)), entry(4)], GROUP)
    assert (plan.added, plan.updated, plan.removed) == ([sid(4)], [sid(2)], [])
    assert plan.changed
    after = {p["source_server_id"]: p for p in plan.pairs_after(NOW)}
    assert set(after) == {sid(1), sid(2), sid(3), sid(4)}  # web-03 is kept without purge
    assert after[sid(1)] == stored(1)  # unchanged: stored timestamps kept
    assert after[sid(2)]["target_instance_id"] == iid(999)
    assert (after[sid(2)]["created_at"], after[sid(2)]["updated_at"]) == (CREATED, NOW)
    assert (after[sid(4)]["created_at"], after[sid(4)]["updated_at"]) == (NOW, NOW)
    assert all(p["protection_group"] == GROUP for p in after.values())
    assert [p["name"] for p in plan.pairs_after(NOW)] == ["web-01", "web-02", "web-03", "web-04"]


def test_purge_removes_pairs_not_given_and_an_empty_list_removes_all():
    current = [stored(1), stored(2), stored(3)]
    plan = plan_pairs(current, [entry(2)], GROUP, purge=True)
    assert (plan.added, plan.updated, plan.removed) == ([], [], [sid(1), sid(3)])
    assert [p["source_server_id"] for p in plan.pairs_after(NOW)] == [sid(2)]
    everything = plan_pairs(current, [], GROUP, purge=True)
    assert everything.removed == [sid(1), sid(2), sid(3)] and everything.pairs_after(NOW) == []


def test_same_pairs_again_change_nothing_whatever_the_timestamps_and_types():
    current = [stored(1), stored(2, wave=3)]
    plan = plan_pairs(current, [entry(1, wave="1"), dict(entry(2, wave=3), created_at="x", updated_at="y")], GROUP,
                      purge=True)
    assert not plan.changed and (plan.added, plan.updated, plan.removed) == ([], [], [])
    assert plan.items_to_put(NOW) == [] and plan.diff() == {"before": {}, "after": {}}
    store = FakeStore()
    assert apply_plan(store, plan, NOW) == sorted(current, key=lambda p: p["name"])
    assert store.puts == [] and store.deletes == []


def test_a_field_left_out_is_removed_from_the_stored_pair():
    plan = plan_pairs([stored(1)], [entry(1, source_private_ip=None)], GROUP)
    assert plan.updated == [sid(1)]
    assert "source_private_ip" not in plan.pairs_after(NOW)[0]
    assert plan.diff()["before"][sid(1)]["source_private_ip"] == "10.0.1.1"
    assert "source_private_ip" not in plan.diff()["after"][sid(1)]


def test_diff_is_keyed_by_source_server_and_shows_only_changes_without_timestamps():
    current = [stored(1), stored(2), stored(3)]
    plan = plan_pairs(current, [entry(1), entry(2, wave=2), entry(4)], GROUP, purge=True)
    diff = plan.diff()
    assert set(diff["before"]) == {sid(2), sid(3)} and set(diff["after"]) == {sid(2), sid(4)}
    assert (diff["before"][sid(2)]["wave"], diff["after"][sid(2)]["wave"]) == (1, 2)
    assert diff["before"][sid(3)] == entry(3)
    for side in diff.values():
        for pair in side.values():
            assert "created_at" not in pair and "updated_at" not in pair and "protection_group" not in pair


def test_apply_writes_puts_then_deletes_exactly_as_planned():
    current = [stored(1), stored(2), stored(3)]
    plan = plan_pairs(current, [entry(1), entry(2, target_instance_id=iid(999)), entry(4)], GROUP, purge=True)
    store = FakeStore()
    after = apply_plan(store, plan, NOW)
    assert sorted(p["source_server_id"] for p in store.puts) == [sid(2), sid(4)]
    put = {p["source_server_id"]: p for p in store.puts}
    assert put[sid(2)] == dict(entry(2, target_instance_id=iid(999)), protection_group=GROUP, created_at=CREATED,
                               updated_at=NOW)
    assert put[sid(4)]["created_at"] == NOW
    assert store.deletes == [(GROUP, sid(3))]
    assert after == plan.pairs_after(NOW)


@pytest.mark.parametrize("changes,field,fragment", [
    ({"source_server_id": "s-123"}, "source_server_id", "'s-123' is not a source server ID"),
    ({"target_instance_id": None}, "target_instance_id", "target_instance_id is required"),
    ({"target_instance_id": "instance-1"}, "target_instance_id", "'instance-1' is not an instance ID"),
    ({"name": None}, "name", "name is required"),
    ({"wave": "first"}, "wave", "wave 'first' must be a non-negative integer"),
    ({"target_private_ip": "10.0.1.300"}, "target_private_ip", "is not an IP address"),
    ({"staging_account_id": "12345"}, "staging_account_id", "12-digit account ID"),
    ({"protection_group": "other"}, "protection_group", "differs from the protection_group option"),
])
def test_an_invalid_pair_is_named_with_its_field_before_anything_is_planned(changes, field, fragment):
    with pytest.raises(ValidationError) as caught:
        plan_pairs([stored(1)], [entry(1), entry(2, **changes)], GROUP, purge=True)
    error = caught.value
    assert fragment in error.message and "pairs[1]" in error.message
    label = changes.get("name", "web-02") or changes.get("source_server_id", sid(2))
    assert label in error.message and error.server == label
    assert error.details["pairs"][0]["fields"] == [field] and error.details["pairs"][0]["index"] == 1
    assert "Nothing was written" in error.remediation and "target_instance_id" in error.remediation


def test_every_invalid_pair_is_reported_at_once():
    with pytest.raises(ValidationError) as caught:
        plan_pairs([], [entry(1, source_server_id="bad"), entry(2), entry(3, target_instance_id=None), "text"], GROUP)
    assert [p["index"] for p in caught.value.details["pairs"]] == [0, 2, 3]
    assert "pairs[3] (pairs[3]): 'text' is not a dict" in caught.value.message


@pytest.mark.parametrize("pairs,fragment", [
    ([entry(1), entry(1, name="web-99", target_instance_id=iid(999))], sid(1)),
    ([entry(1), entry(2, name=" WEB-01 ")], "web-01"),
])
def test_a_server_or_name_given_twice_is_refused(pairs, fragment):
    with pytest.raises(ConfigurationError) as caught:
        plan_pairs([], pairs, GROUP)
    assert "more than one pair" in caught.value.message and fragment in caught.value.message


def test_a_target_claimed_by_a_new_and_a_stored_pair_is_refused_unless_the_stored_one_goes():
    current = [stored(1), stored(2)]
    claim = entry(3, target_instance_id=iid(101))  # web-01's target
    with pytest.raises(ConfigurationError) as caught:
        plan_pairs(current, [claim], GROUP)
    message = caught.value.message
    assert iid(101) in message and sid(1) in message and sid(3) in message and "purge=true" in caught.value.remediation
    with pytest.raises(ConfigurationError):
        plan_pairs(current, [entry(3, name="web-01")], GROUP)  # a stored pair's name
    plan = plan_pairs(current, [claim, entry(2)], GROUP, purge=True)  # web-01 removed in the same run
    assert plan.removed == [sid(1)] and plan.added == [sid(3)]


def test_absent_by_id_or_name_and_missing_pairs_are_no_change():
    current = [stored(1), stored(2), stored(3)]
    plan = plan_pairs(current, [{"source_server_id": sid(1)}, {"name": "  WEB-02"}, {"name": "ghost"},
                                {"source_server_id": sid(77)}], GROUP, state="absent")
    assert plan.removed == [sid(1), sid(2)] and [p["source_server_id"] for p in plan.pairs_after(NOW)] == [sid(3)]
    assert not plan_pairs(current, [{"name": "ghost"}], GROUP, state="absent").changed


def test_absent_entries_are_validated():
    with pytest.raises(ValidationError) as caught:
        plan_pairs([stored(1)], [{"source_server_id": sid(1)}, {"wave": 1}, {"source_server_id": "#LOCK"}], GROUP,
                   state="absent")
    message = caught.value.message
    assert "pairs[1]" in message and "source_server_id or name" in message
    assert "pairs[2] (#LOCK)" in message and "not a source server ID" in message


def test_absent_by_a_name_shared_by_stored_pairs_needs_the_id():
    current = [stored(1), stored(2, name="web-01")]
    with pytest.raises(ValidationError) as caught:
        plan_pairs(current, [{"name": "web-01"}], GROUP, state="absent")
    assert sid(1) in caught.value.message and sid(2) in caught.value.message


def test_purge_with_absent_and_a_bad_group_are_refused():
    with pytest.raises(ConfigurationError) as caught:
        plan_pairs([], [{"name": "web-01"}], GROUP, state="absent", purge=True)
    assert "purge=true" in caught.value.message and "state=present" in caught.value.remediation
    with pytest.raises(ConfigurationError) as caught:
        plan_pairs([], [], "bad group!")
    assert "'bad group!'" in caught.value.message


def test_a_pair_taken_from_the_table_by_the_matcher_keeps_the_stored_matched_by():
    """match -> store -> match (with protection_group) -> store: the second store changes nothing."""
    current = [stored(1, matched_by="tag"), stored(2)]
    plan = plan_pairs(current, [entry(1, matched_by="stored_pair"), entry(2, matched_by="stored_pair"),
                                entry(3, matched_by="stored_pair")], GROUP)
    assert plan.updated == [] and plan.added == [sid(3)]
    added = plan.items_to_put(NOW)[0]
    assert "matched_by" not in added


def test_comparable_ignores_timestamps_group_and_empty_values():
    assert comparable(dict(stored(1), source_instance_id="", staging_account_id=None, lag=3)) == entry(1)
