"""What moto's CloudFormation leaves out of AWS::DynamoDB::Table, added so a stack builds the table AWS would.

moto 5.2.5 (`moto/dynamodb/models/table.py`, `Table.create_from_cloudformation_json`) passes KeySchema,
AttributeDefinitions, GlobalSecondaryIndexes, LocalSecondaryIndexes, BillingMode, ProvisionedThroughput,
StreamSpecification, Tags, DeletionProtectionEnabled and WarmThroughput to `create_table`, but

- ignores TimeToLiveSpecification and PointInTimeRecoverySpecification (the table comes out with TTL and
  PITR off), and
- hands SSESpecification over in CloudFormation's shape (`SSEEnabled`) where the model reads the API's
  (`Enabled`), so DescribeTable shows no SSEDescription.

After moto has created the table, the three are applied through the backend's own UpdateTimeToLive /
UpdateContinuousBackups code, as the AWS resource handler does. Updates of a table through a stack update
are still not modelled by moto (no `update_from_cloudformation_json`): such an update fails.
"""
from __future__ import annotations

_APPLIED_MARK = "_drs_simulator_complete_table"


def _complete_table(table, properties: dict) -> None:
    from moto.dynamodb.models import dynamodb_backends

    backend = dynamodb_backends[table.account_id][table.region_name]
    ttl = properties.get("TimeToLiveSpecification")
    if ttl:
        backend.update_time_to_live(table.name, {"Enabled": _bool(ttl.get("Enabled")),
                                                 "AttributeName": ttl.get("AttributeName")})
    pitr = properties.get("PointInTimeRecoverySpecification")
    if pitr:
        spec = {"PointInTimeRecoveryEnabled": _bool(pitr.get("PointInTimeRecoveryEnabled"))}
        if pitr.get("RecoveryPeriodInDays") is not None:
            spec["RecoveryPeriodInDays"] = int(pitr["RecoveryPeriodInDays"])
        backend.update_continuous_backups(table.name, spec)
    sse = properties.get("SSESpecification")
    if sse and table.sse_specification is not None and "SSEEnabled" in sse:
        table.sse_specification["Enabled"] = _bool(sse["SSEEnabled"])


def _bool(value) -> bool:
    # Template values may arrive as strings ("true") after parameter substitution.
    return value is True or str(value).lower() == "true"


def install() -> None:
    """Wrap moto's Table.create_from_cloudformation_json once per process."""
    from moto.dynamodb.models.table import Table

    original = Table.create_from_cloudformation_json
    if getattr(original, _APPLIED_MARK, False):
        return

    def create_from_cloudformation_json(resource_name, cloudformation_json, account_id, region_name, **kwargs):
        table = original(resource_name, cloudformation_json, account_id, region_name, **kwargs)
        _complete_table(table, cloudformation_json.get("Properties") or {})
        return table

    setattr(create_from_cloudformation_json, _APPLIED_MARK, True)
    Table.create_from_cloudformation_json = staticmethod(create_from_cloudformation_json)
