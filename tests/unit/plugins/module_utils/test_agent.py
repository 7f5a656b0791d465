# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Reinstalling the DRS agent through SSM Run Command (module_utils/agent.py): the document and installer per
platform, plan() refusals before any command, SendCommand refusals, and how each end of an invocation (Success,
Failed, TimedOut, Cancelled, the installer's own wait timeout) is reported on its entry and by install_agents.

SSM is a scripted in-memory boto3-shaped client (below); EC2 is the fake of fakes.py; the clock and sleep are
injected, so no test waits.
"""

import itertools

import pytest

from ansible_collections.elasticdr.orchestration.plugins.module_utils import agent
from ansible_collections.elasticdr.orchestration.plugins.module_utils.agent import AgentInstaller
from ansible_collections.elasticdr.orchestration.plugins.module_utils.agent import SSMClient
from ansible_collections.elasticdr.orchestration.plugins.module_utils.agent import installer_commands
from ansible_collections.elasticdr.orchestration.plugins.module_utils.agent import installer_url
from ansible_collections.elasticdr.orchestration.plugins.module_utils.agent import platform_of
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ConfigurationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import StepFailed
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ValidationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.failback_steps import install_agents

from .fakes import FakeClock
from .fakes import client_error
from .fakes import ec2_client
from .fakes import iid
from .fakes import instance
from .fakes import sid

REGION = "eu-west-1"
LINUX_URL = f"https://aws-elastic-disaster-recovery-{REGION}.s3.{REGION}.amazonaws.com/latest/linux/aws-replication-installer-init"
WINDOWS_URL = (f"https://aws-elastic-disaster-recovery-{REGION}.s3.{REGION}.amazonaws.com/latest/windows/"
               "AwsReplicationWindowsInstaller.exe")
UNKNOWN = "unknown"  # a script step: GetCommandInvocation answers InvocationDoesNotExist


def invocation(status, stdout="", stderr="", code=None, details=None):
    """A GetCommandInvocation answer (without its IDs, which the fake adds)."""
    return {"Status": status, "StatusDetails": details or status, "ResponseCode": -1 if code is None else code,
            "StandardOutputContent": stdout, "StandardErrorContent": stderr}


class FakeSSMBoto:
    """The subset of the boto3 SSM client SSMClient uses. scripts: {instance_id: [step, ...]}, the answers of
    successive GetCommandInvocation calls for the command sent to that instance (a status string, an
    invocation() dict, or UNKNOWN); the last step repeats. refuse: {instance_id: ClientError} for SendCommand."""

    def __init__(self, scripts=None, refuse=None):
        self.scripts = dict(scripts or {})
        self.refuse = dict(refuse or {})
        self.calls = []
        self.sent = {}
        self._remaining = {}
        self._numbers = itertools.count(1)

    def _record(self, operation, params):
        assert params.pop("aws_retry", None) is True, "every SSM call goes through the retrying client"
        self.calls.append((operation, dict(params)))
        return params

    def count(self, operation):
        return sum(1 for op, _params in self.calls if op == operation)

    def send_command(self, **params):
        params = self._record("send_command", params)
        (instance_id,) = params["InstanceIds"]
        if instance_id in self.refuse:
            raise self.refuse[instance_id]
        command_id = f"cmd-{next(self._numbers):04d}"
        self.sent[command_id] = params
        self._remaining[command_id] = list(self.scripts.get(instance_id) or ["Success"])
        return {"Command": {"CommandId": command_id, "DocumentName": params["DocumentName"],
                            "Comment": params.get("Comment"), "Parameters": params["Parameters"]},
                "ResponseMetadata": {"HTTPStatusCode": 200}}

    def get_command_invocation(self, **params):
        params = self._record("get_command_invocation", params)
        command_id = params["CommandId"]
        if command_id not in self.sent or params["InstanceId"] not in self.sent[command_id]["InstanceIds"]:
            raise client_error("InvocationDoesNotExist", message="no such invocation", operation="GetCommandInvocation")
        steps = self._remaining[command_id]
        step = steps.pop(0) if len(steps) > 1 else steps[0]
        if step == UNKNOWN:
            raise client_error("InvocationDoesNotExist", message="not yet", operation="GetCommandInvocation")
        answer = invocation(step) if isinstance(step, str) else dict(step)
        answer.update({"CommandId": command_id, "InstanceId": params["InstanceId"],
                       "DocumentName": self.sent[command_id]["DocumentName"],
                       "ResponseMetadata": {"HTTPStatusCode": 200}})
        return answer

    def list_commands(self, **params):
        self._record("list_commands", params)
        return {"Commands": []}


def server(n, name=None):
    return {"name": name if name is not None else f"app-{n}", "recovery_instance_id": iid(100 + n), "source_server_id": sid(n)}


def running(n, **kwargs):
    return instance(instance_id=iid(100 + n), state="running", **kwargs)


class Setup:
    """An AgentInstaller over a fake EC2 holding `instances` and a scripted fake SSM, with an injected clock."""

    def __init__(self, *instances, scripts=None, refuse=None):
        self.ec2, self.ec2_fake = ec2_client(*instances)
        self.ssm_fake = FakeSSMBoto(scripts, refuse)
        self.clock = FakeClock()
        self.installer = AgentInstaller(SSMClient(self.ssm_fake), self.ec2, REGION, sleep=self.clock.sleep,
                                        clock=self.clock)

    def run(self, servers, timeout=600, poll_interval=5.0):
        entries = self.installer.plan(servers)
        self.installer.send(entries, timeout)
        timed_out = self.installer.wait(entries, timeout, poll_interval)
        return entries, timed_out


class Connections:
    """What install_agents asks of its connections."""

    region = REGION

    def __init__(self, ssm_fake, ec2):
        self.ssm_fake = ssm_fake
        self.ec2 = ec2

    def client(self, service):
        assert service == "ssm"
        return self.ssm_fake

    def recovery_ec2(self):
        return self.ec2


def module_params(servers):
    return {"servers": servers, "wait_timeout": 600, "poll_interval": 5}


# --- platform, document and installer ---------------------------------------------------------------------------


@pytest.mark.parametrize("item, expected", [
    ({"Platform": "windows", "PlatformDetails": "Windows"}, "windows"),
    ({"Platform": "Windows", "PlatformDetails": "Windows with SQL Server Standard"}, "windows"),
    ({"PlatformDetails": "Linux/UNIX"}, "linux"),
    ({"PlatformDetails": "Red Hat Enterprise Linux"}, "linux"),
    ({}, "linux"),
])
def test_platform_of_reads_the_ec2_platform(item, expected):
    assert platform_of(item) == expected


def test_installer_urls_are_the_regional_drs_bucket():
    assert installer_url(REGION, "linux") == LINUX_URL
    assert installer_url(REGION, "windows") == WINDOWS_URL
    assert installer_url("ap-south-2", "linux").startswith(
        "https://aws-elastic-disaster-recovery-ap-south-2.s3.ap-south-2.amazonaws.com/")


def test_linux_installer_commands_download_and_run_the_init_installer_as_recovery_instance():
    commands = installer_commands(REGION, sid(7), "linux")
    script = "\n".join(commands)
    assert commands[0] == "set -eu", "a failed download must fail the command"
    assert f"'{LINUX_URL}'" in script
    assert f"./aws-replication-installer-init --region {REGION} --install-as-recovery-instance {sid(7)} --no-prompt" in script
    assert "AwsReplicationWindowsInstaller" not in script


def test_windows_installer_commands_download_and_run_the_exe_as_recovery_instance():
    commands = installer_commands(REGION, sid(7), "windows")
    script = "\n".join(commands)
    assert commands[0] == "$ErrorActionPreference = 'Stop'"
    assert f"-Uri '{WINDOWS_URL}'" in script
    assert f"AwsReplicationWindowsInstaller.exe\" --region {REGION} --install-as-recovery-instance {sid(7)} --no-prompt" in script
    assert commands[-1] == "exit $LASTEXITCODE", "the installer's exit code must become the command's"
    assert "aws-replication-installer-init" not in script


def test_linux_instance_gets_the_shell_document_and_the_linux_installer():
    setup = Setup(running(1, platform=None))
    entries, timed_out = setup.run([server(1)], timeout=900)
    assert not timed_out
    (entry,) = entries
    assert entry["platform"] == "linux" and entry["document"] == "AWS-RunShellScript"
    assert len(setup.ssm_fake.sent) == 1
    sent = next(iter(setup.ssm_fake.sent.values()))
    assert sent["InstanceIds"] == [iid(101)]
    assert sent["DocumentName"] == "AWS-RunShellScript"
    assert sent["Parameters"]["commands"] == installer_commands(REGION, sid(1), "linux")
    assert sent["Parameters"]["executionTimeout"] == ["900"]
    script = "\n".join(sent["Parameters"]["commands"])
    assert LINUX_URL in script and f"--region {REGION}" in script and f"--install-as-recovery-instance {sid(1)}" in script
    assert sid(1) in sent["Comment"] and len(sent["Comment"]) <= 100


def test_windows_instance_gets_the_powershell_document_and_the_windows_installer():
    windows = running(2, platform="windows")
    windows["PlatformDetails"] = "Windows"
    setup = Setup(running(1), windows)
    entries, timed_out = setup.run([server(1), server(2)])
    assert not timed_out
    by_instance = {e["instance_id"]: e for e in entries}
    assert by_instance[iid(102)]["platform"] == "windows"
    assert by_instance[iid(102)]["document"] == "AWS-RunPowerShellScript"
    assert by_instance[iid(101)]["document"] == "AWS-RunShellScript"
    sent = {params["InstanceIds"][0]: params for params in setup.ssm_fake.sent.values()}
    assert sent[iid(102)]["DocumentName"] == "AWS-RunPowerShellScript"
    script = "\n".join(sent[iid(102)]["Parameters"]["commands"])
    assert WINDOWS_URL in script and f"--region {REGION}" in script and f"--install-as-recovery-instance {sid(2)}" in script
    assert "aws-replication-installer-init" not in script
    assert sent[iid(101)]["DocumentName"] == "AWS-RunShellScript"
    assert LINUX_URL in "\n".join(sent[iid(101)]["Parameters"]["commands"])


# --- plan() refusals ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [
    {"name": "web", "source_server_id": sid(1)},
    {"name": "web", "recovery_instance_id": iid(101)},
    {"name": "web", "recovery_instance_id": "", "source_server_id": sid(1)},
])
def test_plan_refuses_a_server_without_instance_or_source_server(bad):
    setup = Setup(running(1))
    with pytest.raises(ConfigurationError) as raised:
        setup.installer.plan([bad])
    assert raised.value.server == "web"
    assert "recovery_instance_id" in raised.value.message and "source_server_id" in raised.value.message
    assert setup.ssm_fake.calls == [] and setup.ec2_fake.count() == 0


def test_plan_accepts_instance_id_instead_of_recovery_instance_id():
    setup = Setup(running(1))
    (entry,) = setup.installer.plan([{"name": "web", "instance_id": iid(101), "source_server_id": sid(1)}])
    assert entry["instance_id"] == iid(101) and entry["status"] == "WOULD_INSTALL"
    assert setup.ssm_fake.calls == []


def test_plan_refuses_an_instance_listed_twice():
    setup = Setup(running(1))
    with pytest.raises(ConfigurationError) as raised:
        setup.installer.plan([server(1), dict(server(1), name="again")])
    assert iid(101) in raised.value.message and raised.value.server == iid(101)
    assert setup.ssm_fake.calls == []


def test_plan_names_every_missing_or_not_running_instance_before_any_command():
    setup = Setup(running(1), instance(instance_id=iid(102), state="stopped"))
    with pytest.raises(ValidationError) as raised:
        setup.installer.plan([server(1), server(2), server(3)])
    error = raised.value
    assert "app-2" in error.message and "is stopped" in error.message
    assert "app-3" in error.message and f"{iid(103)} does not exist in {REGION}" in error.message
    assert "app-1" not in error.message
    assert [p["instance_id"] for p in error.details["problems"]] == [iid(102), iid(103)]
    assert "drs_install_agent=false" in error.remediation
    assert setup.ssm_fake.calls == [] and setup.ec2_fake.mutating_calls() == []


def test_plan_of_nothing_calls_nothing():
    setup = Setup()
    assert setup.installer.plan([]) == []
    assert setup.ec2_fake.count() == 0 and setup.ssm_fake.calls == []


# --- Success -----------------------------------------------------------------------------------------------------


def test_success_after_pending_and_in_progress():
    setup = Setup(running(1), scripts={iid(101): [UNKNOWN, "Pending", "InProgress", invocation("Success", stdout="done", code=0)]})
    entries, timed_out = setup.run([server(1)], poll_interval=5.0)
    assert timed_out is False
    (entry,) = entries
    assert entry["status"] == "Success" and "error" not in entry
    assert entry["response_code"] == 0 and entry["stdout"] == "done"
    assert setup.ssm_fake.count("get_command_invocation") == 4
    assert setup.clock.sleeps == [5.0, 5.0, 5.0]


def test_install_agents_reports_a_successful_instance_as_installed():
    ec2, ec2_fake = ec2_client(running(1), running(2, platform="windows"))
    ssm_fake = FakeSSMBoto({iid(101): ["Success"], iid(102): ["Success"]})
    result = install_agents(Connections(ssm_fake, ec2), module_params([server(1), server(2)]))
    assert result["installed"] == [iid(101), iid(102)]
    assert result["failed"] == [] and result["errors"] == [] and result["timed_out"] is False
    assert result["changed"] is True
    assert all(e["status"] == "Success" and "error" not in e for e in result["servers"])
    assert ssm_fake.count("send_command") == 2 and ec2_fake.mutating_calls() == []


def test_install_agents_check_mode_sends_nothing():
    ec2, ec2_fake = ec2_client(running(1))
    ssm_fake = FakeSSMBoto()
    result = install_agents(Connections(ssm_fake, ec2), module_params([server(1)]), check_mode=True)
    assert result["changed"] is True and result["installed"] == []
    assert result["servers"][0]["status"] == "WOULD_INSTALL"
    assert ssm_fake.calls == [] and ec2_fake.mutating_calls() == []


# --- Failed, TimedOut, Cancelled -----------------------------------------------------------------------------------


def test_failed_invocation_is_an_error_naming_the_instance_with_the_output_tail():
    noise = "downloading...\n" * 300
    stderr = noise + "curl: (28) Failed to connect to aws-elastic-disaster-recovery-eu-west-1.s3 port 443"
    setup = Setup(running(1), scripts={iid(101): ["InProgress", invocation("Failed", stdout="x" * 50, stderr=stderr, code=1)]})
    entries, timed_out = setup.run([server(1, name="web-1")])
    assert timed_out is False
    (entry,) = entries
    assert entry["status"] == "Failed"
    error = entry["error"]
    assert error["error"] == "AgentInstallationError"
    assert error["server"] == "web-1"
    assert f"web-1 ({iid(101)})" in error["message"]
    assert "ended Failed" in error["message"] and "exit code 1" in error["message"]
    assert error["message"].rstrip(".").endswith("port 443"), "the end of stderr is in the message"
    assert error["remediation"] == agent.REMEDIATION_FAILED
    assert "https://aws-elastic-disaster-recovery-<region>" in error["remediation"] and "drs_agent_timeout" not in error["remediation"]
    assert error["cause"] == "Failed"
    details = error["details"]
    assert details["instance_id"] == iid(101) and details["source_server_id"] == sid(1)
    assert details["command_id"] == entry["command_id"] and details["status"] == "Failed"
    assert len(details["stderr"]) == agent.OUTPUT_TAIL and details["stderr"] == stderr[-agent.OUTPUT_TAIL:]
    assert details["stdout"] == "x" * 50


def test_failed_invocation_without_stderr_reports_stdout():
    setup = Setup(running(1), scripts={iid(101): [invocation("Failed", stdout="installer: cannot reach DRS endpoint", code=3)]})
    (entry,), _timed_out = setup.run([server(1)])
    assert "installer: cannot reach DRS endpoint" in entry["error"]["message"]
    assert "exit code 3" in entry["error"]["message"]


def test_install_agents_fails_the_step_with_the_failed_instance():
    ec2, ec2_fake = ec2_client(running(1), running(2))
    ssm_fake = FakeSSMBoto({iid(101): ["Success"], iid(102): [invocation("Failed", stderr="boom", code=1)]})
    with pytest.raises(StepFailed) as raised:
        install_agents(Connections(ssm_fake, ec2), module_params([server(1), server(2)]))
    result = raised.value.result
    assert result["installed"] == [iid(101)] and result["failed"] == [iid(102)]
    assert [e["server"] for e in result["errors"]] == ["app-2"]
    summary = raised.value.error
    assert "1 of 2" in summary.message and agent.REMEDIATION_FAILED in summary.message
    assert summary.server == "app-2"
    assert ec2_fake.mutating_calls() == []


def test_ssm_timed_out_invocation_is_an_error_with_the_timeout_remediation():
    setup = Setup(running(1), scripts={iid(101): ["InProgress", invocation("TimedOut", details="ExecutionTimedOut")]})
    entries, timed_out = setup.run([server(1)])
    assert timed_out is False, "SSM's own timeout is a final status, not the installer's wait timing out"
    (entry,) = entries
    assert entry["status"] == "TimedOut"
    error = entry["error"]
    assert error["remediation"] == agent.REMEDIATION_TIMEOUT and "raise drs_agent_timeout" in error["remediation"]
    assert error["cause"] == "TimedOut"
    assert "ended TimedOut" in error["message"] and "ExecutionTimedOut" in error["message"]
    assert error["server"] == "app-1" and iid(101) in error["message"]


@pytest.mark.parametrize("script", [
    ["Cancelled"],
    ["InProgress", "Cancelling", "Cancelling", "Cancelled"],
], ids=["cancelled", "cancelling-then-cancelled"])
def test_cancelled_invocation_is_final_and_a_failure(script):
    setup = Setup(running(1), scripts={iid(101): script})
    entries, timed_out = setup.run([server(1)])
    assert timed_out is False
    (entry,) = entries
    assert entry["status"] == "Cancelled"
    assert setup.ssm_fake.count("get_command_invocation") == len(script), "Cancelling is polled again, Cancelled is not"
    error = entry["error"]
    assert "ended Cancelled" in error["message"] and iid(101) in error["message"]
    assert error["cause"] == "Cancelled" and error["remediation"] == agent.REMEDIATION_FAILED


# --- the installer's own wait timeout -----------------------------------------------------------------------------


def test_wait_timeout_while_in_progress_times_out_with_an_error():
    setup = Setup(running(1), scripts={iid(101): ["Pending", "InProgress"]})
    entries = setup.installer.plan([server(1)])
    setup.installer.send(entries, 60)
    started = setup.clock.now
    assert setup.installer.wait(entries, timeout_seconds=60, poll_interval=5.0) is True
    (entry,) = entries
    assert entry["status"] == "InProgress"
    error = entry["error"]
    assert "still InProgress after 60 s" in error["message"] and entry["command_id"] in error["message"]
    assert error["remediation"] == agent.REMEDIATION_TIMEOUT and "raise drs_agent_timeout" in error["remediation"]
    assert error["cause"] == "Timeout"
    assert error["server"] == "app-1"
    assert setup.clock.now - started <= 60, "no wait past the timeout"
    assert setup.clock.sleeps and set(setup.clock.sleeps) == {5.0}
    assert setup.ssm_fake.count("get_command_invocation") == len(setup.clock.sleeps) + 1


def test_wait_timeout_while_ssm_does_not_know_the_invocation_yet():
    setup = Setup(running(1), scripts={iid(101): [UNKNOWN]})
    entries, timed_out = setup.run([server(1)], timeout=30, poll_interval=10.0)
    assert timed_out is True
    (entry,) = entries
    assert entry["status"] == "Pending"
    assert "still Pending after 30 s" in entry["error"]["message"]


def test_wait_keeps_polling_the_slow_instance_only():
    setup = Setup(running(1), running(2), scripts={iid(101): ["Success"], iid(102): ["InProgress"] * 3 + ["Success"]})
    entries, timed_out = setup.run([server(1), server(2)])
    assert timed_out is False
    assert [e["status"] for e in entries] == ["Success", "Success"]
    polled = [params["InstanceId"] for op, params in setup.ssm_fake.calls if op == "get_command_invocation"]
    assert polled.count(iid(101)) == 1 and polled.count(iid(102)) == 4


def test_wait_timeout_still_reports_an_invocation_that_already_failed():
    setup = Setup(running(1), running(2), scripts={iid(101): [invocation("Failed", stderr="boom", code=1)], iid(102): ["InProgress"]})
    entries, timed_out = setup.run([server(1), server(2)], timeout=20, poll_interval=5.0)
    assert timed_out is True
    by_instance = {e["instance_id"]: e for e in entries}
    assert by_instance[iid(102)]["error"]["cause"] == "Timeout"
    assert by_instance[iid(101)]["status"] == "Failed"
    assert by_instance[iid(101)].get("error"), "a Failed invocation must not vanish from failed/errors"


# --- SendCommand refusals ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code, remediation", [
    ("AccessDeniedException", agent.REMEDIATION_DENIED),
    ("InvalidInstanceId", agent.REMEDIATION_NOT_MANAGED),
])
def test_refused_send_is_recorded_on_its_entry_and_the_others_still_run(code, remediation):
    refusal = client_error(code, message="refused by SSM", operation="SendCommand")
    setup = Setup(running(1), running(2), refuse={iid(101): refusal})
    entries, timed_out = setup.run([server(1), server(2)])
    assert timed_out is False
    first, second = entries
    assert first["status"] == "NotSent" and "command_id" not in first
    assert first["error"]["remediation"] == remediation and first["error"]["cause"] == code
    assert f"SSM refused the command ({code}): refused by SSM" in first["error"]["message"]
    assert second["status"] == "Success" and "error" not in second
    polled = [params["InstanceId"] for op, params in setup.ssm_fake.calls if op == "get_command_invocation"]
    assert polled == [iid(102)]
