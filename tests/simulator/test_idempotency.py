"""Idempotency tokens as the botocore models mark them (the ``idempotencyToken`` trait).

The same token with the same input returns the first answer and does nothing again; the same token with
another input is the documented error: ConflictException for DRS, IdempotentParameterMismatch for EC2 ("If
you repeat a request with the same client token but change another request parameter, Amazon EC2 returns an
IdempotentParameterMismatch error", EC2 API reference), TokenAlreadyExistsException for CloudFormation
(modelled error of CreateStack), IdempotentParameterMismatchException for DynamoDB TransactWriteItems (whose
token lasts 10 minutes, TransactWriteItems API reference).
"""
from __future__ import annotations

import json

import botocore.session
import pytest
from botocore.config import Config

from simlib import small_estate

SINGLE_ATTEMPT = Config(retries={"total_max_attempts": 1, "mode": "standard"})


def _error_code(raised):
    return raised.value.response["Error"]["Code"]


def test_the_drs_operations_with_a_token_are_those_of_the_model():
    from drs_simulator import idempotency

    model = botocore.session.get_session().get_service_model("drs")
    expected = {op: name for op in model.operation_names
                for name, member in (model.operation_model(op).input_shape.members.items()
                                     if model.operation_model(op).input_shape else [])
                if member.metadata.get("idempotencyToken")}
    assert expected, "the DRS model marks no idempotency token"
    assert {op: idempotency.token_member("drs", op)[0] for op in expected} == expected
    assert idempotency.token_member("drs", "StartRecovery") is None
    assert idempotency.token_member("ec2", "RunInstances") == ("ClientToken", "ClientToken")
    assert idempotency.token_member("dynamodb", "TransactWriteItems")[1] == "ClientRequestToken"


# ------------------------------------------------------------------------------------------------ DRS
def test_create_recovery_plan_replays_and_refuses_a_changed_input(sim):
    sim.load_estate(small_estate(1, 1))
    drs = sim.client("drs")
    first = drs.create_recovery_plan(name="wave-1", description="db first", clientToken="plan-token-1")
    again = drs.create_recovery_plan(name="wave-1", description="db first", clientToken="plan-token-1")
    assert again["recoveryPlan"] == first["recoveryPlan"]
    with pytest.raises(drs.exceptions.ConflictException) as raised:
        drs.create_recovery_plan(name="wave-2", clientToken="plan-token-1")
    assert raised.value.response["resourceType"] == "RECOVERY_PLAN"
    assert "plan-token-1" in raised.value.response["Error"]["Message"]
    # Without the token the same name is a new request, refused as a duplicate name.
    with pytest.raises(drs.exceptions.ConflictException):
        drs.create_recovery_plan(name="wave-1")
    assert drs.create_recovery_plan(name="wave-2")["recoveryPlan"]["name"] == "wave-2"


def test_plan_steps_and_executions_replay_with_their_token(sim):
    estate = sim.load_estate(small_estate(1, 1))
    arn = next(iter(estate["servers"].values()))["source_server_arn"]
    drs = sim.client("drs")
    plan = drs.create_recovery_plan(name="replayed")["recoveryPlan"]["recoveryPlanArn"]
    config = {"serverStepConfiguration": {"servers": [{"serverArn": arn}]}}
    steps = [drs.create_recovery_plan_step(recoveryPlanArn=plan, stepName="db", configuration=config,
                                           clientToken="step-token")["recoveryPlanStep"] for _ in range(2)]
    assert steps[0] == steps[1]
    assert len(drs.list_recovery_plan_steps(recoveryPlanArn=plan)["recoveryPlanSteps"]) == 1
    runs = [drs.start_recovery_plan_execution(recoveryPlanArn=plan, mode="DRILL", clientToken="run-token")
            ["recoveryPlanExecution"]["recoveryPlanExecutionArn"] for _ in range(2)]
    assert runs[0] == runs[1]
    assert len(drs.describe_jobs()["items"]) == 1
    with pytest.raises(drs.exceptions.ConflictException):
        drs.start_recovery_plan_execution(recoveryPlanArn=plan, mode="RECOVERY", clientToken="run-token")


def test_boto3_fills_a_fresh_drs_token_per_call(sim):
    sim.load_estate(small_estate(1, 1))
    drs = sim.client("drs")
    drs.create_recovery_plan(name="one")
    with pytest.raises(drs.exceptions.ConflictException) as raised:
        drs.create_recovery_plan(name="one")
    assert "already exists" in raised.value.response["Error"]["Message"]


# ------------------------------------------------------------------------------------------------ EC2
def test_run_instances_with_the_same_client_token_launches_once(sim):
    ec2 = sim.client("ec2")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    params = {"ImageId": image, "MinCount": 1, "MaxCount": 1, "InstanceType": "t3.micro", "ClientToken": "run-1"}
    before = sum(len(r["Instances"]) for r in ec2.describe_instances()["Reservations"])
    first = ec2.run_instances(**params)
    again = ec2.run_instances(**params)
    assert [i["InstanceId"] for i in again["Instances"]] == [i["InstanceId"] for i in first["Instances"]]
    after = sum(len(r["Instances"]) for r in ec2.describe_instances()["Reservations"])
    assert after == before + 1
    with pytest.raises(ec2.exceptions.ClientError) as raised:
        ec2.run_instances(**dict(params, InstanceType="t3.large"))
    assert _error_code(raised) == "IdempotentParameterMismatch"
    assert sum(len(r["Instances"]) for r in ec2.describe_instances()["Reservations"]) == after
    # boto3's own tokens differ per call: two launches.
    ec2.run_instances(**{k: v for k, v in params.items() if k != "ClientToken"})
    ec2.run_instances(**{k: v for k, v in params.items() if k != "ClientToken"})
    assert sum(len(r["Instances"]) for r in ec2.describe_instances()["Reservations"]) == after + 2


def test_create_volume_replays_and_refuses_another_size(sim):
    ec2 = sim.client("ec2")
    zone = ec2.describe_availability_zones()["AvailabilityZones"][0]["ZoneName"]
    first = ec2.create_volume(AvailabilityZone=zone, Size=10, ClientToken="vol-token")
    again = ec2.create_volume(AvailabilityZone=zone, Size=10, ClientToken="vol-token")
    assert again["VolumeId"] == first["VolumeId"]
    with pytest.raises(ec2.exceptions.ClientError) as raised:
        ec2.create_volume(AvailabilityZone=zone, Size=20, ClientToken="vol-token")
    assert _error_code(raised) == "IdempotentParameterMismatch"
    volumes = ec2.describe_volumes(Filters=[{"Name": "size", "Values": ["10", "20"]}])["Volumes"]
    assert [v["VolumeId"] for v in volumes] == [first["VolumeId"]]


def test_a_failed_request_is_not_remembered(sim):
    ec2 = sim.client("ec2", config=SINGLE_ATTEMPT)
    zone = ec2.describe_availability_zones()["AvailabilityZones"][0]["ZoneName"]
    sim.add_fault(type="server_error", service="ec2", operation="CreateVolume", count=1)
    with pytest.raises(ec2.exceptions.ClientError):
        ec2.create_volume(AvailabilityZone=zone, Size=11, ClientToken="retry-token")
    created = ec2.create_volume(AvailabilityZone=zone, Size=11, ClientToken="retry-token")
    assert ec2.describe_volumes(VolumeIds=[created["VolumeId"]])["Volumes"][0]["Size"] == 11


# ------------------------------------------------------------------------------------------------ CloudFormation
def _stack_template(table):
    return json.dumps({"Resources": {"Table": {"Type": "AWS::DynamoDB::Table", "Properties": {
        "TableName": table, "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]}}}})


def test_create_stack_with_the_same_request_token_replays(sim):
    cfn = sim.client("cloudformation")
    first = cfn.create_stack(StackName="drs-roles", TemplateBody=_stack_template("one"), ClientRequestToken="cfn-1")
    again = cfn.create_stack(StackName="drs-roles", TemplateBody=_stack_template("one"), ClientRequestToken="cfn-1")
    assert again["StackId"] == first["StackId"]
    with pytest.raises(cfn.exceptions.TokenAlreadyExistsException):
        cfn.create_stack(StackName="drs-roles", TemplateBody=_stack_template("two"), ClientRequestToken="cfn-1")
    with pytest.raises(cfn.exceptions.AlreadyExistsException):
        cfn.create_stack(StackName="drs-roles", TemplateBody=_stack_template("one"), ClientRequestToken="cfn-2")
    assert [s["StackId"] for s in cfn.describe_stacks(StackName="drs-roles")["Stacks"]] == [first["StackId"]]
    assert sim.client("dynamodb").list_tables()["TableNames"] == ["one"]


# ------------------------------------------------------------------------------------------------ DynamoDB
def test_transact_write_items_applies_once_per_token_for_ten_minutes(sim):
    ddb = sim.client("dynamodb")
    ddb.create_table(TableName="runs", BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    bump = [{"Update": {"TableName": "runs", "Key": {"pk": {"S": "wave-1"}}, "UpdateExpression": "ADD n :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}}}}]

    def count():
        return int(ddb.get_item(TableName="runs", Key={"pk": {"S": "wave-1"}})["Item"]["n"]["N"])

    ddb.transact_write_items(TransactItems=bump, ClientRequestToken="ddb-token")
    ddb.transact_write_items(TransactItems=bump, ClientRequestToken="ddb-token")
    assert count() == 1
    other = [{"Put": {"TableName": "runs", "Item": {"pk": {"S": "wave-2"}}}}]
    with pytest.raises(ddb.exceptions.IdempotentParameterMismatchException):
        ddb.transact_write_items(TransactItems=other, ClientRequestToken="ddb-token")
    assert "Item" not in ddb.get_item(TableName="runs", Key={"pk": {"S": "wave-2"}})
    sim.advance(601)  # the token has expired: the same request is a new one
    ddb.transact_write_items(TransactItems=bump, ClientRequestToken="ddb-token")
    assert count() == 2


def test_a_caller_denied_the_call_gets_the_denial_not_the_remembered_answer(sim):
    """With IAM enforced, a repeated token is authorised like any request (docs/simulator.md, "IAM enforcement")."""
    import boto3

    iam = sim.client("iam")
    sessions = {}
    for name, effect in (("allowed", "Allow"), ("denied", "Deny")):
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "ec2:DescribeAvailabilityZones", "Resource": "*"},
                {"Effect": effect, "Action": "ec2:CreateVolume", "Resource": "*"}]}))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        sessions[name] = boto3.Session(aws_access_key_id=key["AccessKeyId"],
                                       aws_secret_access_key=key["SecretAccessKey"]).client(
            "ec2", region_name="us-west-2", endpoint_url=sim.url, config=SINGLE_ATTEMPT)
    sim.control("POST", "iam", {"enforce": True})
    allowed, denied = sessions["allowed"], sessions["denied"]
    zone = allowed.describe_availability_zones()["AvailabilityZones"][0]["ZoneName"]
    first = allowed.create_volume(AvailabilityZone=zone, Size=12, ClientToken="shared-token")
    assert allowed.create_volume(AvailabilityZone=zone, Size=12, ClientToken="shared-token")["VolumeId"] == \
        first["VolumeId"]
    with pytest.raises(denied.exceptions.ClientError) as raised:
        denied.create_volume(AvailabilityZone=zone, Size=12, ClientToken="shared-token")
    assert _error_code(raised) == "UnauthorizedOperation"
