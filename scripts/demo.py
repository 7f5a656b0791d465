#!/usr/bin/env python
"""`make demo`: the collection's playbooks on the embedded simulator.

Starts the simulator with the demo estate at compressed time, then runs, against inventories/demo, each
playbook of the main job that the collection ships (state tables, preflight, failover of all waves, report,
failback, report), shows the resulting AWS state, and stops the simulator. Everything reaches the simulator
through the standard AWS settings (AWS_URL and credentials): nothing in a playbook is specific to it.

IAM is enforced in the simulator: the playbooks run as a session of the role DRSOrchestrator, which carries exactly
extensions/iam/orchestrator-policy.json, and reach the role DRSOrchestration (target-account-policy.json, trust
policy target-account-trust-policy.json) through sts:AssumeRole with its ExternalId, as on a real account. A call
the shipped policies do not allow, or a permission DRS lacks when it acts with the caller's credentials, fails the
run. The estate is built, and the state shown, with the simulator's operator credentials.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

import boto3  # noqa: E402
import requests  # noqa: E402

import principals  # noqa: E402
from simlib import SimulatorProcess  # noqa: E402

PRIMARY, RECOVERY = "us-east-1", "us-west-2"
INVENTORY = os.path.join(ROOT, "inventories", "demo")
# The operator's credentials (the account's root user in the simulator), for building and showing the estate.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "AKIASIMULATOR", "AWS_SECRET_ACCESS_KEY": "simulator-not-a-secret"}
# The main job, in order; playbooks the collection does not ship (yet) are skipped with a note.
STEPS = [("state_tables", []), ("preflight", []), ("failover", ["-e", "drs_execution_id={failover_id}"]),
         ("report", ["-e", "drs_execution_id={failover_id}"]), ("failback", ["-e", "drs_execution_id={failback_id}"]),
         ("report", ["-e", "drs_execution_id={failback_id}"])]


def collections_path():
    """A collections tree whose elasticdr/orchestration is this checkout (a symlink, as the tests use)."""
    parent = os.path.join(ROOT, "build", "collections", "ansible_collections", "elasticdr")
    os.makedirs(parent, exist_ok=True)
    link = os.path.join(parent, "orchestration")
    if not os.path.islink(link):
        os.symlink(os.path.relpath(ROOT, parent), link)
    return os.path.join(ROOT, "build", "collections")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--time-scale", type=float, default=600.0,
                        help="simulated seconds per real second (600: a ten-minute DRS job takes a second)")
    args = parser.parse_args()
    estate = os.path.join(ROOT, "simulator", "estates", "demo.yml")
    print(f"Starting the simulator with {os.path.relpath(estate, ROOT)} (time scale {args.time_scale:g}x)...", flush=True)
    sim = SimulatorProcess(time_scale=args.time_scale, estate=estate, extra_env={"DRS_SIMULATOR_IAM": "enforce"})
    try:
        return run(sim.url)
    finally:
        sim.stop()
        print("Simulator stopped.")


def run(url: str) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ANSIBLE_")) and k != "PYTHONPATH"}
    run_as = principals.create(url)
    print(f"IAM enforced: the run acts as {run_as.orchestrator_role_arn} (orchestrator-policy.json) and reaches "
          f"{run_as.target_role_arn} (target-account-policy.json) with its ExternalId.", flush=True)
    env.update(run_as.env)  # its credentials, and the ExternalId as DRS_EXTERNAL_ID: a secret stays out of the inventory
    env.update({"AWS_URL": url, "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "AWS_EC2_METADATA_DISABLED": "true", "ANSIBLE_COLLECTIONS_PATH": collections_path(),
                "ANSIBLE_LOCALHOST_WARNING": "false", "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
                "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default"})
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    ids = {"failover_id": f"shop-demo-failover-{stamp}", "failback_id": f"shop-demo-failback-{stamp}"}
    playbook_bin = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    started = time.monotonic()
    for name, extra in STEPS:
        path = os.path.join(ROOT, "playbooks", f"{name}.yml")
        if not os.path.exists(path):
            print(f"\n== {name}.yml: not in this version of the collection; skipped")
            continue
        cmd = [sys.executable, playbook_bin, path, "-i", INVENTORY,
               "-e", f"drs_target_role_arn={run_as.target_role_arn}"] + [a.format(**ids) for a in extra]
        print(f"\n== ansible-playbook playbooks/{name}.yml -i inventories/demo {' '.join(cmd[5:])}", flush=True)
        step = time.monotonic()
        proc = subprocess.run(cmd, env=env, cwd=ROOT, check=False)
        print(f"== {name}.yml: exit code {proc.returncode} in {time.monotonic() - step:.1f} s", flush=True)
        if proc.returncode != 0:
            return proc.returncode
    show_state(url)
    denials = requests.get(f"{url}/_simulator/iam", timeout=30).json()["denials"]
    print(f"\nIAM: {len(denials)} request(s) denied during the run.")
    print(f"\nDemo finished in {time.monotonic() - started:.1f} s.")
    return 0


def show_state(url):
    session = boto3.Session(aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
    for region, title in ((RECOVERY, "recovery region"), (PRIMARY, "primary region")):
        ec2 = session.client("ec2", region_name=region, endpoint_url=url)
        print(f"\nInstances in the {title} ({region}):")
        rows = []
        for page in ec2.get_paginator("describe_instances").paginate():
            for reservation in page["Reservations"]:
                for instance in reservation["Instances"]:
                    tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
                    rows.append((tags.get("Name", "-"), instance["InstanceId"], instance["State"]["Name"],
                                 instance.get("PrivateIpAddress", "-"), "launch-into target" if "AWSDRS" in tags else ""))
        for row in sorted(rows):
            print(f"  {row[0]:<10} {row[1]:<21} {row[2]:<8} {row[3]:<13} {row[4]}")


if __name__ == "__main__":
    sys.exit(main())
