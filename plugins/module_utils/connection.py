# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Clients for the orchestrator's own credentials and for roles assumed in other accounts.

Every client is built with amazon.aws's connection settings (region, endpoint_url/AWS_URL, profile,
credentials, CA bundle), with botocore's own retries off and the collection's retry policy
(retry.DRSRetry) on every call made with ``aws_retry=True``. Cross-account roles are assumed through
STS with an ExternalId and cached per role until shortly before the credentials expire.
"""

import datetime
import time

try:
    import botocore
except ImportError:
    botocore = None

from ansible_collections.amazon.aws.plugins.module_utils.botocore import _boto3_conn
from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper

from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ConfigurationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import CrossAccountError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.retry import DRSRetry

# Refresh assumed-role credentials this long before they expire.
REFRESH_MARGIN_SECONDS = 300
_CREDENTIAL_KEYS = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token", "profile_name")


def _no_sdk_retries():
    return {"retries": {"mode": "standard", "total_max_attempts": 1}, "connect_timeout": 10, "read_timeout": 60}


class RoleCredentialCache:
    """Assumed-role credentials per (role ARN, ExternalId, session name), reused until near expiry."""

    def __init__(self, clock=time.time):
        self._entries = {}
        self._clock = clock

    def get(self, key):
        entry = self._entries.get(key)
        if entry and entry["expires"] - REFRESH_MARGIN_SECONDS > self._clock():
            return entry["credentials"]
        return None

    def put(self, key, credentials, expires):
        self._entries[key] = {"credentials": credentials, "expires": expires}

    def __len__(self):
        return len(self._entries)


# One cache per process: a module, an inventory run or a test shares assumed roles.
ROLE_CACHE = RoleCredentialCache()


class RefreshingRoleClient:
    """A client acting as a role, rebuilt with fresh credentials whenever the cached ones near expiry.

    A wave can wait longer than a role session lasts (one hour by default); every call goes through
    the credential cache, which assumes the role again REFRESH_MARGIN_SECONDS before expiry.
    """

    def __init__(self, connector, service, region, role_arn, external_id):
        self._connector = connector
        self._service = service
        self._region = region
        self._role = (role_arn, external_id)
        self._credentials = None
        self._client = None

    def refresh(self):
        """The underlying client, rebuilt if the role's credentials were renewed."""
        credentials = self._connector.assume_role(*self._role)
        if credentials is not self._credentials:
            self._credentials = credentials
            self._client = self._connector.build(self._service, self._region, credentials)
        return self._client

    def __getattr__(self, name):
        return getattr(self.refresh(), name)


class AWSConnector:
    """Builds retrying boto3 clients, in the default account or through an assumed role."""

    def __init__(self, region=None, endpoint_url=None, connect_kwargs=None, retry_decorator=None,
                 require_external_id=True, session_name="elasticdr-orchestration", cache=None, builder=None):
        self.region = region
        self.endpoint_url = endpoint_url
        self.connect_kwargs = dict(connect_kwargs or {})
        self.retry_decorator = retry_decorator or DRSRetry.honour_retry_after()
        self.require_external_id = require_external_id
        self.session_name = session_name
        self.cache = ROLE_CACHE if cache is None else cache
        self._builder = builder or _boto3_conn
        self._clients = {}

    @classmethod
    def from_module(cls, module, **kwargs):
        """A connector with the module's standard AWS connection options."""
        from ansible_collections.amazon.aws.plugins.module_utils.botocore import get_aws_connection_info

        region, endpoint_url, connect_kwargs = get_aws_connection_info(module)
        return cls(region=region, endpoint_url=endpoint_url, connect_kwargs=connect_kwargs, **kwargs)

    def client(self, service, region=None, role_arn=None, external_id=None):
        """A client for service in region (default: the connector's), as role_arn when given."""
        region = region or self.region
        if not region:
            raise ConfigurationError(
                f"No region for the {service} client.",
                remediation="Set the region option (or AWS_REGION) and, where needed, source_region.",
            )
        key = (service, region, role_arn, external_id)
        if key not in self._clients:
            if role_arn:
                # Assume and build now, so a refused role fails before the first call that needs it.
                client = RefreshingRoleClient(self, service, region, role_arn, external_id)
                client.refresh()
                self._clients[key] = client
            else:
                self._clients[key] = self.build(service, region)
        return self._clients[key]

    def build(self, service, region, credentials=None):
        """A retrying client with the connector's settings (and the given credentials, if any)."""
        params = dict(self.connect_kwargs)
        if credentials:
            for name in _CREDENTIAL_KEYS:
                params.pop(name, None)
            params.update(credentials)
        params["config"] = self._merged_config(params.pop("config", None))
        conn = self._builder(conn_type="client", resource=service, region=region, endpoint=self.endpoint_url, **params)
        return RetryingBotoClientWrapper(conn, self.retry_decorator)

    def _merged_config(self, config):
        base = botocore.config.Config(**_no_sdk_retries())
        if config is None:
            return base
        if isinstance(config, dict):
            config = botocore.config.Config(**config)
        # The caller's settings win, except retries: the collection's retry policy is the only one.
        return base.merge(config).merge(botocore.config.Config(retries=_no_sdk_retries()["retries"]))

    def assume_role(self, role_arn, external_id=None, duration_seconds=3600):
        """Credentials (boto3 keyword arguments) for role_arn, from the cache or a fresh AssumeRole."""
        if not role_arn.startswith("arn:") or ":role/" not in role_arn:
            raise ConfigurationError(f"{role_arn!r} is not an IAM role ARN.",
                                     remediation="Give a role ARN such as arn:aws:iam::123456789012:role/DRSOrchestration.")
        if self.require_external_id and not external_id:
            raise ConfigurationError(
                f"Assuming {role_arn} needs an ExternalId.",
                remediation="Set external_id (drs_external_id in the inventory) to the value in the role's trust "
                            "policy, or set require_external_id=false for a role whose trust policy has none.",
            )
        key = (role_arn, external_id, self.session_name)
        cached = self.cache.get(key)
        if cached:
            return cached
        sts = self.client("sts")
        params = {"RoleArn": role_arn, "RoleSessionName": self.session_name, "DurationSeconds": duration_seconds}
        if external_id:
            params["ExternalId"] = external_id
        try:
            response = sts.assume_role(aws_retry=True, **params)
        except botocore.exceptions.ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            if code == "ExpiredToken":
                raise CrossAccountError(
                    f"The credentials used to assume {role_arn} have expired.", cause=error,
                    remediation="Refresh the orchestrator's credentials (a new session token or SSO login) and "
                                "run the play again.") from error
            raise CrossAccountError(f"Could not assume {role_arn}: {code}.", cause=error,
                                    details={"role_arn": role_arn, "external_id_given": bool(external_id)}) from error
        except botocore.exceptions.BotoCoreError as error:
            raise CrossAccountError(f"Could not assume {role_arn}.", cause=error) from error
        creds = response["Credentials"]
        credentials = {
            "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"],
        }
        expires = creds.get("Expiration")
        if isinstance(expires, datetime.datetime):
            expires = expires.timestamp()
        elif not isinstance(expires, (int, float)):
            expires = time.time() + duration_seconds
        self.cache.put(key, credentials, expires)
        return credentials

    def account_id(self, role_arn=None, external_id=None):
        """The account the connector's (or the role's) credentials act in."""
        if role_arn:
            return role_arn.split(":")[4]
        return self.client("sts").get_caller_identity(aws_retry=True)["Account"]
