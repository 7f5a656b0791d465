"""Test helpers for driving a running simulator: start/stop it, reset it, load estates, move time."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import boto3
import requests
from botocore.config import Config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_ACCOUNT = "123456789012"
PRIMARY = "us-east-1"
RECOVERY = "us-west-2"
NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})  # one attempt, no retry


class SimulatorProcess:
    """`python -m drs_simulator serve` on a free loopback port, for one test session."""

    def __init__(self, time_scale: float = 1.0, estate: str | None = None, extra_env: dict | None = None):
        env = dict(os.environ)
        env["PYTHONPATH"] = os.path.join(ROOT, "simulator") + os.pathsep + env.get("PYTHONPATH", "")
        env.update(extra_env or {})
        cmd = [sys.executable, "-m", "drs_simulator", "serve", "--host", "127.0.0.1", "--port", "0",
               "--time-scale", str(time_scale), "--quiet"]
        if estate:
            cmd += ["--estate", estate]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            err = self.proc.stderr.read()
            self.proc.kill()
            raise RuntimeError(f"simulator did not start: {line!r} {err!r}")
        self.url = line.split("listening on ", 1)[1].split()[0]
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                if requests.get(self.url + "/_simulator/health", timeout=2).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.05)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Sim:
    """A handle on a running simulator for one test."""

    def __init__(self, url: str):
        self.url = url
        self._sessions: dict[str, boto3.Session] = {}

    # ------------------------------------------------------------ control endpoints
    def control(self, method: str, name: str, payload=None, params=None, expect=200):
        response = requests.request(method, f"{self.url}/_simulator/{name}", json=payload, params=params, timeout=60)
        if expect is not None:
            assert response.status_code == expect, (response.status_code, response.text)
        return response.json()

    def reset(self):
        requests.post(f"{self.url}/moto-api/reset", timeout=60).raise_for_status()

    def load_estate(self, doc: dict) -> dict:
        return self.control("POST", "estate", doc)

    def advance(self, seconds: float) -> dict:
        return self.control("POST", "clock", {"advance_seconds": seconds})

    def requests(self, **filters) -> list[dict]:
        return self.control("GET", "requests", params=filters)["requests"]

    def clear_requests(self):
        self.control("DELETE", "requests")

    def add_fault(self, **spec) -> dict:
        return self.control("POST", "faults", spec)["faults"][0]

    def set_config(self, **sections) -> dict:
        return self.control("POST", "config", sections)

    # ------------------------------------------------------------ clients
    def session(self, account: str = DEFAULT_ACCOUNT) -> boto3.Session:
        """Credentials for an account: the default account directly, others through real STS AssumeRole."""
        if account not in self._sessions:
            base = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                 region_name=PRIMARY)
            if account == DEFAULT_ACCOUNT:
                self._sessions[account] = base
            else:
                sts = base.client("sts", endpoint_url=self.url)
                creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/DRSTestRole",
                                        RoleSessionName="tests")["Credentials"]
                self._sessions[account] = boto3.Session(
                    aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                    aws_session_token=creds["SessionToken"], region_name=PRIMARY)
        return self._sessions[account]

    def client(self, service: str, region: str = RECOVERY, account: str = DEFAULT_ACCOUNT, config: Config | None = None):
        return self.session(account).client(service, region_name=region, endpoint_url=self.url, config=config)

    # ------------------------------------------------------------ DRS conveniences
    def run_job(self, drs, job_id: str, step: float = 60, limit: float = 24 * 3600) -> dict:
        """Advance simulated time until the job is COMPLETED; return the job."""
        waited = 0.0
        while waited <= limit:
            job = drs.describe_jobs(filters={"jobIDs": [job_id]})["items"][0]
            if job["status"] == "COMPLETED":
                return job
            self.advance(step)
            waited += step
        raise AssertionError(f"job {job_id} did not complete within {limit} simulated seconds")


def small_estate(servers: int = 3, waves: int = 1, **overrides) -> dict:
    """A generated estate (see drs_simulator.estate.generate_estate) with optional per-server overrides.

    overrides: {"db-01": {"target": {...}}} merges into that server's entry.
    """
    from drs_simulator.estate import generate_estate

    doc = generate_estate(servers, waves)
    for server in doc["servers"]:
        extra = overrides.get(server["name"])
        if extra:
            for key, value in extra.items():
                if isinstance(value, dict) and isinstance(server.get(key), dict):
                    server[key].update(value)
                else:
                    server[key] = value
    return doc
