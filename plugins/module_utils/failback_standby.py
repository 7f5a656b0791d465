# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""After a failback: the recovery region back to standby (docs/DRS_BEHAVIOUR.md section 7, step 5).

Once the originals (A1) run again in the primary region and are re-protected, two things are left over from the
failover: the FAILBACK source servers (A2) in the primary region still replicate the recovery instances, and the
recovery instances (B2, the launch-into targets) still run in the recovery region, with the same private IPs as
the originals. The DRS order is to stop A2's replication first, then deal with B2; a launched-into instance is
never terminated, so B2 is stopped (only when tagged AWSDRS=AllowLaunchingIntoThisInstance) and stays the target
of the next failover.

Everything is read and checked before the first change; check mode stops after the plan.
"""

from ansible_collections.elasticdr.orchestration.plugins.module_utils.drs import NOT_REPLICATING
from ansible_collections.elasticdr.orchestration.plugins.module_utils.ec2 import has_launch_into_tag
from ansible_collections.elasticdr.orchestration.plugins.module_utils.ec2 import state_of
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ValidationError

GONE = ("shutting-down", "terminated")


class RecoveryRegionStandby:
    """primary_drs: DRSClient of the primary region (the FAILBACK servers); recovery_ec2: EC2Client of the
    recovery region (the recovery instances)."""

    def __init__(self, primary_drs, recovery_ec2):
        self.drs = primary_drs
        self.ec2 = recovery_ec2
        self._instances = {}

    def plan(self, servers, stop_replication=True, stop_instances=True):
        """servers: [{name, failback_source_server_id, recovery_instance_id}]. Returns the entries, each with
        the actions to take; raises ValidationError, naming every server at fault, before any change."""
        failback_ids = [s.get("failback_source_server_id") for s in servers if s.get("failback_source_server_id")]
        found = {s["sourceServerID"]: s for s in self.drs.describe_source_servers(failback_ids)} if (
            stop_replication and failback_ids) else {}
        instances = self.ec2.describe_instances([s.get("recovery_instance_id") for s in servers]) if (
            stop_instances) else {}
        self._instances = instances  # apply() stops from this read, which checked their tags
        entries, problems = [], []
        for server in servers:
            name = server.get("name") or server.get("failback_source_server_id") or "?"
            entry = {"name": name, "failback_source_server_id": server.get("failback_source_server_id"),
                     "recovery_instance_id": server.get("recovery_instance_id"), "actions": []}
            if stop_replication and entry["failback_source_server_id"]:
                record = found.get(entry["failback_source_server_id"])
                state = ((record or {}).get("dataReplicationInfo") or {}).get("dataReplicationState")
                entry["replication_state"] = state
                if record is None:
                    problems.append(f"{name}: FAILBACK source server {entry['failback_source_server_id']} is not found "
                                    "in the primary region (another account needs source_role_arn)")
                elif state not in NOT_REPLICATING:
                    entry["actions"].append("stop_replication")
            if stop_instances and entry["recovery_instance_id"]:
                instance = instances.get(entry["recovery_instance_id"])
                if instance is None or state_of(instance) in GONE:
                    problems.append(f"{name}: recovery instance {entry['recovery_instance_id']} is "
                                    f"{state_of(instance) if instance else 'not found'} in the recovery region")
                elif not has_launch_into_tag(instance):
                    problems.append(f"{name}: recovery instance {entry['recovery_instance_id']} is not tagged "
                                    "AWSDRS=AllowLaunchingIntoThisInstance, so it is not a launch-into target the "
                                    "collection may stop")
                else:
                    entry["instance_state"] = state_of(instance)
                    if entry["instance_state"] in ("pending", "running"):
                        entry["actions"].append("stop_instance")
            entries.append(entry)
        if problems:
            raise ValidationError(
                f"Cannot return the recovery region to standby for {len(problems)} server(s): " + "; ".join(problems),
                server=", ".join(p.split(":", 1)[0] for p in problems),
                remediation="Check the FAILBACK source servers and the recovery instances named (recovery instances are "
                            "never terminated by the collection); stop them yourself, or rerun with "
                            "drs_standby_after_failback=false to leave them as they are. Nothing was changed.",
                details={"servers": entries})
        return entries

    def apply(self, entries):
        """Stop replication first, then the instances. Returns (replication stopped for, instances stopped)."""
        replication = []
        for entry in entries:
            if "stop_replication" in entry["actions"]:
                self.drs.stop_replication(entry["failback_source_server_id"])
                replication.append(entry["failback_source_server_id"])
        to_stop = [e["recovery_instance_id"] for e in entries if "stop_instance" in e["actions"]]
        stopped = []
        if to_stop:
            stopped = self.ec2.stop_launch_into_targets([self._instances[i] for i in to_stop])
        return replication, stopped
