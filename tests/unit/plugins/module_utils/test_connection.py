# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""AWSConnector against moto (in-process): real sts:AssumeRole with ExternalId, credential caching and refresh."""

import time

import pytest
from moto import mock_aws

from ansible_collections.amazon.aws.plugins.module_utils.botocore import _boto3_conn
from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper
from ansible_collections.elasticdr.orchestration.plugins.module_utils import connection
from ansible_collections.elasticdr.orchestration.plugins.module_utils.connection import AWSConnector
from ansible_collections.elasticdr.orchestration.plugins.module_utils.connection import RoleCredentialCache
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ConfigurationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import CrossAccountError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.retry import DRSRetry

ROLE = "arn:aws:iam::222222222222:role/DRSOrchestration"
OTHER_ROLE = "arn:aws:iam::333333333333:role/DRSOrchestration"
MARGIN = 300  # credentials are refreshed this many seconds before they expire


class _Response:
    def __init__(self, status):
        self.status_code = status
        self.headers = {}
        self.content = b""


class RecordingBuilder:
    """Wraps amazon.aws's real _boto3_conn: records each client built and every AssumeRole sent.

    refuse: list of (error code, HTTP status) answers given to the next AssumeRole calls instead of moto's.
    """

    def __init__(self, refuse=None):
        self.built = []
        self.assume_role_calls = []
        self.refuse = list(refuse or [])

    def __call__(self, conn_type, resource, region, endpoint, **params):
        assert endpoint is None
        client = _boto3_conn(conn_type=conn_type, resource=resource, region=region, endpoint=endpoint, **params)
        self.built.append({"service": resource, "region": region, "access_key": params.get("aws_access_key_id"),
                           "session_token": params.get("aws_session_token"), "config": client.meta.config})
        if resource == "sts":
            client.meta.events.register("provide-client-params.sts.AssumeRole", self._record)
            client.meta.events.register("before-call.sts.AssumeRole", self._maybe_refuse)
        return client

    def _record(self, params, **kwargs):
        self.assume_role_calls.append(dict(params))

    def _maybe_refuse(self, **kwargs):
        if self.refuse:
            code, status = self.refuse.pop(0)
            return _Response(status), {"Error": {"Code": code, "Message": f"{code} from the test"},
                                       "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {}}}
        return None


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield


class Clock:
    def __init__(self):
        self.offset = 0.0

    def __call__(self):
        return time.time() + self.offset


def connector(builder=None, clock=None, **kwargs):
    cache = RoleCredentialCache(clock=clock or time.time)
    kwargs.setdefault("retry_decorator", DRSRetry.honour_retry_after(sleep=lambda s: None))
    return AWSConnector(region="us-east-1", endpoint_url=None, builder=builder, cache=cache, **kwargs), cache


def test_default_builder_gives_retrying_clients_in_the_default_account(aws):
    conn = connector()[0]
    sts = conn.client("sts")
    assert isinstance(sts, RetryingBotoClientWrapper)
    assert conn.account_id() == "123456789012"  # moto's default account
    assert conn.client("sts") is sts  # clients are built once per (service, region, role)


def test_assume_role_sends_external_id_and_acts_in_the_role_account(aws):
    builder = RecordingBuilder()
    conn, cache = connector(builder)
    conn.client("drs", region="us-west-2", role_arn=ROLE, external_id="ext-123")
    assert builder.assume_role_calls == [{"RoleArn": ROLE, "RoleSessionName": "elasticdr-orchestration",
                                          "DurationSeconds": 3600, "ExternalId": "ext-123"}]
    built = [b for b in builder.built if b["service"] == "drs"][0]
    assert built["region"] == "us-west-2"
    assert built["access_key"].startswith("ASIA") and built["session_token"]
    assert len(cache) == 1
    # moto maps assumed-role credentials to the role's account.
    assumed_sts = conn.client("sts", role_arn=ROLE, external_id="ext-123")
    assert assumed_sts.get_caller_identity()["Account"] == "222222222222"
    assert conn.account_id(role_arn=ROLE) == "222222222222"


def test_cached_credentials_are_reused_across_clients_and_connectors(aws):
    builder = RecordingBuilder()
    conn, cache = connector(builder)
    conn.client("drs", role_arn=ROLE, external_id="ext")
    conn.client("sts", role_arn=ROLE, external_id="ext")
    conn.client("drs", region="eu-west-1", role_arn=ROLE, external_id="ext")
    assert len(builder.assume_role_calls) == 1
    assert len([b for b in builder.built if b["session_token"]]) == 3
    # A second connector sharing the cache (another module in the same process) does not assume again.
    second = AWSConnector(region="us-east-1", builder=builder, cache=cache)
    assert second.assume_role(ROLE, "ext") == conn.assume_role(ROLE, "ext")
    assert len(builder.assume_role_calls) == 1
    # A different role, or the same role with a different ExternalId, is a different cache entry.
    conn.client("sts", role_arn=OTHER_ROLE, external_id="ext")
    conn.assume_role(ROLE, "another")
    assert len(builder.assume_role_calls) == 3
    assert len(cache) == 3


def test_credentials_are_refreshed_shortly_before_expiry(aws):
    builder = RecordingBuilder()
    clock = Clock()
    conn, cache = connector(builder, clock=clock)
    first = conn.assume_role(ROLE, "ext")
    expires = cache._entries[(ROLE, "ext", "elasticdr-orchestration")]["expires"]
    assert 3500 < expires - time.time() <= 3600
    clock.offset = (expires - time.time()) - MARGIN - 5  # just before the margin
    assert conn.assume_role(ROLE, "ext") == first
    assert len(builder.assume_role_calls) == 1
    clock.offset = (expires - time.time()) - MARGIN + 5  # inside the margin
    refreshed = conn.assume_role(ROLE, "ext")
    assert len(builder.assume_role_calls) == 2
    assert refreshed["aws_access_key_id"] != first["aws_access_key_id"]


def test_the_refresh_margin_is_five_minutes():
    assert connection.REFRESH_MARGIN_SECONDS == MARGIN


def test_role_credential_cache_with_an_injected_clock():
    now = [1000.0]
    cache = RoleCredentialCache(clock=lambda: now[0])
    cache.put("k", {"aws_access_key_id": "A"}, expires=2000.0)
    assert cache.get("k") == {"aws_access_key_id": "A"}
    now[0] = 2000.0 - MARGIN - 0.001
    assert cache.get("k") is not None
    now[0] = 2000.0 - MARGIN
    assert cache.get("k") is None
    assert cache.get("unknown") is None


def test_require_external_id_refuses_before_calling_sts(aws):
    builder = RecordingBuilder()
    conn = connector(builder)[0]
    with pytest.raises(ConfigurationError) as info:
        conn.client("drs", role_arn=ROLE)
    assert ROLE in info.value.message and "external_id" in info.value.remediation
    assert builder.assume_role_calls == []
    relaxed = connector(builder, require_external_id=False)[0]
    relaxed.client("drs", role_arn=ROLE)
    assert builder.assume_role_calls[-1] == {"RoleArn": ROLE, "RoleSessionName": "elasticdr-orchestration",
                                             "DurationSeconds": 3600}


def test_a_malformed_role_arn_is_a_configuration_error(aws):
    builder = RecordingBuilder()
    conn = connector(builder)[0]
    with pytest.raises(ConfigurationError):
        conn.assume_role("DRSOrchestration", "ext")
    with pytest.raises(ConfigurationError):
        conn.assume_role("arn:aws:iam::222222222222:user/bob", "ext")
    assert builder.assume_role_calls == []


def test_a_refused_assume_role_is_a_cross_account_error_and_is_not_retried(aws):
    builder = RecordingBuilder(refuse=[("AccessDenied", 403)])
    sleeps = []
    conn, cache = connector(builder, retry_decorator=DRSRetry.honour_retry_after(sleep=sleeps.append))
    with pytest.raises(CrossAccountError) as info:
        conn.client("drs", role_arn=ROLE, external_id="wrong")
    data = info.value.to_dict()
    assert "AccessDenied" in data["message"] and ROLE in data["message"]
    assert data["details"] == {"role_arn": ROLE, "external_id_given": True}
    assert "AccessDenied" in data["cause"]
    assert "ExternalId" in data["remediation"]
    assert len(builder.assume_role_calls) == 1 and sleeps == []
    assert len(cache) == 0


def test_expired_orchestrator_credentials_have_their_own_remediation(aws):
    builder = RecordingBuilder(refuse=[("ExpiredToken", 400)])
    conn = connector(builder)[0]
    with pytest.raises(CrossAccountError) as info:
        conn.assume_role(ROLE, "ext")
    assert "expired" in info.value.message and "SSO" in info.value.remediation


def test_a_throttled_assume_role_is_retried(aws):
    builder = RecordingBuilder(refuse=[("Throttling", 400), ("Throttling", 400)])
    sleeps = []
    conn = connector(builder, retry_decorator=DRSRetry.honour_retry_after(delay=0.01, sleep=sleeps.append))[0]
    credentials = conn.assume_role(ROLE, "ext")
    assert credentials["aws_access_key_id"].startswith("ASIA")
    assert len(builder.assume_role_calls) == 3 and len(sleeps) == 2


def test_sdk_retries_are_off_even_when_the_caller_asks_for_them(aws):
    builder = RecordingBuilder()
    conn = connector(builder)[0]
    conn.connect_kwargs = {"config": {"retries": {"max_attempts": 10, "mode": "adaptive"}, "read_timeout": 33}}
    conn.client("drs")
    config = builder.built[-1]["config"]
    assert config.read_timeout == 33
    assert config.retries["total_max_attempts"] == 1
    assert config.retries["mode"] == "standard"


def test_role_clients_do_not_use_the_callers_static_credentials(aws):
    builder = RecordingBuilder()
    conn = connector(builder)[0]
    conn.connect_kwargs = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    conn.client("drs", role_arn=ROLE, external_id="ext")
    drs_build = [b for b in builder.built if b["service"] == "drs"][0]
    assert drs_build["access_key"] != "testing" and drs_build["session_token"]


def test_a_client_needs_a_region():
    conn = AWSConnector(region=None, builder=lambda **kwargs: pytest.fail("no client may be built"),
                        cache=RoleCredentialCache())
    with pytest.raises(ConfigurationError) as info:
        conn.client("drs")
    assert "region" in info.value.remediation


def test_a_role_client_renews_its_credentials_mid_wait(aws):
    """A wave can outlast a role session: the same client object switches to fresh credentials."""
    builder = RecordingBuilder()
    clock = Clock()
    conn = connector(builder, clock)[0]
    ec2 = conn.client("ec2", region="us-west-2", role_arn=ROLE, external_id="ext-1")
    ec2.describe_instances(aws_retry=True)
    assert len(builder.assume_role_calls) == 1
    first_token = [b for b in builder.built if b["service"] == "ec2"][-1]["session_token"]
    clock.offset = 3600 - MARGIN + 1  # the one-hour session is about to expire
    assert ec2.describe_instances(aws_retry=True)["Reservations"] == []
    assert len(builder.assume_role_calls) == 2
    ec2_builds = [b for b in builder.built if b["service"] == "ec2"]
    assert len(ec2_builds) == 2 and ec2_builds[-1]["session_token"] != first_token
    assert conn.client("ec2", region="us-west-2", role_arn=ROLE, external_id="ext-1") is ec2
