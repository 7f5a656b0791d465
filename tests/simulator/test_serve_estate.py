"""`serve --estate`: an estate built at start-up is made with the simulator's EC2 behaviour (docs/simulator.md), the
same as one loaded through POST /_simulator/estate: a Windows server with UEFI boot is Windows and UEFI in EC2."""
import os

from simlib import ROOT, Sim, SimulatorProcess

DEMO = os.path.join(ROOT, "simulator", "estates", "demo.yml")


def test_an_estate_built_at_start_up_keeps_platform_and_boot_mode():
    process = SimulatorProcess(time_scale=1.0, estate=DEMO)
    try:
        sim = Sim(process.url)
        for region in ("us-east-1", "us-west-2"):
            instances = [i for r in sim.client("ec2", region=region).describe_instances()["Reservations"]
                         for i in r["Instances"]]
            by_name = {t["Value"]: i for i in instances for t in i.get("Tags", []) if t["Key"] == "Name"}
            windows = by_name["batch-01"]  # platform: windows, boot_mode: uefi in the demo estate
            assert (windows.get("Platform"), windows["PlatformDetails"], windows["BootMode"]) == \
                ("windows", "Windows", "uefi"), region
            assert "Platform" not in by_name["web-01"] and by_name["web-01"]["PlatformDetails"] == "Linux/UNIX"
    finally:
        process.stop()
