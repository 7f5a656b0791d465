"""Control endpoints under /_simulator/ (JSON), documented in docs/simulator.md.

Bad input answers 400 with {"error": "..."} naming the problem; the simulator keeps serving.
"""
from __future__ import annotations

import json
from urllib.parse import parse_qs

import yaml

from .ec2access import find_instance_account
from .estate import EstateError, load_estate
from .faults import Fault, FaultSpecError

_TRUE = ("1", "true", "yes")


class ControlError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class ControlAPI:
    def __init__(self, runtime):
        self.runtime = runtime

    def handle(self, environ):
        method = environ.get("REQUEST_METHOD", "GET")
        name = environ.get("PATH_INFO", "")[len("/_simulator/"):].strip("/")
        query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        raw = environ["wsgi.input"].read(length) if length else b""
        handler = getattr(self, f"{method.lower()}_{name.replace('-', '_')}", None)
        try:
            if handler is None:
                known = sorted({m.split("_", 1)[1].replace("_", "-") for m in dir(self)
                                if m.split("_", 1)[0] in ("get", "post", "delete", "put") and "_" in m})
                raise ControlError(404, f"no control endpoint {method} /_simulator/{name}; "
                                        f"endpoints: {', '.join(known)}")
            result = handler(raw, query)
            return 200, {"Content-Type": "application/json"}, json.dumps(result, default=str).encode()
        except ControlError as error:
            return error.status, {"Content-Type": "application/json"}, json.dumps({"error": error.message}).encode()
        except (EstateError, FaultSpecError, ValueError) as error:
            return 400, {"Content-Type": "application/json"}, json.dumps({"error": str(error)}).encode()

    # ---------------------------------------------------------------- helpers
    @staticmethod
    def _json(raw, expect=dict):
        if not raw:
            raise ControlError(400, "request body must be JSON")
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise ControlError(400, f"request body is not valid JSON: {exc}") from exc
        if expect is dict and not isinstance(data, dict):
            raise ControlError(400, "request body must be a JSON object")
        return data

    # ---------------------------------------------------------------- endpoints
    def get_health(self, raw, query):
        rt = self.runtime
        return {"status": "ok", "simulated_time": rt.clock.now().isoformat(), "time_scale": rt.clock.time_scale,
                "pending_events": rt.scheduler.pending(), "requests_logged": len(rt.log.query()),
                "estate": (rt.estate_summary or {}).get("name")}

    def post_source_servers(self, raw, query):
        data = self._json(raw)
        allowed = {"instance_id", "source_region", "recovery_region", "account_id", "staging_account_id",
                   "replication_state", "lag_seconds", "tags"}
        unknown = set(data) - allowed
        if unknown:
            raise ControlError(400, f"unknown member(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(allowed))}")
        for key in ("instance_id", "source_region", "recovery_region"):
            if not isinstance(data.get(key), str) or not data[key]:
                raise ControlError(400, f"{key} is required (a string)")
        state = data.get("replication_state", "CONTINUOUS")
        from .drs import shapes

        states = shapes.service_model().shape_for("DataReplicationState").enum
        if state not in states:
            raise ControlError(400, f"replication_state must be one of {', '.join(states)}")
        lag = data.get("lag_seconds", 5)
        if isinstance(lag, bool) or not isinstance(lag, (int, float)) or lag < 0:
            raise ControlError(400, "lag_seconds must be a non-negative number")
        tags = data.get("tags") or {}
        if not isinstance(tags, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
            raise ControlError(400, "tags must be an object of string keys and values")
        instance_account, instance = find_instance_account(data["instance_id"], data["source_region"])
        if instance is None:
            raise ControlError(400, f"instance {data['instance_id']} does not exist in region {data['source_region']} "
                                    "(in any account); create the EC2 instance first")
        server = seed_source_server(self.runtime, instance=instance, instance_account=instance_account,
                                    source_region=data["source_region"], recovery_region=data["recovery_region"],
                                    account_id=data.get("account_id") or instance_account,
                                    staging_account_id=data.get("staging_account_id"), replication_state=state,
                                    lag_seconds=float(lag), tags=tags)
        return {"sourceServerID": server.id, "arn": server.arn}

    def get_clock(self, raw, query):
        return {"simulated_time": self.runtime.clock.now().isoformat(), "time_scale": self.runtime.clock.time_scale}

    def post_clock(self, raw, query):
        data = self._json(raw)
        seconds = data.get("advance_seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            raise ControlError(400, "advance_seconds must be a non-negative number")
        self.runtime.clock.advance(seconds)
        ran = self.runtime.scheduler.run_due()
        return {"simulated_time": self.runtime.clock.now().isoformat(), "events_run": ran}

    def get_requests(self, raw, query):
        mutating = query.get("mutating")
        try:
            since = int(query.get("since", 0))
        except ValueError as exc:
            raise ControlError(400, "since must be an integer sequence number") from exc
        items = self.runtime.log.query(service=query.get("service"), operation=query.get("operation"),
                                       mutating=None if mutating is None else mutating.lower() in _TRUE, since=since)
        return {"requests": items}

    def delete_requests(self, raw, query):
        return {"cleared": self.runtime.log.clear()}

    def get_faults(self, raw, query):
        return {"faults": self.runtime.faults.list()}

    def post_faults(self, raw, query):
        data = self._json(raw, expect=None)
        specs = data if isinstance(data, list) else [data]
        for index, spec in enumerate(specs):  # all or nothing: validate every spec before adding any
            try:
                Fault("validation", spec, self.runtime.clock.now())
            except FaultSpecError as error:
                raise ControlError(400, f"fault spec [{index}]: {error}" if len(specs) > 1 else str(error)) from error
        faults = []
        for spec in specs:
            faults.append(self.runtime.faults.add(spec, self.runtime.clock.now()).describe())
        return {"faults": faults}

    def delete_faults(self, raw, query):
        return {"removed": self.runtime.faults.remove(query.get("id"))}

    def get_config(self, raw, query):
        return self.runtime.config.as_dict()

    def post_config(self, raw, query):
        self.runtime.config.update(self._json(raw))
        return self.runtime.config.as_dict()

    def get_iam(self, raw, query):
        """IAM enforcement: on or off, and the requests (and DRS actions on the caller's behalf) it refused."""
        iam = self.runtime.iam
        return {"enforce": iam.enforce, "denials": list(iam.denials)}

    def post_iam(self, raw, query):
        data = self._json(raw)
        unknown = set(data) - {"enforce"}
        if unknown or not isinstance(data.get("enforce"), bool):
            raise ControlError(400, 'body must be {"enforce": true|false}')
        self.runtime.iam.enforce = data["enforce"]
        self.runtime.iam.denials.clear()
        return self.get_iam(raw, query)

    def post_estate(self, raw, query):
        if not raw:
            raise ControlError(400, "request body must be an estate document (YAML or JSON)")
        try:
            data = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise ControlError(400, f"estate is not valid YAML: {exc}") from exc
        summary = load_estate(self.runtime, data, source="POST /_simulator/estate")
        self.runtime.log.clear()
        return summary

    def get_estate(self, raw, query):
        return self.runtime.estate_summary or {}


def seed_source_server(runtime, *, instance, instance_account, source_region, recovery_region, account_id,
                       staging_account_id=None, replication_state="CONTINUOUS", lag_seconds=5.0, tags=None):
    """Create the DRS source server for an EC2 instance, through a staging account when one is named."""
    if staging_account_id:
        staging = runtime.drs.backend(staging_account_id, recovery_region)
        base = staging.add_source_server(instance=instance, instance_account=instance_account,
                                         source_region=source_region, tags=tags,
                                         replication_state=replication_state, lag_seconds=lag_seconds)
        if staging_account_id == account_id:
            return base
        target = runtime.drs.backend(account_id, recovery_region)
        target.initialize_service()
        return target.extend(base)
    backend = runtime.drs.backend(account_id, recovery_region)
    return backend.add_source_server(instance=instance, instance_account=instance_account,
                                     source_region=source_region, tags=tags,
                                     replication_state=replication_state, lag_seconds=lag_seconds)
