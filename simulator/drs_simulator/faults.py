"""Fault injection: request faults for any service and operation, and DRS job/replication faults.

A fault spec (JSON, see docs/simulator.md):
    {"type": "throttle", "service": "drs", "operation": "DescribeJobs", "count": 3,
     "probability": 1.0, "seed": 7, "retry_after": 1}
Request faults answer instead of the service; `response_lost` lets the service do the work and then closes the
connection without a response (the client sees ConnectionClosedError); job faults make a phase fail for chosen
servers; `replication_stall` and `job_never_ends` change what DRS reports over time.
"""
from __future__ import annotations

import itertools
import random
import socket

REQUEST_FAULTS = ("throttle", "server_error", "access_denied")
# Faults applied to the response of a request the service processed (successfully: status below 400).
RESPONSE_FAULTS = ("response_lost",)
JOB_PHASE_FAULTS = {"snapshot_failure": "SNAPSHOT", "conversion_failure": "CONVERSION", "launch_failure": "LAUNCH"}
STATE_FAULTS = ("replication_stall", "job_never_ends")
FAULT_TYPES = REQUEST_FAULTS + RESPONSE_FAULTS + tuple(JOB_PHASE_FAULTS) + STATE_FAULTS
_ANY_SERVICE = REQUEST_FAULTS + RESPONSE_FAULTS

_DEFAULT_MESSAGES = {
    "throttle": "Rate exceeded",
    "server_error": "We encountered an internal error. Please try again.",
    "access_denied": "User is not authorized to perform this operation (injected fault)",
    "snapshot_failure": "Failed to take a point-in-time snapshot of the replicated volumes (injected fault)",
    "conversion_failure": "Conversion server failed to convert the boot volume (injected fault)",
    "launch_failure": "Failed to launch the recovery instance (injected fault)",
}


class FaultSpecError(ValueError):
    """A fault spec that cannot be used; the message names the bad member."""


class Fault:
    def __init__(self, fault_id: str, spec: dict, now):
        if not isinstance(spec, dict):
            raise FaultSpecError("a fault spec must be a JSON object")
        known = {"type", "service", "operation", "count", "probability", "seed", "retry_after", "status",
                 "source_server_ids", "account", "region", "message"}
        unknown = set(spec) - known
        if unknown:
            raise FaultSpecError(f"unknown fault member(s): {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
        self.id = fault_id
        self.type = spec.get("type")
        if self.type not in FAULT_TYPES:
            raise FaultSpecError(f"fault type must be one of {', '.join(FAULT_TYPES)}; got {self.type!r}")
        self.service = str(spec.get("service", "drs" if self.type not in _ANY_SERVICE else "*")).lower()
        self.operation = spec.get("operation", "*")
        self.count = spec.get("count")
        if self.count is not None and (isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 1):
            raise FaultSpecError("count must be a positive integer (omit it for a fault that never runs out)")
        self.probability = spec.get("probability", 1.0)
        if isinstance(self.probability, bool) or not isinstance(self.probability, (int, float)) or not 0 <= self.probability <= 1:
            raise FaultSpecError("probability must be a number between 0 and 1")
        self.seed = spec.get("seed")
        self.retry_after = spec.get("retry_after", 1)
        if isinstance(self.retry_after, bool) or not isinstance(self.retry_after, (int, float)) or self.retry_after < 0:
            raise FaultSpecError("retry_after must be a non-negative number of seconds")
        self.status = spec.get("status", 500 if self.type == "server_error" else None)
        if self.type == "server_error" and self.status not in (500, 502, 503, 504):
            raise FaultSpecError("status of a server_error must be 500, 502, 503 or 504")
        servers = spec.get("source_server_ids")
        if servers is not None and (not isinstance(servers, list) or not all(isinstance(s, str) for s in servers)):
            raise FaultSpecError("source_server_ids must be a list of source server IDs")
        if servers and self.type in _ANY_SERVICE:
            raise FaultSpecError(f"source_server_ids applies to job and replication faults, not to {self.type}")
        self.source_server_ids = set(servers) if servers else None
        self.account = spec.get("account")
        self.region = spec.get("region")
        self.message = spec.get("message") or _DEFAULT_MESSAGES.get(self.type, "injected fault")
        self.created = now
        self.fired = 0
        self._random = random.Random(self.seed)

    @property
    def exhausted(self) -> bool:
        return self.count is not None and self.fired >= self.count

    def _matches_scope(self, service, operation, account, region) -> bool:
        return (
            (self.service in ("*", service))
            and (self.operation in ("*", operation))
            and (self.account in (None, account))
            and (self.region in (None, region))
        )

    def _roll(self) -> bool:
        if self.exhausted:
            return False
        if self.probability < 1 and self._random.random() >= self.probability:
            return False
        self.fired += 1
        return True

    def applies_to_server(self, source_server_id) -> bool:
        return self.source_server_ids is None or source_server_id in self.source_server_ids

    def describe(self) -> dict:
        return {
            "id": self.id, "type": self.type, "service": self.service, "operation": self.operation,
            "count": self.count, "probability": self.probability, "seed": self.seed,
            "retry_after": self.retry_after, "status": self.status,
            "source_server_ids": sorted(self.source_server_ids) if self.source_server_ids else None,
            "account": self.account, "region": self.region, "message": self.message, "fired": self.fired,
        }


class FaultInjector:
    def __init__(self):
        self._faults: dict[str, Fault] = {}
        self._ids = itertools.count(1)

    def add(self, spec: dict, now) -> Fault:
        fault = Fault(f"fault-{next(self._ids)}", spec, now)
        self._faults[fault.id] = fault
        return fault

    def remove(self, fault_id: str | None = None) -> int:
        if fault_id is None:
            count = len(self._faults)
            self._faults.clear()
            return count
        return 1 if self._faults.pop(fault_id, None) else 0

    def list(self) -> list[dict]:
        return [f.describe() for f in self._faults.values()]

    def request_fault(self, service, operation, account, region) -> Fault | None:
        for fault in self._faults.values():
            if fault.type in REQUEST_FAULTS and fault._matches_scope(service, operation, account, region) and fault._roll():
                return fault
        return None

    def response_fault(self, service, operation, account, region, status) -> Fault | None:
        """A response_lost fault for the response the service gave (only a success is lost: the fault stands
        for a call that did its work whose answer never reached the client)."""
        if status >= 400:
            return None
        for fault in self._faults.values():
            if fault.type in RESPONSE_FAULTS and fault._matches_scope(service, operation, account, region) and fault._roll():
                return fault
        return None

    def job_phase_fault(self, phase: str, source_server_id, account, region) -> Fault | None:
        for fault in self._faults.values():
            if JOB_PHASE_FAULTS.get(fault.type) != phase:
                continue
            if fault.account not in (None, account) or fault.region not in (None, region):
                continue
            if fault.applies_to_server(source_server_id) and fault._roll():
                return fault
        return None

    def state_fault(self, kind: str, source_server_id, account, region) -> Fault | None:
        """A replication_stall / job_never_ends fault in force for this server (not consumed)."""
        for fault in self._faults.values():
            if fault.type != kind or fault.exhausted:
                continue
            if fault.account not in (None, account) or fault.region not in (None, region):
                continue
            if fault.applies_to_server(source_server_id):
                return fault
        return None

    def consume(self, fault: Fault) -> bool:
        return fault._roll()


def drop_response(environ) -> bool:
    """Make the request's response never reach the client (a response_lost fault): shut its connection down.

    werkzeug's server hands the WSGI app its connection as environ["werkzeug.socket"]; once it is shut down,
    werkzeug's write of the status line fails and it treats the request as a dropped connection, while
    everything the app did (and any answer it remembered for an idempotency token) stands. The client reads
    end-of-stream where the status line should be: http.client's RemoteDisconnected, which botocore raises as
    ConnectionClosedError (botocore.httpsession maps urllib3's ProtocolError to it), at once instead of after a
    read timeout. Returns False when the app is not served by werkzeug's server (the response then goes out).
    """
    connection = environ.get("werkzeug.socket")
    if connection is None:
        return False
    try:
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    return True
