"""CloudFormation AWS::DynamoDB::Table in the simulator: what moto 5.2.5 leaves out (TimeToLiveSpecification,
PointInTimeRecoverySpecification, SSESpecification in CloudFormation's shape) is applied as AWS applies it
(drs_simulator/cloudformation.py); a table that asks for none of them keeps them off."""
import json

TABLE = {
    "Type": "AWS::DynamoDB::Table",
    "Properties": {
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
    },
}


def _template(**tables):
    resources = {}
    for logical_id, (name, extra) in tables.items():
        resource = json.loads(json.dumps(TABLE))
        resource["Properties"].update(extra, TableName=name)
        resources[logical_id] = resource
    return json.dumps({"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources})


def test_ttl_pitr_and_sse_of_a_stack_table(sim):
    cfn = sim.client("cloudformation")
    dynamodb = sim.client("dynamodb")
    cfn.create_stack(StackName="tables", TemplateBody=_template(
        Full=("full", {"TimeToLiveSpecification": {"AttributeName": "expires", "Enabled": True},
                       "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                       "SSESpecification": {"SSEEnabled": True}}),
        TtlOff=("ttl-off", {"TimeToLiveSpecification": {"AttributeName": "expires", "Enabled": False},
                            "SSESpecification": {"SSEEnabled": False}}),
        Plain=("plain", {})))
    assert cfn.describe_stacks(StackName="tables")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"

    def state(name):
        table = dynamodb.describe_table(TableName=name)["Table"]
        ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        pitr = dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        return (ttl["TimeToLiveStatus"], ttl.get("AttributeName"),
                pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"],
                (table.get("SSEDescription") or {}).get("Status"))

    assert state("full") == ("ENABLED", "expires", "ENABLED", "ENABLED")
    assert state("ttl-off") == ("DISABLED", "expires", "DISABLED", None)
    assert state("plain") == ("DISABLED", None, "DISABLED", None)
    # Applied inside CreateStack, as AWS does: no separate call was made.
    assert [r["operation"] for r in sim.requests(mutating="true")] == ["CreateStack"]
