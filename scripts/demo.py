#!/usr/bin/env python
"""`make demo`: start the simulator with the demo estate, recover wave 1 into its pre-provisioned
targets through boto3 (launch into an existing instance), show what happened, stop the simulator.

Everything below talks to the simulator only through the AWS APIs, as a real run would.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

import boto3  # noqa: E402

from simlib import SimulatorProcess  # noqa: E402

PRIMARY, RECOVERY = "us-east-1", "us-west-2"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--wave", type=int, default=1)
    parser.add_argument("--time-scale", type=float, default=120.0,
                        help="simulated seconds per real second (120: a 10-minute DRS job takes 5 s)")
    args = parser.parse_args()

    estate = os.path.join(ROOT, "simulator", "estates", "demo.yml")
    print(f"Starting the simulator with {os.path.relpath(estate, ROOT)} (time scale {args.time_scale:g}x)...")
    sim = SimulatorProcess(time_scale=args.time_scale, estate=estate)
    try:
        return run(sim.url, args.wave)
    finally:
        sim.stop()
        print("Simulator stopped.")


def run(url: str, wave: int) -> int:
    session = boto3.Session(aws_access_key_id="demo", aws_secret_access_key="demo")
    drs = session.client("drs", region_name=RECOVERY, endpoint_url=url)
    ec2_primary = session.client("ec2", region_name=PRIMARY, endpoint_url=url)
    ec2_recovery = session.client("ec2", region_name=RECOVERY, endpoint_url=url)

    servers = [s for s in drs.describe_source_servers()["items"] if s["tags"].get("drs:wave") == str(wave)]
    print(f"\nWave {wave}: {len(servers)} protected servers replicating into {RECOVERY}")
    source_ids = [s["sourceProperties"]["identificationHints"]["awsInstanceID"] for s in servers]
    sources = _instances(ec2_primary, InstanceIds=source_ids)
    targets = _instances(ec2_recovery, Filters=[{"Name": "tag:AWSDRS", "Values": ["AllowLaunchingIntoThisInstance"]}])
    target_by_name = {_name(t): t for t in targets}

    pairs = []
    for server in servers:
        source = sources[server["sourceProperties"]["identificationHints"]["awsInstanceID"]]
        target = target_by_name.get(_name(source))
        if target is None:
            print(f"  {_name(source)}: no launch-into target with the same Name tag; skipped")
            continue
        pairs.append((server, source, target))
        print(f"  {_name(source):10} {server['sourceServerID']}  {source['InstanceId']} {source['PrivateIpAddress']:>12}"
              f"  ->  {target['InstanceId']} {target['PrivateIpAddress']:>12} ({target['State']['Name']})"
              f"  replication {server['dataReplicationInfo']['dataReplicationState']}")

    print("\nConfiguring DRS to launch into the targets (copyPrivateIp/copyTags off, right-sizing NONE)...")
    for server, _, target in pairs:
        drs.update_launch_configuration(
            sourceServerID=server["sourceServerID"], copyPrivateIp=False, copyTags=False,
            targetInstanceTypeRightSizingMethod="NONE", launchDisposition="STARTED",
            launchIntoInstanceProperties={"launchIntoEC2InstanceID": target["InstanceId"]})

    job = drs.start_recovery(sourceServers=[{"sourceServerID": s["sourceServerID"]} for s, _, _ in pairs],
                             isDrill=False, tags={"demo": f"wave-{wave}"})["job"]
    print(f"Started recovery job {job['jobID']} ({job['status']})")
    started = time.monotonic()
    last = None
    while True:
        job = drs.describe_jobs(filters={"jobIDs": [job["jobID"]]})["items"][0]
        counts = {}
        for item in job["participatingServers"]:
            counts[item["launchStatus"]] = counts.get(item["launchStatus"], 0) + 1
        line = f"  {job['status']:9} " + ", ".join(f"{k.lower()} {v}" for k, v in sorted(counts.items()))
        if line != last:
            print(f"{line}   ({time.monotonic() - started:4.1f} s)")
            last = line
        if job["status"] == "COMPLETED":
            break
        time.sleep(0.5)

    print("\nJob log:")
    for item in drs.describe_job_log_items(jobID=job["jobID"])["items"]:
        data = item.get("eventData", {})
        print(f"  {item['logDateTime']}  {item['event']:16} {data.get('sourceServerID', '')} {data.get('rawError', '')}")

    print("\nResult:")
    recovered = _instances(ec2_recovery, InstanceIds=[t["InstanceId"] for _, _, t in pairs])
    launched = {p["sourceServerID"]: p for p in job["participatingServers"]}
    ok = True
    for server, source, target in pairs:
        after = recovered[target["InstanceId"]]
        status = launched[server["sourceServerID"]]["launchStatus"]
        same_ip = after["PrivateIpAddress"] == target["PrivateIpAddress"] == source["PrivateIpAddress"]
        volumes = ", ".join(m["Ebs"]["VolumeId"] for m in after.get("BlockDeviceMappings", []))
        ok &= status == "LAUNCHED" and same_ip
        print(f"  {_name(source):10} {status:8} instance {after['InstanceId']} {after['State']['Name']:8} "
              f"IP {after['PrivateIpAddress']} {'preserved' if same_ip else 'CHANGED'}  volumes {volumes}")
    kept = ec2_recovery.describe_volumes(Filters=[{"Name": "tag-key", "Values": ["drs:replaced-on-instance"]}])["Volumes"]
    print(f"\n{len(kept)} original target volumes were detached and kept (tag drs:replaced-on-instance).")
    print("Wave recovered: instance IDs and private IPs preserved." if ok else "Wave NOT fully recovered.")
    return 0 if ok else 1


def _instances(ec2, **kwargs):
    out = {}
    for page in ec2.get_paginator("describe_instances").paginate(**kwargs):
        for reservation in page["Reservations"]:
            for instance in reservation["Instances"]:
                out[instance["InstanceId"]] = instance
    return out if "InstanceIds" in kwargs else list(out.values())


def _name(instance):
    return next((t["Value"] for t in instance.get("Tags", []) if t["Key"] == "Name"), instance["InstanceId"])


if __name__ == "__main__":
    sys.exit(main())
