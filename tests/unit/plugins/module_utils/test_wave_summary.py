# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""A wave's server records, counts and verdict from what its modules returned."""

from ansible_collections.elasticdr.orchestration.plugins.module_utils.wave_summary import from_results

MATCH = {
    "pairs": [{"name": "db-01", "source_server_id": "s-1", "target_instance_id": "i-1", "target_private_ip": "10.0.0.1"},
              {"name": "db-02", "source_server_id": "s-2", "target_instance_id": "i-2", "target_private_ip": "10.0.0.2"}],
    "unmatched": [{"name": "web-01", "reason": "no target named web-01"}], "ambiguous": [], "invalid": [],
}
RECOVERY = {"servers": [{"source_server_id": "s-1", "launch_status": "LAUNCHED", "job_id": "drsjob-1"},
                        {"source_server_id": "s-2", "launch_status": "LAUNCHED", "job_id": "drsjob-1"}],
            "started_jobs": ["drsjob-1"], "adopted_jobs": ["drsjob-0"]}
IPS = {"results": [{"source_server_id": "s-1", "actual_ip": "10.0.0.1", "preserved": True},
                   {"source_server_id": "s-2", "actual_ip": "10.0.0.9", "preserved": False}]}


def test_every_server_of_the_wave_with_its_launch_and_ip():
    servers, job_ids, tally, status = from_results(MATCH, RECOVERY, IPS)
    by_name = {s["name"]: s for s in servers}
    assert sorted(by_name) == ["db-01", "db-02", "web-01"]
    assert by_name["db-01"]["ip_preserved"] is True and by_name["db-02"]["recovery_private_ip"] == "10.0.0.9"
    assert by_name["web-01"]["launch_status"] == "NOT_MATCHED"
    assert job_ids == ["drsjob-0", "drsjob-1"]
    assert tally["launched"] == 2 and tally["ip_mismatches"] == 1 and tally["not_matched"] == 1
    assert status == "PARTIAL"


def test_a_wave_where_every_server_launched_and_kept_its_ip_completed():
    match = dict(MATCH, unmatched=[])
    ips = {"results": [dict(r, preserved=True) for r in IPS["results"]]}
    assert from_results(match, RECOVERY, ips)[3] == "COMPLETED"


def test_values_given_are_kept():
    servers, job_ids, tally, status = from_results(MATCH, RECOVERY, IPS, job_ids=["drsjob-9"], tally={"launched": 7},
                                                   status="TIMED_OUT")
    assert job_ids == ["drsjob-9"] and tally == {"launched": 7} and status == "TIMED_OUT" and len(servers) == 3
