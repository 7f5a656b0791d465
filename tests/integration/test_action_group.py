"""`module_defaults: group/elasticdr.orchestration.drs` reaches the collection's modules and amazon.aws modules
(the group extends amazon.aws.aws), carrying the standard AWS connection options: region, endpoint_url,
access_key/secret_key or profile. debug_botocore_endpoint_logs lists the AWS calls made."""
from simlib import small_estate

from .helpers import ACCESS_KEY, SECRET_KEY, drs

GROUP = "group/elasticdr.orchestration.drs"


def test_group_defaults_reach_our_modules_and_amazon_aws(sim, play, tmp_path):
    summary = sim.load_estate(small_estate(3, 1))
    targets = sorted(s["target_instance_id"] for s in summary["servers"].values())
    credentials = tmp_path / "credentials"
    credentials.write_text(f"[simprofile]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n")
    connection = {"region": "us-west-2", "endpoint_url": sim.url}
    plays = [
        {"name": "keys from the group", "hosts": "localhost", "gather_facts": False, "connection": "local",
         "module_defaults": {GROUP: dict(connection, access_key=ACCESS_KEY, secret_key=SECRET_KEY)},
         "tasks": [
             drs("drs_source_server_info", "ours"),
             {"name": "amazon_aws", "amazon.aws.ec2_instance_info": {
                 "filters": {"tag:AWSDRS": "AllowLaunchingIntoThisInstance"}}},
             drs("drs_instance_match", "match", source_region="us-east-1"),
             drs("drs_job_info", "logged", debug_botocore_endpoint_logs=True),
         ]},
        {"name": "profile from the group", "hosts": "localhost", "gather_facts": False, "connection": "local",
         "module_defaults": {GROUP: dict(connection, profile="simprofile")},
         "tasks": [
             drs("drs_source_server_info", "ours_by_profile"),
             {"name": "amazon_aws_by_profile", "amazon.aws.ec2_instance_info": {"instance_ids": targets}},
         ]},
        {"name": "no defaults", "hosts": "localhost", "gather_facts": False, "connection": "local",
         "tasks": [drs("drs_source_server_info", "no_defaults", ignore_errors=True)]},
    ]
    # nothing in the environment: region, endpoint and credentials come only from module_defaults
    run = play.run(plays=plays, credentials=False, endpoint=False, env={"AWS_SHARED_CREDENTIALS_FILE": str(credentials)})

    ours = run.ok("ours")["source_servers"]
    assert sorted(s["source_server_id"] for s in ours) == sorted(s["source_server_id"] for s in summary["servers"].values())
    found = run.ok("amazon_aws")["instances"]
    assert sorted(i["instance_id"] for i in found) == targets
    assert len(run.ok("match")["pairs"]) == 3
    logged = run.ok("logged")
    # amazon.aws fills the list from botocore's endpoint log, recognising only https://<service>. endpoints, so
    # with the simulator's http://127.0.0.1 endpoint the list is empty: its presence shows the option got through
    assert isinstance(logged["resource_actions"], list)
    assert "resource_actions" not in run.ok("ours")

    assert len(run.ok("ours_by_profile")["source_servers"]) == 3
    assert sorted(i["instance_id"] for i in run.ok("amazon_aws_by_profile")["instances"]) == targets

    failed = run.failed("no_defaults")
    assert "region" in failed["msg"].lower()
