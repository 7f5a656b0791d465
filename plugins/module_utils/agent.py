# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Installing the DRS replication agent on recovery instances through SSM Run Command. Every SSM call of
the collection is here.

Reverse replication (docs/DRS_BEHAVIOUR.md section 7) is carried by the replication agent on the recovery
instance. When that agent is missing or broken, the DRS user guide's remedy is to reinstall it "as a
recovery instance" of its source server: ``aws-replication-installer-init --region <region>
--install-as-recovery-instance <source server ID>`` [doc: "Reinstalling the agent"]. The installer is fetched
from the region's DRS bucket and needs the instance to reach it and the DRS endpoint over HTTPS.

One command per instance (the installer arguments differ per instance), so a refusal names its instance.
Planning reads and checks everything before the first SendCommand; check mode stops after the plan.
"""

import datetime
import time

from ansible_collections.amazon.aws.plugins.module_utils.errors import AWSErrorHandler

from ansible_collections.elasticdr.orchestration.plugins.module_utils.ec2 import state_of
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import AgentInstallationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ConfigurationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import DRSAPIError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ValidationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.retry import call_non_idempotent

DOCUMENTS = {"linux": "AWS-RunShellScript", "windows": "AWS-RunPowerShellScript"}
# GetCommandInvocation statuses; Cancelling ends as Cancelled.
FINAL_STATUSES = ("Success", "Failed", "Cancelled", "TimedOut")
# Right after SendCommand an invocation can be unknown for a moment (InvocationDoesNotExist): pending.
NOT_YET = "Pending"
OUTPUT_TAIL = 2000

REMEDIATION_NOT_MANAGED = (
    "The instance is not a managed node of SSM in this region: make sure the SSM agent runs on it, that its "
    "instance profile allows SSM (AmazonSSMManagedInstanceCore) and that it reaches the SSM endpoints; or install "
    "the DRS agent yourself (aws-replication-installer-init --install-as-recovery-instance <source server ID>) "
    "and rerun with drs_install_agent=false.")
REMEDIATION_DENIED = (
    "The orchestrating identity may not run the command: allow ssm:SendCommand on the document and the "
    "instance, and ssm:GetCommandInvocation, then rerun with the same execution id.")
REMEDIATION_FAILED = (
    "The installer ran and failed (see stdout/stderr in the details): check that the instance reaches "
    "https://aws-elastic-disaster-recovery-<region>.s3.<region>.amazonaws.com and the DRS endpoint over HTTPS, "
    "and that its instance profile allows agent installation (AWSElasticDisasterRecoveryRecoveryInstancePolicy), "
    "then rerun with the same execution id.")
REMEDIATION_TIMEOUT = (
    "The installer did not finish in time: look at the command in Systems Manager > Run Command (a slow "
    "download or a hung package manager), raise drs_agent_timeout, and rerun with the same execution id.")


class SSMErrorHandler(AWSErrorHandler):
    _CUSTOM_EXCEPTION = DRSAPIError

    @classmethod
    def _is_missing(cls):
        from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code

        return is_boto3_error_code("InvocationDoesNotExist")


class SSMClient:
    """SSM in one account and region. `client` is a retrying boto3 SSM client (AWSConnector.client)."""

    def __init__(self, client):
        self.client = client
        self.calls = 0

    def _call(self, operation, **params):
        self.calls += 1
        return getattr(self.client, operation)(aws_retry=True, **params)

    @SSMErrorHandler.common_error_handler("send an SSM command to {instance_id}")
    def send_command(self, instance_id, document, commands, timeout_seconds, comment):
        """The command ID. SendCommand is not idempotent (a second call runs the installer again): after a lost
        response the command is looked for (find_command) before it is sent again."""
        comment = comment[:100]
        # SigV4 refuses a request signed more than 5 minutes off the service's clock (RequestTimeTooSkewed): a
        # command this call sent was requested at most that long before the local "now".
        since = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)

        def sent():
            command = self.find_command(instance_id, document, comment, commands, since)
            return {"Command": command} if command else None

        self.calls += 1
        response = call_non_idempotent(
            self.client, "send_command", sent, InstanceIds=[instance_id], DocumentName=document,
            Parameters={"commands": list(commands), "executionTimeout": [str(int(timeout_seconds))]},
            TimeoutSeconds=max(30, int(timeout_seconds)), Comment=comment)
        return response["Command"]["CommandId"]

    def find_command(self, instance_id, document, comment, commands, since):
        """The newest command of `document` sent to instance_id since `since` with this comment and these
        commands (ListCommands filtered by instance, document and InvokedAfter; the filters are checked here
        too), or None."""
        params = {"InstanceId": instance_id, "MaxResults": 50,
                  "Filters": [{"key": "InvokedAfter", "value": since.strftime("%Y-%m-%dT%H:%M:%SZ")},
                              {"key": "DocumentName", "value": document}]}
        found = []
        while True:
            page = self._call("list_commands", **params)
            for command in page.get("Commands") or []:
                requested = command.get("RequestedDateTime")
                if isinstance(requested, datetime.datetime) and requested.tzinfo is None:
                    requested = requested.replace(tzinfo=datetime.timezone.utc)
                if (command.get("DocumentName") == document and command.get("Comment") == comment
                        and list((command.get("Parameters") or {}).get("commands") or []) == list(commands)
                        and (not isinstance(requested, datetime.datetime) or requested >= since)):
                    found.append(command)
            if not page.get("NextToken"):
                break
            params["NextToken"] = page["NextToken"]
        found.sort(key=lambda c: c.get("RequestedDateTime") or since)
        return found[-1] if found else None

    @SSMErrorHandler.list_error_handler("read SSM command {command_id} on {instance_id}", default_value=None)
    def get_command_invocation(self, command_id, instance_id):
        """The invocation, or None while SSM does not know it yet (InvocationDoesNotExist)."""
        response = self._call("get_command_invocation", CommandId=command_id, InstanceId=instance_id)
        response = dict(response)
        response.pop("ResponseMetadata", None)
        return response


def platform_of(instance):
    return "windows" if (instance.get("Platform") or "").lower() == "windows" else "linux"


def installer_url(region, platform):
    name = "windows/AwsReplicationWindowsInstaller.exe" if platform == "windows" else "linux/aws-replication-installer-init"
    return f"https://aws-elastic-disaster-recovery-{region}.s3.{region}.amazonaws.com/latest/{name}"


def installer_commands(region, source_server_id, platform):
    """The Run Command script that (re)installs the agent on a recovery instance of source_server_id."""
    url = installer_url(region, platform)
    if platform == "windows":
        return [
            "$ErrorActionPreference = 'Stop'",
            f"Invoke-WebRequest -UseBasicParsing -Uri '{url}' -OutFile \"$env:TEMP\\AwsReplicationWindowsInstaller.exe\"",
            f"& \"$env:TEMP\\AwsReplicationWindowsInstaller.exe\" --region {region} "
            f"--install-as-recovery-instance {source_server_id} --no-prompt",
            "exit $LASTEXITCODE",
        ]
    return [
        "set -eu",
        "cd /tmp",
        f"curl --fail --silent --show-error --retry 3 -o aws-replication-installer-init '{url}'",
        "chmod +x aws-replication-installer-init",
        f"./aws-replication-installer-init --region {region} --install-as-recovery-instance {source_server_id} "
        "--no-prompt",
    ]


def _tail(text):
    text = text or ""
    return text[-OUTPUT_TAIL:]


class AgentInstaller:
    """ssm: SSMClient and ec2: EC2Client of the recovery instances' account and region."""

    def __init__(self, ssm, ec2, region, sleep=time.sleep, clock=time.monotonic):
        self.ssm = ssm
        self.ec2 = ec2
        self.region = region
        self.sleep = sleep
        self.clock = clock

    def plan(self, servers):
        """One entry per server, with the document and commands to send. No mutating call. Raises
        ValidationError naming every instance that cannot receive a command."""
        entries, problems = [], []
        for server in servers:
            instance_id = server.get("recovery_instance_id") or server.get("instance_id")
            label = server.get("name") or instance_id or server.get("source_server_id")
            if not instance_id or not server.get("source_server_id"):
                raise ConfigurationError(
                    f"{label}: every entry of servers needs recovery_instance_id (or instance_id) and source_server_id.",
                    server=label, remediation="Pass the servers returned by drs_failback_info (agent_servers).")
            entries.append({"name": server.get("name"), "instance_id": instance_id,
                            "source_server_id": server["source_server_id"]})
        ids = [e["instance_id"] for e in entries]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ConfigurationError(f"Instances listed more than once: {', '.join(duplicates)}.",
                                     server=", ".join(duplicates), remediation="List each recovery instance once.")
        instances = self.ec2.describe_instances(ids) if ids else {}
        for entry in entries:
            instance = instances.get(entry["instance_id"])
            label = entry["name"] or entry["instance_id"]
            if instance is None:
                problems.append((label, entry["instance_id"],
                                 f"recovery instance {entry['instance_id']} does not exist in {self.region}"))
                continue
            if state_of(instance) != "running":
                problems.append((label, entry["instance_id"],
                                 f"recovery instance {entry['instance_id']} is {state_of(instance)}; SSM Run Command "
                                 "needs it running"))
                continue
            platform = platform_of(instance)
            entry.update({"platform": platform, "document": DOCUMENTS[platform],
                          "commands": installer_commands(self.region, entry["source_server_id"], platform),
                          "status": "WOULD_INSTALL"})
        if problems:
            raise ValidationError(
                "Cannot install the DRS agent: " + "; ".join(f"{label}: {why}" for label, _i, why in problems),
                server=", ".join(label for label, _i, _why in problems),
                remediation="Start the recovery instances (SSM needs them running), or install the agent yourself "
                            "and rerun with drs_install_agent=false.",
                details={"problems": [{"name": label, "instance_id": i, "problem": why} for label, i, why in problems]})
        return entries

    def send(self, entries, timeout_seconds):
        """SendCommand for every entry; a refusal is recorded on its entry (the others still get theirs)."""
        for entry in entries:
            try:
                entry["command_id"] = self.ssm.send_command(
                    entry["instance_id"], entry["document"], entry["commands"], timeout_seconds,
                    f"elasticdr: DRS agent for {entry['source_server_id']}")
                entry["status"] = NOT_YET
            except DRSAPIError as error:
                code = error.code or "error"
                not_managed = code in ("InvalidInstanceId", "InvalidInstanceInformationFilterValue")
                denied = code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation")
                entry["status"] = "NotSent"
                entry["error"] = self._error(
                    entry, f"SSM refused the command ({code}): {_message(error)}",
                    REMEDIATION_NOT_MANAGED if not_managed else REMEDIATION_DENIED if denied else None,
                    cause=code).to_dict()
        return entries

    def wait(self, entries, timeout_seconds=900.0, poll_interval=5.0):
        """Poll each sent command until it ends or the timeout; returns whether it timed out."""
        started = self.clock()
        timed_out = False
        while True:
            pending = [e for e in entries if e.get("command_id") and e["status"] not in FINAL_STATUSES]
            for entry in pending:
                invocation = self.ssm.get_command_invocation(entry["command_id"], entry["instance_id"])
                if invocation is None:
                    continue
                entry["status"] = invocation.get("Status") or NOT_YET
                entry["status_details"] = invocation.get("StatusDetails")
                entry["response_code"] = invocation.get("ResponseCode")
                entry["stdout"] = _tail(invocation.get("StandardOutputContent"))
                entry["stderr"] = _tail(invocation.get("StandardErrorContent"))
            pending = [e for e in entries if e.get("command_id") and e["status"] not in FINAL_STATUSES]
            if not pending:
                break
            if self.clock() - started + poll_interval > timeout_seconds:
                for entry in pending:
                    entry["error"] = self._error(
                        entry, f"the installer was still {entry['status']} after {timeout_seconds:g} s "
                               f"(command {entry['command_id']})", REMEDIATION_TIMEOUT, cause="Timeout").to_dict()
                timed_out = True
                break
            self.sleep(poll_interval)
        # The commands that ended, also when others timed out: each failure gets its error and remediation.
        for entry in entries:
            if entry.get("command_id") and entry["status"] != "Success" and not entry.get("error"):
                detail = entry.get("stderr") or entry.get("stdout") or entry.get("status_details") or ""
                remediation = REMEDIATION_TIMEOUT if entry["status"] == "TimedOut" else REMEDIATION_FAILED
                entry["error"] = self._error(
                    entry, f"the installer ended {entry['status']} (exit code {entry.get('response_code')}, "
                           f"command {entry['command_id']})" + (f": {detail.strip()[-300:]}" if detail.strip() else ""),
                    remediation, cause=entry["status"]).to_dict()
        return timed_out

    def _error(self, entry, why, remediation, cause=None):
        label = entry.get("name") or entry["instance_id"]
        return AgentInstallationError(
            f"{label} ({entry['instance_id']}): DRS agent installation failed: {why}.", server=label, cause=cause,
            remediation=remediation,
            details={"instance_id": entry["instance_id"], "source_server_id": entry["source_server_id"],
                     "command_id": entry.get("command_id"), "status": entry.get("status"),
                     "stdout": entry.get("stdout"), "stderr": entry.get("stderr")})


def _message(error):
    response = getattr(error.exception, "response", None) or {}
    return response.get("Error", {}).get("Message") or error.message
