# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Reverse replication for failback between AWS regions (docs/DRS_BEHAVIOUR.md section 7).

After failover, ReverseReplication(recovery instance) in the recovery region creates a FAILBACK-direction
source server in the origin account/region. Failback may launch only once that server is CONTINUOUS with a
small lag. Failback servers are found by identificationHints.awsInstanceID (= the recovery instance's EC2
ID): the reversedDirectionSourceServerArn link goes stale across repeated cycles [field].
"""

import time

from ansible_collections.elasticdr.orchestration.plugins.module_utils.drs import NOT_REPLICATING
from ansible_collections.elasticdr.orchestration.plugins.module_utils.drs import replication_info
from ansible_collections.elasticdr.orchestration.plugins.module_utils.drs import source_instance_id
from ansible_collections.elasticdr.orchestration.plugins.module_utils.drs import staging_account_of
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ConfigurationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.recovery import execution_jobs
from ansible_collections.elasticdr.orchestration.plugins.module_utils.recovery import plan_launches

READY_STATE = "CONTINUOUS"
BAD_STATES = ("STALLED", "DISCONNECTED", "STOPPED", "PAUSED")


def server_id_from_arn(arn):
    return arn.rsplit("/", 1)[-1] if arn else None


def failback_servers_by_instance(origin_servers):
    """{protected EC2 instance ID: FAILBACK source server} among source servers of the origin region."""
    out = {}
    for server in origin_servers:
        if server.get("replicationDirection") == "FAILBACK":
            instance_id = source_instance_id(server)
            if instance_id:
                out[instance_id] = server
    return out


class ReverseReplication:
    """recovery_drs: DRSClient in the recovery region; origin_drs: DRSClient in the origin (primary) region."""

    def __init__(self, recovery_drs, origin_drs):
        self.recovery_drs = recovery_drs
        self.origin_drs = origin_drs
        self._known_origin_ids = None
        self._instance_ids = {}

    def plan(self, recovery_instance_ids, execution_id=None, wave=None):
        """Read state; decide which recovery instances need ReverseReplication. No mutating call.

        A FAILBACK server whose replication was stopped is started again (a later failback cycle of the same
        instance), unless the execution given (execution_id, wave) has already launched it or is launching it:
        then the failback of that server is past reverse replication, which is neither restarted nor waited for
        (a rerun after the wave's launch, re-protection and standby, whose record was not yet written)."""
        ids = list(recovery_instance_ids)
        records = {r["recoveryInstanceID"]: r for r in self.recovery_drs.describe_recovery_instances(ids)}
        missing = [i for i in ids if i not in records]
        if missing:
            raise ConfigurationError(
                f"No recovery instance {', '.join(missing)} in the recovery region.", server=", ".join(missing),
                remediation="Reverse replication starts from recovery instances: run the failover first, or check "
                            "the recovery region and role.")
        originals = {s["sourceServerID"]: s for s in self.recovery_drs.describe_source_servers(
            [r["sourceServerID"] for r in records.values()])}
        origin_servers = self.origin_drs.describe_source_servers()
        # Every source server the origin region has before any call: a ReverseReplication that answers with
        # another one created it (DRS may also resume one of these, which keeps its own launch configuration).
        self._known_origin_ids = {s["sourceServerID"] for s in origin_servers}
        existing = failback_servers_by_instance(origin_servers)
        self._instance_ids = {rid: records[rid].get("ec2InstanceID") or rid for rid in ids}
        reversed_servers = {rid: existing.get(records[rid].get("ec2InstanceID") or rid) for rid in ids}
        reversed_ids = [s["sourceServerID"] for s in reversed_servers.values() if s]
        launched = set()
        if execution_id and reversed_ids:  # a launch needs a FAILBACK server: none yet, no job to look for
            launched = set(plan_launches(reversed_ids, execution_jobs(self.origin_drs, execution_id, wave))["adopt"])
        entries = []
        for rid in ids:
            record = records[rid]
            original = originals.get(record["sourceServerID"], {})
            reversed_server = reversed_servers[rid]
            failed_back = bool(reversed_server) and reversed_server["sourceServerID"] in launched
            # A FAILBACK server that replicates no more (the standby after a failback stops it) is started again for
            # a new failback of its instance.
            stopped = bool(reversed_server) and replication_info(reversed_server)[0] in NOT_REPLICATING
            entries.append({
                "recovery_instance_id": rid,
                "original_source_server_id": record["sourceServerID"],
                "original_instance_id": source_instance_id(original) if original else None,
                "staging_account_id": staging_account_of(original) if original else None,
                "reversed_source_server_id": reversed_server["sourceServerID"] if reversed_server else None,
                "reversed_source_server_arn": reversed_server.get("arn") if reversed_server else None,
                "needs_start": reversed_server is None or (stopped and not failed_back),
                "failed_back": failed_back,
            })
        return entries

    def start(self, entries):
        """ReverseReplication for the entries that need it; fills in the reversed server. An entry whose source
        server this call created (the origin region did not have it when plan() read it) gets created=True: DRS
        gave that server its launch configuration from the origin region's launch configuration template. Without
        a plan() of this object nothing is known to be new, and created stays False."""
        started = []
        for entry in entries:
            entry.setdefault("created", False)
            if entry["needs_start"]:
                rid = entry["recovery_instance_id"]
                arn = self.recovery_drs.reverse_replication(
                    rid, find_reversed=lambda rid=rid: self.find_reversed_server_arn(rid))
                entry["reversed_source_server_arn"] = arn
                entry["reversed_source_server_id"] = server_id_from_arn(arn)
                entry["created"] = self._known_origin_ids is not None and (
                    entry["reversed_source_server_id"] not in self._known_origin_ids)
                entry["needs_start"] = False
                started.append(entry["recovery_instance_id"])
        return started

    def find_reversed_server_arn(self, recovery_instance_id):
        """The ARN of the origin-region source server that replicates this recovery instance's EC2 instance back
        (identificationHints.awsInstanceID, as plan() finds it), when a ReverseReplication evidently reached it:
        the server is new since plan() read the origin region, or it replicates (a server needs ReverseReplication
        only when it is missing or its replication is stopped). None when no such server is found: the call
        had no effect and is made again. The reversedDirectionSourceServerArn link is not used: it goes stale
        across repeated failback cycles."""
        instance_id = self._instance_ids.get(recovery_instance_id) or recovery_instance_id
        candidates = [s for s in self.origin_drs.describe_source_servers() if source_instance_id(s) == instance_id]
        candidates.sort(key=lambda s: s.get("replicationDirection") != "FAILBACK")
        for server in candidates:
            new = self._known_origin_ids is not None and server["sourceServerID"] not in self._known_origin_ids
            if new or replication_info(server)[0] not in NOT_REPLICATING:
                return server.get("arn")
        return None

    def observe(self, entries, lag_threshold):
        """Refresh replication state and readiness of every entry with a reversed server (one batched read)."""
        ids = [e["reversed_source_server_id"] for e in entries if e.get("reversed_source_server_id")]
        servers = {s["sourceServerID"]: s for s in self.origin_drs.describe_source_servers(ids)} if ids else {}
        for entry in entries:
            server = servers.get(entry.get("reversed_source_server_id"))
            state, lag = replication_info(server) if server else (None, None)
            entry["replication_state"] = state
            entry["lag_seconds"] = lag
            entry["ready"] = entry.get("failed_back", False) or (
                state == READY_STATE and lag is not None and lag < lag_threshold)
        return entries

    def wait(self, entries, lag_threshold=60.0, timeout=3600.0, poll_interval=30.0, sleep=time.sleep,
             clock=time.monotonic, on_progress=None):
        """Poll until every reversed server is ready, or the timeout. Returns (entries, timed_out, polls)."""
        started = clock()
        polls = 0
        while True:
            self.observe(entries, lag_threshold)
            polls += 1
            if on_progress:
                on_progress(entries)
            if all(e["ready"] for e in entries):
                return entries, False, polls
            if clock() - started + poll_interval > timeout:
                return entries, True, polls
            sleep(poll_interval)
