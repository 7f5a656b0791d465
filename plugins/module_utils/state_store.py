# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The DynamoDB state tables: instance pairs, executions (with waves and servers), failback state, and
the protection-group lock. Every DynamoDB call of the collection is here.

Tables (created by the state_tables playbook from the CloudFormation template shipped in the collection):
- <prefix>-instance-pairs   HASH protection_group, RANGE source_server_id; the lock lives here too, as the
                            item with source_server_id "#LOCK";
- <prefix>-executions       HASH execution_id, RANGE record_key ("EXECUTION", "WAVE#0001",
                            "SERVER#0001#<name>"): one item per wave and per server keeps every item far
                            below DynamoDB's 400 KB limit whatever the size of the estate;
- <prefix>-failback-state   HASH protection_group, RANGE source_server_id.
"""

import decimal
import time

try:
    from boto3.dynamodb.types import TypeDeserializer
    from boto3.dynamodb.types import TypeSerializer
    from botocore.exceptions import ClientError
except ImportError:
    TypeDeserializer = TypeSerializer = ClientError = None

from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import LockError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import StateStoreError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.models import TTL_DAYS

LOCK_KEY = "#LOCK"
EXECUTION_KEY = "EXECUTION"
BATCH_WRITE = 25


def table_names(prefix):
    return {
        "pairs": f"{prefix}-instance-pairs",
        "executions": f"{prefix}-executions",
        "failback": f"{prefix}-failback-state",
    }


def wave_key(wave):
    return f"WAVE#{int(wave):04d}"


def server_key(wave, name):
    return f"SERVER#{int(wave):04d}#{name}"


def _to_dynamo(value):
    """Python -> DynamoDB-safe Python: floats as Decimal, empty strings dropped from maps."""
    if isinstance(value, float):
        return decimal.Decimal(str(value))
    if isinstance(value, dict):
        return {k: _to_dynamo(v) for k, v in value.items() if v is not None and v != ""}
    if isinstance(value, (list, tuple)):
        return [_to_dynamo(v) for v in value]
    return value


def _from_dynamo(value):
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _from_dynamo(v) for k, v in value.items()}
    if isinstance(value, (list, set, tuple)):
        return [_from_dynamo(v) for v in value]
    return value


class StateStore:
    """client: a retrying boto3 DynamoDB client (AWSConnector.client("dynamodb"))."""

    def __init__(self, client, prefix="drs-orchestration", clock=time.time):
        self.client = client
        self.tables = table_names(prefix)
        self.clock = clock
        self._serializer = TypeSerializer()
        self._deserializer = TypeDeserializer()
        self.calls = 0

    # ------------------------------------------------------------------ plumbing
    def _call(self, operation, **params):
        self.calls += 1
        try:
            return getattr(self.client, operation)(aws_retry=True, **params)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            if code == "ResourceNotFoundException":
                raise StateStoreError(
                    f"A state table is missing ({params.get('TableName') or 'batch write'}).", cause=code) from error
            if code == "ConditionalCheckFailedException":
                raise
            raise StateStoreError(f"DynamoDB refused {operation}: {code}.", cause=error,
                                  remediation="Check the orchestrating role's DynamoDB permissions on the state "
                                              "tables and that the tables are ACTIVE.") from error

    def _item(self, data):
        return {k: self._serializer.serialize(v) for k, v in _to_dynamo(data).items()}

    def _plain(self, item):
        return _from_dynamo({k: self._deserializer.deserialize(v) for k, v in item.items()})

    def _query(self, table, key_condition, values, index=None):
        params = {"TableName": table, "KeyConditionExpression": key_condition,
                  "ExpressionAttributeValues": self._item(values)}
        if index:
            params["IndexName"] = index
        items = []
        while True:
            page = self._call("query", **params)
            items.extend(self._plain(i) for i in page.get("Items", []))
            if not page.get("LastEvaluatedKey"):
                return items
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _batch_put(self, table, items):
        for start in range(0, len(items), BATCH_WRITE):
            requests = {table: [{"PutRequest": {"Item": self._item(i)}} for i in items[start:start + BATCH_WRITE]]}
            for _attempt in range(10):
                response = self._call("batch_write_item", RequestItems=requests)
                requests = response.get("UnprocessedItems") or {}
                if not requests:
                    break
                time.sleep(0.2)
            if requests:
                raise StateStoreError(f"DynamoDB kept {len(requests[table])} item(s) unprocessed in {table}.",
                                      remediation="The table is throttled; rerun with the same execution id.")

    def check_tables(self):
        """Raise StateStoreError naming every missing or inactive state table."""
        problems = []
        for table in self.tables.values():
            try:
                status = self.client.describe_table(aws_retry=True, TableName=table)["Table"]["TableStatus"]
                self.calls += 1
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                    problems.append(f"{table} does not exist")
                    continue
                raise StateStoreError(f"Cannot read state table {table}.", cause=error) from error
            if status != "ACTIVE":
                problems.append(f"{table} is {status}")
        if problems:
            region = getattr(getattr(self.client, "meta", None), "region_name", None)
            where = f" in {region}" if isinstance(region, str) else ""
            raise StateStoreError("State tables not ready: " + "; ".join(problems) + f"{where}.",
                                  remediation="Create the state tables with the state_tables playbook in the recovery "
                                              "region (drs_recovery_region), or point drs_state_table_prefix at them.")

    def describe_tables(self):
        """{kind: {"name", "status", "ttl"}} for the three tables; status None for a missing table."""
        out = {}
        for kind, table in self.tables.items():
            entry = {"name": table, "status": None, "ttl": None, "indexes": []}
            try:
                description = self.client.describe_table(aws_retry=True, TableName=table)["Table"]
                self.calls += 1
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                    raise StateStoreError(f"Cannot read state table {table}.", cause=error) from error
                out[kind] = entry
                continue
            entry["status"] = description["TableStatus"]
            entry["indexes"] = sorted(i["IndexName"] for i in description.get("GlobalSecondaryIndexes") or [])
            ttl = self._call("describe_time_to_live", TableName=table)["TimeToLiveDescription"]
            entry["ttl"] = {"status": ttl.get("TimeToLiveStatus"), "attribute": ttl.get("AttributeName")}
            out[kind] = entry
        return out

    def enable_ttl(self, table, attribute="ttl"):
        self._call("update_time_to_live", TableName=table,
                   TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute})

    # ------------------------------------------------------------------ instance pairs
    def get_pairs(self, protection_group):
        items = self._query(self.tables["pairs"], "protection_group = :g", {":g": protection_group})
        return [i for i in items if i.get("source_server_id") != LOCK_KEY]

    def put_pair(self, pair):
        self._call("put_item", TableName=self.tables["pairs"], Item=self._item(pair))

    def delete_pair(self, protection_group, source_server_id):
        self._call("delete_item", TableName=self.tables["pairs"],
                   Key=self._item({"protection_group": protection_group, "source_server_id": source_server_id}))

    # ------------------------------------------------------------------ lock
    def get_lock(self, protection_group):
        response = self._call("get_item", TableName=self.tables["pairs"], ConsistentRead=True,
                              Key=self._item({"protection_group": protection_group, "source_server_id": LOCK_KEY}))
        return self._plain(response["Item"]) if response.get("Item") else None

    def acquire_lock(self, protection_group, holder, lease_seconds=7200, break_stale=False, info=None):
        """Take (or renew, for the same holder) the protection group's lease with a conditional write.

        A lease held by another execution is refused with a LockError naming the holder; a stale (expired)
        one is broken only when break_stale is true.
        """
        now = self.clock()
        item = {"protection_group": protection_group, "source_server_id": LOCK_KEY, "holder": holder,
                "acquired_at": now, "lease_expires": now + lease_seconds}
        item.update(info or {})
        condition = "attribute_not_exists(source_server_id) OR holder = :me"
        values = {":me": holder}
        if break_stale:
            condition += " OR lease_expires < :now"
            values[":now"] = now
        try:
            self._call("put_item", TableName=self.tables["pairs"], Item=self._item(item),
                       ConditionExpression=condition, ExpressionAttributeValues=self._item(values))
        except ClientError as error:
            current = self.get_lock(protection_group) or {}
            stale = current.get("lease_expires", 0) < now
            raise LockError(
                f"Protection group {protection_group} is locked by execution {current.get('holder')} "
                f"(since {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(current.get('acquired_at', 0)))}, lease "
                f"{'expired' if stale else 'valid until ' + time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(current.get('lease_expires', 0)))}).",
                server=protection_group, cause="ConditionalCheckFailedException",
                details={"holder": current.get("holder"), "stale": stale, "lease_expires": current.get("lease_expires"),
                         "operator": current.get("operator")},
                remediation=("The lease has expired: if that execution is really dead, rerun with drs_break_lock=true "
                             f"to take over, or resume it with drs_execution_id={current.get('holder')}."
                             if stale else
                             f"Wait for execution {current.get('holder')} to finish, or resume it with "
                             f"drs_execution_id={current.get('holder')}.")) from error
        return item

    def release_lock(self, protection_group, holder):
        """Remove the lease if this holder has it; returns whether it did."""
        try:
            self._call("delete_item", TableName=self.tables["pairs"],
                       Key=self._item({"protection_group": protection_group, "source_server_id": LOCK_KEY}),
                       ConditionExpression="holder = :me", ExpressionAttributeValues=self._item({":me": holder}))
        except ClientError:
            return False
        return True

    # ------------------------------------------------------------------ executions
    def get_execution(self, execution_id):
        """{"execution": header or None, "waves": {wave: item}, "servers": {wave: {name: item}}}."""
        items = self._query(self.tables["executions"], "execution_id = :e", {":e": execution_id})
        out = {"execution": None, "waves": {}, "servers": {}}
        for item in items:
            key = item["record_key"]
            if key == EXECUTION_KEY:
                # Stored as execution_status (the StatusIndex key); read back as status.
                item["status"] = item.pop("execution_status", None)
                out["execution"] = item
            elif key.startswith("WAVE#"):
                out["waves"][int(item["wave"])] = item
            elif key.startswith("SERVER#"):
                out["servers"].setdefault(int(item["wave"]), {})[item["name"]] = item
        return out

    def get_execution_waves(self, execution_id):
        """{"execution": header or None, "waves": {wave: item}}: the record without its server items. A run reads
        this before and after each wave; the server items, which grow with the estate, are read only for reports."""
        table = self.tables["executions"]
        out = {"execution": None, "waves": {}}
        for item in self._query(table, "execution_id = :e AND record_key = :k", {":e": execution_id, ":k": EXECUTION_KEY}):
            item["status"] = item.pop("execution_status", None)
            out["execution"] = item
        for item in self._query(table, "execution_id = :e AND begins_with(record_key, :w)",
                                {":e": execution_id, ":w": "WAVE#"}):
            out["waves"][int(item["wave"])] = item
        return out

    def put_execution(self, record):
        item = dict(record, record_key=EXECUTION_KEY)
        if "status" in item:
            item["execution_status"] = item.pop("status")
        self._call("put_item", TableName=self.tables["executions"], Item=self._item(item))

    def _expiring(self, item):
        """The item with a `ttl` (epoch seconds, TTL_DAYS ahead) unless it has one: wave and server items expire
        with their execution item (TimeToLiveSpecification of the executions table) instead of outliving it."""
        if not item.get("ttl"):
            item["ttl"] = int(self.clock()) + TTL_DAYS * 86400
        return item

    def put_wave(self, execution_id, wave_record):
        item = self._expiring(dict(wave_record, execution_id=execution_id, record_key=wave_key(wave_record["wave"])))
        self._call("put_item", TableName=self.tables["executions"], Item=self._item(item))

    def put_servers(self, execution_id, wave, server_records):
        items = [self._expiring(dict(r, execution_id=execution_id, wave=int(wave), record_key=server_key(wave, r["name"])))
                 for r in server_records]
        self._batch_put(self.tables["executions"], items)

    def executions_by_status(self, status):
        return self._query(self.tables["executions"], "execution_status = :s", {":s": status}, index="StatusIndex")

    # ------------------------------------------------------------------ failback
    def put_failback_states(self, states):
        self._batch_put(self.tables["failback"], list(states))

    def get_failback_states(self, protection_group):
        return self._query(self.tables["failback"], "protection_group = :g", {":g": protection_group})
