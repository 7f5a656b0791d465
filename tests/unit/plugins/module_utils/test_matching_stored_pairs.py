# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The protection group's stored pairs are explicit pairs for the matcher: they win over tags, lose to the
overrides given to the call, and are validated like any other pair."""

import pytest

from .fakes import MatchEstate
from .fakes import iid


def _pairs(result):
    return {p["source_server_id"]: (p["target_instance_id"], p["matched_by"]) for p in result.pairs}


def test_a_stored_pair_wins_over_the_tag_match():
    estate = MatchEstate()
    server_id = estate.source("web-01")
    estate.target("web-01")
    stored = estate.target("web-01-renamed")
    result = estate.matcher().match(stored_pairs={server_id: stored})
    assert _pairs(result) == {server_id: (stored, "stored_pair")}
    assert result.unmatched == result.ambiguous == result.invalid == []


@pytest.mark.parametrize("key", ["server_id", "name"])
def test_an_override_given_to_the_call_wins_over_the_stored_pair(key):
    estate = MatchEstate()
    server_id = estate.source("web-01")
    stored = estate.target("stored-target")
    explicit = estate.target("explicit-target")
    result = estate.matcher().match(overrides={server_id if key == "server_id" else " WEB-01": explicit},
                                    stored_pairs={server_id: stored})
    assert _pairs(result) == {server_id: (explicit, "override")}


def test_stored_pairs_only_for_the_servers_selected_and_others_still_match_by_tag():
    estate = MatchEstate()
    first = estate.source("web-01")
    second = estate.source("web-02")
    third = estate.source("web-03")
    pinned = estate.target("legacy")
    by_tag = estate.target("web-02")
    estate.target("web-03")
    result = estate.matcher().match(names=["web-01", "web-02"], stored_pairs={first: pinned, third: iid(0xABC)})
    assert _pairs(result) == {first: (pinned, "stored_pair"), second: (by_tag, "tag")}
    assert result.invalid == []  # web-03's stored pair (to a missing target) is not used: web-03 is not selected


def test_a_stored_pair_to_a_missing_target_is_invalid_and_says_so():
    estate = MatchEstate()
    server_id = estate.source("web-01")
    estate.target("web-01")
    gone = iid(0xDEAD)
    result = estate.matcher().match(stored_pairs={server_id: gone})
    (entry,) = result.invalid
    assert entry["target_instance_id"] == gone and entry["matched_by"] == "stored_pair"
    assert entry["checks"][0]["name"] == "target_exists" and "stored pair's target" in entry["checks"][0]["message"]


def test_a_stored_pair_is_validated_like_any_pair():
    estate = MatchEstate()
    server_id = estate.source("web-01")
    untagged = estate.target("other", tagged=False)
    result = estate.matcher().match(stored_pairs={server_id: untagged})
    (entry,) = result.invalid
    assert entry["matched_by"] == "stored_pair"
    assert [c["name"] for c in entry["checks"] if not c["passed"] and c["severity"] == "error"] == ["launch_into_tag"]
