# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""One failback wave between regions: find what the failover left, and prepare the original instances as the
launch-into targets of the failback (docs/DRS_BEHAVIOUR.md section 7).

Notation of section 7: A1 the original instance (primary region); B1 its DRS source server (recovery region);
B2 its recovery instance (recovery region; with launch-into the pre-provisioned target, still running there);
A2 the FAILBACK source server that ReverseReplication(B2) creates in the primary region. The failback
launches A2 into A1, so A1 comes back with its own instance ID and private IP.

What failover left is read either from the failover's execution record (its server items keep A1, its
private IP as captured at failover, B1, B2 and the staging account) or from DRS itself (B1 by its Name tag,
A1 from identificationHints.awsInstanceID, the IP DRS recorded, B2 = recoveryInstanceId). Either way the
recovery instance is confirmed in DRS. FAILBACK servers are found by the instance they protect (B2), never by
reversedDirectionSourceServerArn, which goes stale across repeated cycles [field].
"""

from ansible_collections.elasticdr.orchestration.plugins.module_utils.drs import source_instance_id
from ansible_collections.elasticdr.orchestration.plugins.module_utils.drs import staging_account_of
from ansible_collections.elasticdr.orchestration.plugins.module_utils.ec2 import has_launch_into_tag
from ansible_collections.elasticdr.orchestration.plugins.module_utils.ec2 import primary_private_ip
from ansible_collections.elasticdr.orchestration.plugins.module_utils.ec2 import state_of
from ansible_collections.elasticdr.orchestration.plugins.module_utils.ec2 import LAUNCH_INTO_TAG_KEY
from ansible_collections.elasticdr.orchestration.plugins.module_utils.ec2 import LAUNCH_INTO_TAG_VALUE
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ConfigurationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ValidationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.failback import failback_servers_by_instance

# RecoveryInstanceFailback.state values that mean reverse replication has been started for the instance.
NOT_STARTED_FAILBACK_STATES = (None, "FAILBACK_NOT_STARTED", "FAILBACK_ERROR")
GONE_EC2_STATES = ("TERMINATED", "SHUTTING-DOWN", "SHUTTING_DOWN", "NOT_FOUND")

REMEDIATION_NOT_FAILED_OVER = (
    "Failback starts from what a failover launched: fail the server over first (failover.yml), or leave it out of "
    "the failback (drs_waves, or the inventory).")
REMEDIATION_RECORD = (
    "Give the id of the failover execution that recovered these servers (failover.yml prints it first), or leave "
    "drs_failover_execution_id unset to read what failover left from DRS.")


def primary_ip_of_nics(nics):
    """The primary IP of DRS networkInterfaces [{ips, isPrimary}], or None."""
    nics = nics or []
    primary = next((n for n in nics if n.get("isPrimary")), nics[0] if nics else {})
    return (primary.get("ips") or [None])[0]


def _problem(name, reason, remediation, source_server_id=None):
    error = ValidationError(f"{name}: {reason}.", server=name, remediation=remediation,
                            details={"source_server_id": source_server_id})
    return {"name": name, "source_server_id": source_server_id, "reason": reason, "error": error.to_dict()}


class FailbackFinder:
    """drs: DRSClient of the recovery region; store: StateStore (only to read a failover execution record)."""

    def __init__(self, drs, store=None):
        self.drs = drs
        self.store = store

    def find(self, names, failover_execution_id=None, protection_group=None):
        """{"servers": [...], "problems": [...]} for the names of a wave. Reads only."""
        names = list(dict.fromkeys(names))
        if failover_execution_id:
            candidates, problems = self._from_record(names, failover_execution_id, protection_group)
        else:
            candidates, problems = self._from_drs(names)
        records = {}
        ids = [c["recovery_instance_id"] for c in candidates]
        if ids:
            records = {r["recoveryInstanceID"]: r for r in self.drs.describe_recovery_instances(ids)}
        servers = []
        for candidate in candidates:
            name, sid, rid = candidate["name"], candidate["source_server_id"], candidate["recovery_instance_id"]
            record = records.get(rid)
            state = (record or {}).get("ec2InstanceState")
            if record is None:
                problems.append(_problem(name, f"its recovery instance {rid} is not a DRS recovery instance in the "
                                               "recovery region any more", REMEDIATION_NOT_FAILED_OVER, sid))
            elif record.get("sourceServerID") != sid:
                problems.append(_problem(
                    name, f"recovery instance {rid} belongs to source server {record.get('sourceServerID')}, not to "
                          f"{sid}", "The failover record and DRS disagree: check the execution id, or read from DRS "
                                    "(leave drs_failover_execution_id unset).", sid))
            elif record.get("isDrill"):
                problems.append(_problem(
                    name, f"recovery instance {rid} is from a drill, not a recovery",
                    "Failback returns from a real failover. Clean up the drill (drill_cleanup.yml) and fail over "
                    "first if that is what you mean.", sid))
            elif (state or "").upper() in GONE_EC2_STATES:
                problems.append(_problem(name, f"the EC2 instance of recovery instance {rid} is {state}",
                                         "Reverse replication needs the recovery instance: it cannot fail back.", sid))
            elif not candidate.get("original_instance_id"):
                problems.append(_problem(name, "the original instance is unknown (DRS recorded no awsInstanceID)",
                                         "Failback between regions launches into the original EC2 instance; this "
                                         "server did not originate in EC2.", sid))
            elif not candidate.get("original_private_ip"):
                problems.append(_problem(name, f"no private IP was recorded for its original instance "
                                               f"{candidate['original_instance_id']}",
                                         "Give drs_failover_execution_id of the failover that captured it, or check "
                                         "the source server in the DRS console.", sid))
            else:
                failback_state = (record.get("failback") or {}).get("state")
                servers.append(dict(
                    candidate,
                    recovery_private_ip=primary_ip_of_nics(
                        (record.get("recoveryInstanceProperties") or {}).get("networkInterfaces")),
                    recovery_instance_state=state, failback_state=failback_state,
                    reverse_replication_started=failback_state not in NOT_STARTED_FAILBACK_STATES))
        order = {n: i for i, n in enumerate(names)}
        servers.sort(key=lambda s: order.get(s["name"], len(order)))
        problems.sort(key=lambda p: order.get(p["name"], len(order)))
        return {"servers": servers, "problems": problems}

    def _from_record(self, names, execution_id, protection_group):
        if self.store is None:
            raise ConfigurationError("Reading a failover execution record needs the state tables.")
        record = self.store.get_execution(execution_id)
        header = record["execution"]
        if header is None:
            raise ConfigurationError(f"No execution {execution_id} in {self.store.tables['executions']}.",
                                     server=execution_id, remediation=REMEDIATION_RECORD)
        if header.get("execution_type") != "FAILOVER":
            raise ConfigurationError(f"Execution {execution_id} is a {header.get('execution_type')}, not a FAILOVER.",
                                     server=execution_id, remediation=REMEDIATION_RECORD)
        if protection_group and header.get("protection_group") != protection_group:
            raise ConfigurationError(
                f"Execution {execution_id} belongs to protection group {header.get('protection_group')}, not "
                f"{protection_group}.", server=execution_id, remediation=REMEDIATION_RECORD)
        items = {}
        for wave in sorted(record["servers"]):
            for name, item in record["servers"][wave].items():
                items.setdefault(name, item)
        candidates, problems = [], []
        for name in names:
            item = items.get(name)
            if item is None:
                problems.append(_problem(name, f"not in failover execution {execution_id}", REMEDIATION_NOT_FAILED_OVER))
                continue
            sid = item.get("source_server_id")
            recovery_id = item.get("recovery_instance_id") or item.get("target_instance_id")
            if item.get("launch_status") != "LAUNCHED" or not recovery_id:
                problems.append(_problem(
                    name, f"failover execution {execution_id} did not launch it (launch status "
                          f"{item.get('launch_status') or 'none'})", REMEDIATION_NOT_FAILED_OVER, sid))
                continue
            candidates.append({
                "name": name, "source_server_id": sid, "original_instance_id": item.get("source_instance_id"),
                "original_private_ip": item.get("source_private_ip"), "recovery_instance_id": recovery_id,
                "staging_account_id": item.get("staging_account_id"), "found_in": "execution_record",
            })
        return candidates, problems

    def _from_drs(self, names):
        by_name = {}
        for server in self.drs.describe_source_servers():
            if server.get("replicationDirection", "FAILOVER") != "FAILOVER":
                continue
            name = (server.get("tags") or {}).get("Name")
            if name in names:
                by_name.setdefault(name, []).append(server)
        candidates, problems = [], []
        for name in names:
            found = by_name.get(name) or []
            if not found:
                problems.append(_problem(name, "no FAILOVER source server tagged Name=" + name + " in the recovery region",
                                         "Check the inventory host name (the Name tag of the source server), the "
                                         "recovery region and role."))
                continue
            if len(found) > 1:
                ids = ", ".join(sorted(s["sourceServerID"] for s in found))
                problems.append(_problem(name, f"several source servers are tagged Name={name} ({ids})",
                                         "Give each source server a unique Name tag, or use drs_failover_execution_id "
                                         "to read the failover record instead."))
                continue
            server = found[0]
            sid = server["sourceServerID"]
            if not server.get("recoveryInstanceId"):
                problems.append(_problem(name, f"source server {sid} has no recovery instance", REMEDIATION_NOT_FAILED_OVER,
                                         sid))
                continue
            candidates.append({
                "name": name, "source_server_id": sid, "original_instance_id": source_instance_id(server),
                "original_private_ip": primary_ip_of_nics((server.get("sourceProperties") or {}).get("networkInterfaces")),
                "recovery_instance_id": server["recoveryInstanceId"], "staging_account_id": staging_account_of(server),
                "found_in": "drs",
            })
        return candidates, problems


def views(servers):
    """The shapes the wave's other modules take, so that the role passes lists instead of building them."""
    return {
        # drs_ip_validate (expect=target): the original is the launch-into target of the failback.
        "originals": [{"name": s["name"], "source_server_id": s["source_server_id"],
                       "instance_id": s["original_instance_id"], "target_private_ip": s["original_private_ip"]}
                      for s in servers],
        # drs_reverse_replication (recovery region)
        "recovery_instance_ids": [s["recovery_instance_id"] for s in servers],
        # drs_agent_install: only where reverse replication has not started (a working agent needs nothing)
        "agent_servers": [{"name": s["name"], "source_server_id": s["source_server_id"],
                           "recovery_instance_id": s["recovery_instance_id"]}
                          for s in servers if not s.get("reverse_replication_started")],
    }


class OriginalInstances:
    """The original instances of a failback wave as launch-into targets, in the primary region.

    ec2 and drs: EC2Client and DRSClient of the primary region (the account of the original instances).
    DRS launches only into an instance tagged AWSDRS=AllowLaunchingIntoThisInstance (section 4). The instances
    tagged here are those DRS itself recorded as the protected instances of the wave's source servers.
    """

    def __init__(self, ec2, drs=None):
        self.ec2 = ec2
        self.drs = drs

    def plan(self, servers, tag=True, require_failback_servers=True, check_mode=False):
        """Read and check everything; decide what to tag and how to pair. No mutating call. Raises
        ValidationError naming every server at fault."""
        entries = []
        for server in servers:
            label = server.get("name") or server.get("source_server_id")
            for key in ("source_server_id", "original_instance_id", "recovery_instance_id"):
                if not server.get(key):
                    raise ConfigurationError(f"{label}: every entry of servers needs {key}.", server=label,
                                             remediation="Pass the servers returned by drs_failback_info.")
            entries.append({"name": server.get("name"), "source_server_id": server["source_server_id"],
                            "instance_id": server["original_instance_id"],
                            "recovery_instance_id": server["recovery_instance_id"],
                            "target_private_ip": server.get("original_private_ip")})
        ids = [e["instance_id"] for e in entries]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ConfigurationError(f"Original instances given to more than one server: {', '.join(duplicates)}.",
                                     server=", ".join(duplicates), remediation="List each server once.")
        instances = self.ec2.describe_instances(ids) if ids else {}
        failback = {}
        if require_failback_servers and entries:
            failback = failback_servers_by_instance(self.drs.describe_source_servers())
        problems = []
        for entry in entries:
            instance = instances.get(entry["instance_id"])
            if instance is None:
                problems.append((entry, f"original instance {entry['instance_id']} does not exist in this account and "
                                        "region", "Failback launches into the original instance; without it the server "
                                                  "cannot come back with its own instance ID and IP."))
                continue
            entry["state"] = state_of(instance)
            entry["private_ip"] = primary_private_ip(instance)
            entry["tagged_before"] = has_launch_into_tag(instance)
            if entry["state"] in ("terminated", "shutting-down"):
                problems.append((entry, f"original instance {entry['instance_id']} is {entry['state']}",
                                 "A terminated original cannot be launched into: this server cannot fail back into "
                                 "its original instance."))
                continue
            if not entry["tagged_before"] and not tag:
                problems.append((entry, f"original instance {entry['instance_id']} is not tagged "
                                        f"{LAUNCH_INTO_TAG_KEY}={LAUNCH_INTO_TAG_VALUE}",
                                 f"Tag it (aws ec2 create-tags --resources {entry['instance_id']} --tags "
                                 f"Key={LAUNCH_INTO_TAG_KEY},Value={LAUNCH_INTO_TAG_VALUE}) or let the playbook tag "
                                 "it (drs_tag_originals=true)."))
                continue
            entry["to_tag"] = not entry["tagged_before"]
            if require_failback_servers:
                reversed_server = failback.get(entry["recovery_instance_id"])
                if reversed_server is not None:
                    entry["failback_source_server_id"] = reversed_server["sourceServerID"]
                    entry["failback_source_server_arn"] = reversed_server.get("arn")
                elif not check_mode:
                    problems.append((entry, f"no FAILBACK source server replicates its recovery instance "
                                            f"{entry['recovery_instance_id']} in this region",
                                     "Start reverse replication first (drs_reverse_replication) and wait until it is "
                                     "CONTINUOUS."))
                    continue
        if problems:
            for entry, why, remediation in problems:
                entry["error"] = ValidationError(f"{entry['name'] or entry['source_server_id']}: {why}.",
                                                 server=entry["name"] or entry["source_server_id"],
                                                 remediation=remediation,
                                                 details={"instance_id": entry["instance_id"]}).to_dict()
            raise ValidationError(
                "Original instances not ready for failback: "
                + "; ".join(f"{e['name'] or e['source_server_id']}: {why}" for e, why, _r in problems),
                server=", ".join(e["name"] or e["source_server_id"] for e, _w, _r in problems),
                remediation=" ".join(dict.fromkeys(r for _e, _w, r in problems)),
                details={"servers": entries})
        return entries

    def apply(self, entries):
        """Tag the originals that need it; returns their IDs."""
        to_tag = [e["instance_id"] for e in entries if e.get("to_tag")]
        if to_tag:
            self.ec2.add_launch_into_tag(to_tag)
            for entry in entries:
                if entry.get("to_tag"):
                    entry["tagged"] = True
        return to_tag


def pairs_of(entries, check_mode=False):
    """(pairs, unpaired): the failback launches drs_launch_config / drs_recovery / drs_ip_validate take, and the
    servers that cannot be paired yet (check mode: no FAILBACK server yet, or the original not tagged yet)."""
    pairs, unpaired = [], []
    for entry in entries:
        ready = entry.get("failback_source_server_id") and not (check_mode and entry.get("to_tag"))
        if ready:
            pairs.append({"name": entry["name"], "source_server_id": entry["failback_source_server_id"],
                          "target_instance_id": entry["instance_id"], "target_private_ip": entry["target_private_ip"],
                          "original_source_server_id": entry["source_server_id"]})
        else:
            unpaired.append({"name": entry["name"], "source_server_id": entry["source_server_id"],
                             "instance_id": entry["instance_id"],
                             "reason": "not tagged yet (check mode)" if entry.get("failback_source_server_id")
                             else "no FAILBACK source server yet"})
    return pairs, unpaired
