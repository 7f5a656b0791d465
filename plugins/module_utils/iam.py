# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Every IAM call the collection makes, in one place: who am I (sts:GetCallerIdentity) and what may I do
(iam:SimulatePrincipalPolicy). Both only read: the simulation "does not perform the API operations; it only checks
the authorization" (IAM API Reference, SimulatePrincipalPolicy).

The clients are the retrying clients of connection.AWSConnector (botocore's own retries off). SimulatePrincipalPolicy
paginates with Marker/IsTruncated; botocore's paginator ``simulate_principal_policy`` follows them, and the whole
paginated read is retried with the collection's policy (retry.DRSRetry), since a paginator's pages cannot be retried
one by one through RetryingBotoClientWrapper.
"""

from ansible_collections.elasticdr.orchestration.plugins.module_utils.retry import DRSRetry

# IAM API Reference, SimulatePrincipalPolicy: MaxItems is 1..1000.
MAX_ITEMS = 1000


def context_entries(context):
    """ContextEntries for SimulatePrincipalPolicy from (key, type, values) tuples."""
    return [{"ContextKeyName": key, "ContextKeyType": kind, "ContextKeyValues": list(values)}
            for key, kind, values in context]


class IAMClient:
    """The IAM and STS clients of one identity (its own credentials: an identity simulates itself)."""

    def __init__(self, iam, sts, retry=None):
        self.iam = iam
        self.sts = sts
        self.retry = retry or DRSRetry.honour_retry_after()
        self.calls = 0

    def caller_arn(self):
        """The ARN the credentials act as: a user, an assumed-role session, a federated user or the root."""
        self.calls += 1
        return self.sts.get_caller_identity(aws_retry=True)["Arn"]

    def simulate(self, policy_source_arn, actions, resources=None, context=()):
        """Every EvaluationResult of simulating `actions` on `resources` (None: "*", the API's default) with the
        context entries, all pages read. Raises botocore's ClientError as the service answered."""
        params = {"PolicySourceArn": policy_source_arn, "ActionNames": list(actions),
                  "PaginationConfig": {"PageSize": MAX_ITEMS}}
        if resources:
            params["ResourceArns"] = list(resources)
        if context:
            params["ContextEntries"] = context_entries(context)

        def read_all():
            paginator = self.iam.get_paginator("simulate_principal_policy")
            results = []
            for page in paginator.paginate(**params):
                self.calls += 1
                results.extend(page.get("EvaluationResults", []))
            return results

        return self.retry(read_all)()
