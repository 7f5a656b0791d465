"""drs_metrics against the simulator's CloudWatch, and the monitoring template extensions/cloudwatch/drs-monitoring.cfn.yaml.

The module is fed the registered result of drs_execution state=wave (as the drs role would pass it) and the metrics
are read back with list_metrics / get_metric_statistics: names, dimensions (per wave and per protection group),
units and values; check mode makes no call that changes anything; cross-account publishing goes through the role.

The template is cfn-lint clean (and the check can fail), and deploys into the simulator: the dashboard (whose
widgets name every metric drs_metrics publishes) and the SNS topic (with the optional email subscription) are
created. moto 5.2.5's CloudFormation has no model for AWS::CloudWatch::Alarm (`moto/cloudwatch/models.py`: Alarm
is not a CloudFormationModel): the stack completes, the four alarms show up in ListStackResources as blank entries
and DescribeAlarms finds none. The alarms are therefore checked another way: their properties, put through
PutMetricAlarm as CloudFormation would, watch exactly the per-protection-group metrics drs_metrics publishes.
"""
import copy
import datetime
import json
import os
import re
import subprocess

import yaml

from simlib import DEFAULT_ACCOUNT, PRIMARY, RECOVERY

from .helpers import BIN, EXTERNAL_ID, ROLE_222, ROOT, drs, mutating, state_tables

TEMPLATE = os.path.join(ROOT, "extensions", "cloudwatch", "drs-monitoring.cfn.yaml")
NAMESPACE = "ElasticDR/Orchestration"
PREFIX = "it-metrics"
ACCOUNT_222 = "222222222222"
WAVE_METRICS = {"RecoveryTimeSeconds": "Seconds", "ServersLaunched": "Count", "ServersFailed": "Count",
                "IPMismatches": "Count", "MatchRate": "Percent", "AgentFailures": "Count"}
FAILBACK_METRICS = {"ReplicationLagSeconds": "Seconds", "ServersFailedBack": "Count"}
TABLES = {"region": RECOVERY, "protection_group": "shop", "table_prefix": PREFIX}


def _dims(protection_group="shop", execution_type=None, wave=None):
    dims = [{"Name": "ProtectionGroup", "Value": protection_group}]
    if execution_type:
        dims += [{"Name": "ExecutionType", "Value": execution_type}, {"Name": "Wave", "Value": str(wave)}]
    return dims


def _value(sim, metric, dimensions, namespace=NAMESPACE, statistic="Maximum", account=DEFAULT_ACCOUNT, region=RECOVERY):
    """(value, unit) of each data point of one metric with exactly these dimensions, over the last hour."""
    now = datetime.datetime.now(datetime.timezone.utc)
    points = sim.client("cloudwatch", region=region, account=account).get_metric_statistics(
        Namespace=namespace, MetricName=metric, Dimensions=dimensions, Statistics=[statistic], Period=60,
        StartTime=now - datetime.timedelta(hours=1), EndTime=now + datetime.timedelta(minutes=5))["Datapoints"]
    return [(p[statistic], p["Unit"]) for p in points]


def _listed(sim, namespace=NAMESPACE, account=DEFAULT_ACCOUNT, region=RECOVERY):
    metrics = sim.client("cloudwatch", region=region, account=account).list_metrics(Namespace=namespace)["Metrics"]
    return sorted((m["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"]))) for m in metrics)


def _record_wave(execution_id, wave, servers, counts, execution_type="FAILOVER", register="record", **role):
    """drs_execution tasks that start an execution and record a wave RUNNING then ended, registered as `register`."""
    return [
        drs("drs_execution", f"start {execution_id}", **TABLES, execution_id=execution_id, state="started",
            execution_type=execution_type, **role),
        drs("drs_execution", f"running {execution_id}", **TABLES, execution_id=execution_id, state="wave", wave=wave,
            wave_status="RUNNING", **role),
        drs("drs_execution", f"ended {execution_id}", **TABLES, execution_id=execution_id, state="wave", wave=wave,
            servers=servers, counts=counts, wave_status="PARTIAL", register=register, **role),
    ]


FAILOVER_SERVERS = [
    {"name": "db-01", "source_server_id": "s-00000000000000001", "launch_status": "LAUNCHED", "ip_preserved": True},
    {"name": "db-02", "source_server_id": "s-00000000000000002", "launch_status": "LAUNCHED", "ip_preserved": False},
    {"name": "db-03", "source_server_id": "s-00000000000000003", "launch_status": "FAILED",
     "error": {"error": "RecoveryError", "message": "LAUNCH_FAILED"}},
    {"name": "db-04", "launch_status": "NOT_MATCHED", "error": {"error": "InstanceMatchingError", "message": "no target"}},
]
FAILOVER_COUNTS = {"launched": 2, "failed": 1, "ip_mismatches": 1, "not_matched": 1, "pending": 1}


def test_wave_metrics_are_published_per_wave_and_per_protection_group(sim, play):
    state_tables(sim, PREFIX)
    match = {"pairs": [{"name": "db-01"}], "unmatched": [{"name": "db-02"}], "ambiguous": [], "invalid": []}
    run = play.run(_record_wave("exec-m1", 2, FAILOVER_SERVERS, FAILOVER_COUNTS) + [
        drs("drs_metrics", "publish", protection_group="shop", execution_type="FAILOVER", wave_record="{{ record }}"),
        drs("drs_metrics", "drill_wave_9", protection_group="shop", execution_type="DRILL", wave=9,
            wave_record="{{ record }}", match=match),
        drs("drs_metrics", "own_namespace", protection_group="web", execution_type="FAILOVER",
            wave_record="{{ record }}", namespace="Shop/DR"),
        drs("drs_metrics", "primary_region", region=PRIMARY, protection_group="east", execution_type="FAILOVER",
            wave_record="{{ record }}"),
        drs("drs_metrics", "aws_namespace", protection_group="shop", execution_type="FAILOVER",
            wave_record="{{ record }}", namespace="AWS/DRS", ignore_errors=True),
    ])
    record = run.ok("ended exec-m1")
    duration = record["wave"]["duration_seconds"]
    published = run.ok("publish")
    assert published["changed"] is True and published["published"] == 12 and published["put_metric_data_calls"] == 1
    assert published["metric_values"] == {"RecoveryTimeSeconds": duration, "ServersLaunched": 2, "ServersFailed": 2,
                                          "IPMismatches": 1, "MatchRate": 75.0, "AgentFailures": 0}
    assert {m["Timestamp"] for m in published["metrics"]} == {record["wave"]["ended_at"]}

    expected = {"ServersLaunched": 2.0, "ServersFailed": 2.0, "IPMismatches": 1.0, "MatchRate": 75.0,
                "AgentFailures": 0.0, "RecoveryTimeSeconds": duration}
    for dims in (_dims("shop", "FAILOVER", 2), _dims("shop")):
        for metric, value in expected.items():
            assert _value(sim, metric, dims) == [(value, WAVE_METRICS[metric])], (metric, dims)
    # The drill of wave 9 (wave option) with its match result (match option): 1 of 2 matched.
    assert run.ok("drill_wave_9")["metric_values"]["MatchRate"] == 50.0
    assert _value(sim, "MatchRate", _dims("shop", "DRILL", 9)) == [(50.0, "Percent")]
    assert _value(sim, "MatchRate", _dims("shop", "FAILOVER", 9)) == []
    assert _listed(sim) == sorted(
        [(m, (("ExecutionType", t), ("ProtectionGroup", "shop"), ("Wave", w))) for m in WAVE_METRICS
         for t, w in (("FAILOVER", "2"), ("DRILL", "9"))] + [(m, (("ProtectionGroup", "shop"),)) for m in WAVE_METRICS])
    # namespace: the web metrics went to Shop/DR only; region: the east metrics to the primary region only.
    assert len(_listed(sim, namespace="Shop/DR")) == 12 and _value(sim, "ServersFailed", _dims("web"), namespace="Shop/DR")
    assert _value(sim, "ServersFailed", _dims("east"), region=PRIMARY) == [(2.0, "Count")]
    assert _value(sim, "ServersFailed", _dims("east")) == []
    assert "not a namespace CloudWatch accepts" in run.failed("aws_namespace")["msg"]
    calls = [(c["operation"], c["region"]) for c in mutating(sim, "cloudwatch")]
    assert calls == [("PutMetricData", RECOVERY)] * 3 + [("PutMetricData", PRIMARY)]


def test_failback_wave_adds_replication_lag_and_servers_failed_back(sim, play):
    state_tables(sim, PREFIX)
    servers = [
        {"name": "app-01", "source_server_id": "s-00000000000000011", "launch_status": "LAUNCHED", "ip_preserved": True,
         "lag_seconds": 12, "replication_state": "CONTINUOUS"},
        {"name": "app-02", "source_server_id": "s-00000000000000012", "launch_status": "BLOCKED", "lag_seconds": 95.5,
         "error": {"error": "AgentInstallationError", "message": "installer failed"}},
    ]
    counts = {"servers": 2, "failed_back": 1, "failed": 0, "blocked": 1, "launched": 1, "ip_mismatches": 0}
    run = play.run(_record_wave("exec-fb", 1, servers, counts, execution_type="FAILBACK") + [
        drs("drs_metrics", "publish", protection_group="shop", execution_type="FAILBACK", wave_record="{{ record }}")])
    values = run.ok("publish")["metric_values"]
    assert values["ReplicationLagSeconds"] == 95.5 and values["ServersFailedBack"] == 1
    assert values["ServersFailed"] == 1 and values["AgentFailures"] == 1 and "MatchRate" not in values
    for dims in (_dims("shop", "FAILBACK", 1), _dims("shop")):
        assert _value(sim, "ReplicationLagSeconds", dims) == [(95.5, "Seconds")]
        assert _value(sim, "ServersFailedBack", dims) == [(1.0, "Count")]
        assert _value(sim, "AgentFailures", dims) == [(1.0, "Count")]
    assert {m for m, _dims_ in _listed(sim)} == (set(WAVE_METRICS) - {"MatchRate"}) | set(FAILBACK_METRICS)


def test_check_mode_publishes_nothing_and_a_wave_not_ended_or_skipped_publishes_nothing(sim, play):
    ended = {"changed": True, "wave_status": "COMPLETED", "counts": {"launched": 3, "failed": 0, "ip_mismatches": 0},
             "servers": [{"name": f"web-0{n}", "launch_status": "LAUNCHED"} for n in (1, 2, 3)],
             "wave": {"wave": 3, "status": "COMPLETED", "duration_seconds": 700.25}}
    running = {"changed": True, "wave_status": "RUNNING", "wave": {"wave": 4, "status": "RUNNING"}}
    tasks = [
        drs("drs_metrics", "ended", protection_group="shop", execution_type="FAILOVER", wave_record=ended),
        drs("drs_metrics", "running", protection_group="shop", execution_type="FAILOVER", wave_record=running),
        drs("drs_metrics", "skipped", protection_group="shop", execution_type="FAILOVER",
            wave_record={"changed": False, "skipped": True, "skip_reason": "Conditional result was False"}),
    ]
    sim.clear_requests()
    checked = play.run(tasks, check=True)
    assert mutating(sim) == [], mutating(sim)
    would = checked.ok("ended")
    assert would["changed"] is True and would["published"] == 0 and would["put_metric_data_calls"] == 0
    assert sorted({m["MetricName"] for m in would["metrics"]}) == sorted(WAVE_METRICS)
    assert len(would["metrics"]) == 12 and _listed(sim) == []

    real = play.run(tasks)
    assert real.ok("ended")["metrics"] == would["metrics"] and real.ok("ended")["published"] == 12
    assert _value(sim, "RecoveryTimeSeconds", _dims("shop", "FAILOVER", 3)) == [(700.25, "Seconds")]
    for run in (checked, real):
        for name, why in (("running", "wave 4 is RUNNING"), ("skipped", "no wave record")):
            result = run.ok(name)
            assert result["changed"] is False and result["metrics"] == [] and result["skipped_reason"].startswith(why)
    assert [c["operation"] for c in mutating(sim)] == ["PutMetricData"]


def test_metrics_go_to_the_recovery_account_through_its_role(sim, play):
    state_tables(sim, PREFIX, account=ACCOUNT_222)
    role = {"target_role_arn": ROLE_222, "external_id": EXTERNAL_ID}
    sim.clear_requests()
    run = play.run(_record_wave("exec-xa", 1, FAILOVER_SERVERS, FAILOVER_COUNTS, **role) + [
        drs("drs_metrics", "no_external_id", protection_group="shop", execution_type="FAILOVER",
            wave_record="{{ record }}", target_role_arn=ROLE_222, ignore_errors=True),
        drs("drs_metrics", "publish", protection_group="shop", execution_type="FAILOVER", wave_record="{{ record }}",
            **role),
        drs("drs_metrics", "no_external_id_allowed", protection_group="open", execution_type="FAILOVER",
            wave_record="{{ record }}", target_role_arn=ROLE_222, require_external_id=False),
    ])
    assert "needs an ExternalId" in run.failed("no_external_id")["msg"]
    assert run.ok("publish")["published"] == 12
    assert _value(sim, "ServersFailed", _dims("shop", "FAILOVER", 1), account=ACCOUNT_222) == [(2.0, "Count")]
    assert _value(sim, "ServersFailed", _dims("open"), account=ACCOUNT_222) == [(2.0, "Count")]
    assert _listed(sim) == []  # nothing in the orchestrator's own account
    assert {c["account"] for c in mutating(sim, "cloudwatch")} == {ACCOUNT_222}


def test_check_mode_refuses_a_role_without_external_id_before_any_call(sim, play):
    wave_record = {"wave_status": "COMPLETED", "counts": {"launched": 1}, "wave": {"wave": 1, "status": "COMPLETED"}}
    sim.clear_requests()
    run = play.run([drs("drs_metrics", "refused", protection_group="shop", execution_type="FAILOVER",
                        wave_record=wave_record, target_role_arn=ROLE_222, ignore_errors=True)], check=True)
    assert "needs an ExternalId" in run.failed("refused")["msg"] and sim.requests() == []


# ------------------------------------------------------------------------------------------ the template
def _template():
    with open(TEMPLATE, encoding="utf-8") as stream:
        return yaml.safe_load(stream)


def _cfn_lint(paths):
    return subprocess.run([os.path.join(BIN, "cfn-lint")] + [str(p) for p in paths], capture_output=True, text=True,
                          check=False)


def test_monitoring_template_is_cfn_lint_clean_and_the_check_can_fail(tmp_path):
    clean = _cfn_lint([TEMPLATE])
    assert clean.returncode == 0, clean.stdout + clean.stderr
    breaks = {
        "E3030": lambda t: t["Resources"]["RecoveryFailuresAlarm"]["Properties"].update(ComparisonOperator="MoreThan"),
        "E3012": lambda t: t["Resources"]["IPMismatchesAlarm"]["Properties"].update(Threshold="zero"),
        "E1019": lambda t: t["Resources"]["Dashboard"]["Properties"]["DashboardName"].update(
            {"Fn::Sub": "elasticdr-${ProtectionGroupName}"}),
    }
    paths = []
    for rule, apply in breaks.items():
        broken = copy.deepcopy(_template())
        apply(broken)
        path = tmp_path / f"broken-{rule}.yaml"
        path.write_text(yaml.safe_dump(broken, sort_keys=False))
        paths.append((rule, path))
    for rule, path in paths:
        linted = _cfn_lint([path])
        assert linted.returncode != 0 and rule in linted.stdout, (rule, linted.stdout)


def test_template_names_every_metric_drs_metrics_publishes():
    from ansible_collections.elasticdr.orchestration.plugins.module_utils import metrics

    assert dict((k, v[0]) for k, v in metrics.WAVE_METRICS.items()) == WAVE_METRICS
    assert dict((k, v[0]) for k, v in metrics.FAILBACK_METRICS.items()) == FAILBACK_METRICS
    template = _template()
    assert template["Parameters"]["Namespace"]["Default"] == metrics.NAMESPACE
    pattern = re.compile(f"(?:{template['Parameters']['Namespace']['AllowedPattern']})$")
    assert pattern.match(metrics.NAMESPACE) and pattern.match("Shop/DR") and not pattern.match("AWS/DRS")
    body = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"][0]
    named = set(re.findall(r'MetricName=\\"(\w+)\\"', body)) | set(re.findall(r'"\$\{Namespace\}", "(\w+)"', body))
    assert named == set(WAVE_METRICS) | set(FAILBACK_METRICS)


def _deploy(sim, stack, protection_group="shop", **parameters):
    params = dict({"ProtectionGroup": protection_group}, **parameters)
    cloudformation = sim.client("cloudformation", region=RECOVERY)
    cloudformation.create_stack(StackName=stack, TemplateBody=open(TEMPLATE, encoding="utf-8").read(),
                                Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()])
    found = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    return found, {o["OutputKey"]: o["OutputValue"] for o in found.get("Outputs") or []}


def test_monitoring_template_deploys_the_dashboard_topic_and_alarms(sim, play):
    sim.clear_requests()
    stack, outputs = _deploy(sim, "drs-monitoring-shop")
    _other, other_outputs = _deploy(sim, "drs-monitoring-web", protection_group="web", AlarmEmail="ops@example.com")
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert [(c["service"], c["operation"]) for c in mutating(sim)] == [("cloudformation", "CreateStack")] * 2

    cloudwatch = sim.client("cloudwatch", region=RECOVERY)
    assert sorted(d["DashboardName"] for d in cloudwatch.list_dashboards()["DashboardEntries"]) == [
        "elasticdr-shop", "elasticdr-web"]
    assert outputs["DashboardName"] == "elasticdr-shop"
    body = json.loads(cloudwatch.get_dashboard(DashboardName="elasticdr-shop")["DashboardBody"])
    widgets = body["widgets"]
    assert [w["type"] for w in widgets] == ["text"] + ["metric"] * 6 + ["alarm"]
    searches = [m[0]["expression"] for w in widgets if w["type"] == "metric" for m in w["properties"]["metrics"]
                if isinstance(m[0], dict)]
    assert searches and all(s.startswith("SEARCH('{ElasticDR/Orchestration,ExecutionType,ProtectionGroup,Wave} "
                                         'ProtectionGroup="shop" MetricName="') for s in searches)
    rollups = [m for w in widgets if w["type"] == "metric" for m in w["properties"]["metrics"] if isinstance(m[0], str)]
    assert rollups and all(m[0] == NAMESPACE and m[2:4] == ["ProtectionGroup", "shop"] for m in rollups)
    assert all(w["properties"]["region"] == RECOVERY for w in widgets if w["type"] == "metric")
    alarm_names = outputs["AlarmNames"].split(",")
    assert alarm_names == ["elasticdr-shop-recovery-failures", "elasticdr-shop-agent-failures",
                           "elasticdr-shop-ip-mismatches", "elasticdr-shop-unmatched-servers"]
    assert widgets[-1]["properties"]["alarms"] == [
        f"arn:aws:cloudwatch:{RECOVERY}:{DEFAULT_ACCOUNT}:alarm:{name}" for name in alarm_names]

    sns = sim.client("sns", region=RECOVERY)
    topic = f"arn:aws:sns:{RECOVERY}:{DEFAULT_ACCOUNT}:elasticdr-shop-alarms"
    assert outputs["AlarmTopicArn"] == topic
    assert sorted(t["TopicArn"] for t in sns.list_topics()["Topics"]) == [topic, other_outputs["AlarmTopicArn"]]
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []
    [email] = sns.list_subscriptions_by_topic(TopicArn=other_outputs["AlarmTopicArn"])["Subscriptions"]
    assert (email["Protocol"], email["Endpoint"]) == ("email", "ops@example.com")

    # What moto does with AWS::CloudWatch::Alarm (no CloudFormation model): four blank resources, no alarm.
    resources = sim.client("cloudformation", region=RECOVERY).list_stack_resources(
        StackName="drs-monitoring-shop")["StackResourceSummaries"]
    assert sorted(r["ResourceType"] for r in resources) == ["", "", "", "", "AWS::CloudWatch::Dashboard",
                                                            "AWS::SNS::Topic"]
    assert cloudwatch.describe_alarms()["MetricAlarms"] == []

    # So create them from the template as CloudFormation would, and check that each watches a metric drs_metrics
    # publishes, with the dimensions it publishes it with, and notifies the topic.
    template = _template()
    alarms = {k: r["Properties"] for k, r in template["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    for props in alarms.values():
        cloudwatch.put_metric_alarm(
            AlarmName=props["AlarmName"]["Fn::Sub"].replace("${ProtectionGroup}", "shop"), Namespace=NAMESPACE,
            MetricName=props["MetricName"], Dimensions=_dims("shop"), Statistic=props["Statistic"], Period=300,
            EvaluationPeriods=props["EvaluationPeriods"], Threshold=props["Threshold"],
            ComparisonOperator=props["ComparisonOperator"], TreatMissingData=props["TreatMissingData"],
            AlarmActions=[topic])
        assert props["Dimensions"] == [{"Name": "ProtectionGroup", "Value": {"Ref": "ProtectionGroup"}}]
        assert props["Namespace"] == {"Ref": "Namespace"} and props["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    assert sorted(a["AlarmName"] for a in cloudwatch.describe_alarms()["MetricAlarms"]) == sorted(alarm_names)
    watched = {(p["MetricName"], p["Statistic"], p["ComparisonOperator"], p["Threshold"]) for p in alarms.values()}
    assert watched == {("ServersFailed", "Sum", "GreaterThanThreshold", 0), ("AgentFailures", "Sum", "GreaterThanThreshold", 0),
                       ("IPMismatches", "Sum", "GreaterThanThreshold", 0), ("MatchRate", "Minimum", "LessThanThreshold", 100)}

    wave_record = {"wave_status": "PARTIAL", "counts": {"launched": 1, "failed": 1, "ip_mismatches": 1},
                   "servers": [{"name": "a", "launch_status": "LAUNCHED"}, {"name": "b", "launch_status": "NOT_MATCHED"}],
                   "wave": {"wave": 1, "status": "PARTIAL", "duration_seconds": 30}}
    play.run([drs("drs_metrics", "publish", protection_group="shop", execution_type="FAILOVER",
                  wave_record=wave_record)]).ok("publish")
    for props in alarms.values():
        found = cloudwatch.describe_alarms_for_metric(MetricName=props["MetricName"], Namespace=NAMESPACE,
                                                      Dimensions=_dims("shop"))["MetricAlarms"]
        assert [a["MetricName"] for a in found] == [props["MetricName"]]
        points = _value(sim, props["MetricName"], _dims("shop"), statistic=props["Statistic"])
        assert points, props["MetricName"]
        # Each alarm's condition holds for this wave, which lost a server, changed an IP and left one unmatched
        # (AgentFailures is 0: the only condition that does not hold).
        breached = points[0][0] > props["Threshold"] if props["ComparisonOperator"] == "GreaterThanThreshold" \
            else points[0][0] < props["Threshold"]
        assert breached is (props["MetricName"] != "AgentFailures"), (props["MetricName"], points)
