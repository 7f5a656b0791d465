"""The log of every AWS call the simulator served, for tests that count calls or prove check mode."""
from __future__ import annotations

import datetime as _dt
import itertools

# Operations whose names start like these read state and change nothing. IAM's SimulatePrincipalPolicy and
# SimulateCustomPolicy only evaluate policies ("The simulation does not perform the API operations", IAM API
# Reference).
_READ_PREFIXES = ("Describe", "List", "Get", "Query", "Scan", "BatchGet", "Search", "Lookup", "Validate",
                  "Estimate", "Detect", "Check", "Simulate")
# STS hands out credentials but changes no resource; a check-mode run may still assume roles.
_READ_OPERATIONS = {("sts", "AssumeRole"), ("sts", "GetSessionToken"), ("sts", "GetCallerIdentity"),
                    ("sts", "AssumeRoleWithWebIdentity"), ("sts", "GetFederationToken")}


def is_mutating(service: str, operation: str) -> bool:
    if (service, operation) in _READ_OPERATIONS:
        return False
    return not operation.startswith(_READ_PREFIXES)


class RequestLog:
    def __init__(self):
        self._entries: list[dict] = []
        self._seq = itertools.count(1)

    def record(self, *, service, operation, account, region, status, sim_time, fault=None, seconds=0.0) -> dict:
        entry = {
            "seq": next(self._seq),
            "time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds"),
            "sim_time": sim_time.isoformat(timespec="milliseconds"),
            "service": service,
            "operation": operation,
            "account": account,
            "region": region,
            "mutating": is_mutating(service, operation),
            "status": status,
            "fault": fault,
            # Real seconds the simulator spent serving the call (moto's or the DRS model's own processing), so a
            # benchmark can tell the simulator's time from the client's.
            "seconds": round(seconds, 6),
        }
        self._entries.append(entry)
        return entry

    def query(self, service=None, operation=None, mutating=None, since=0) -> list[dict]:
        out = []
        for entry in self._entries:
            if entry["seq"] <= since:
                continue
            if service and entry["service"] != service:
                continue
            if operation and entry["operation"] != operation:
                continue
            if mutating is not None and entry["mutating"] != mutating:
                continue
            out.append(entry)
        return out

    def clear(self) -> int:
        count = len(self._entries)
        self._entries.clear()
        return count
