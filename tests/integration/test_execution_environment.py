"""The execution environment for AWX/AAP (execution-environment.yml): `ansible-builder create` writes its build
context offline, the Containerfile installs amazon.aws and then the collection tarball, and the builder stage's
introspection finds the collection's own requirements through meta/execution-environment.yml.

No container engine is needed: `create` only writes files. Network access would fail the test (the proxies point
at a closed port)."""
import os
import shutil
import subprocess
import sys
import tarfile

import pytest
import yaml
from packaging.requirements import Requirement

from .helpers import ROOT

BIN = os.path.dirname(sys.executable)
GALAXY = yaml.safe_load(open(os.path.join(ROOT, "galaxy.yml"), encoding="utf-8"))
TARBALL = f"{GALAXY['namespace']}-{GALAXY['name']}-{GALAXY['version']}.tar.gz"


def _env():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "AWS_")) and k != "PYTHONPATH"}
    closed = "http://127.0.0.1:9"
    env.update({"HTTP_PROXY": closed, "HTTPS_PROXY": closed, "http_proxy": closed, "https_proxy": closed,
                "NO_PROXY": "", "no_proxy": "", "ANSIBLE_COLLECTIONS_PATH": os.devnull})
    return env


def _run(args, cwd):
    proc = subprocess.run(args, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def _lines(path):
    with open(path, encoding="utf-8") as handle:
        return [line.strip() for line in handle if line.strip() and not line.startswith("#")]


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    """The build context made from a copy of the definition and the files it names, as the README says:
    collection tarball into build/dist, then `ansible-builder create`."""
    work = tmp_path_factory.mktemp("ee")
    definition = yaml.safe_load(open(os.path.join(ROOT, "execution-environment.yml"), encoding="utf-8"))
    named = [definition["dependencies"][kind] for kind in ("galaxy", "python", "system")]
    for name in ["execution-environment.yml"] + named:
        shutil.copy(os.path.join(ROOT, name), work / name)
    _run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--force", "--output-path",
          str(work / "build" / "dist"), ROOT], cwd=str(work))
    _run([os.path.join(BIN, "ansible-builder"), "create", "-f", "execution-environment.yml", "-c", "context",
          "--output-filename", "Containerfile"], cwd=str(work))
    return work


def test_definition_is_version_3_with_the_collection_dependencies():
    definition = yaml.safe_load(open(os.path.join(ROOT, "execution-environment.yml"), encoding="utf-8"))
    assert definition["version"] == 3
    deps = definition["dependencies"]
    assert (deps["galaxy"], deps["python"], deps["system"]) == ("requirements.yml", "requirements.txt", "bindep.txt")
    collection = yaml.safe_load(open(os.path.join(ROOT, "meta", "execution-environment.yml"), encoding="utf-8"))
    assert collection["dependencies"] == {"python": "requirements.txt", "system": "bindep.txt"}


def test_python_requirements_are_ranges_that_the_pinned_versions_satisfy():
    pins = dict(line.split("==", 1) for line in _lines(os.path.join(ROOT, "requirements", "dev.txt")) if "==" in line)
    requirements = {Requirement(line).name: Requirement(line) for line in _lines(os.path.join(ROOT, "requirements.txt"))}
    assert set(requirements) == {"boto3", "botocore"}
    for name, requirement in requirements.items():
        assert "==" not in str(requirement.specifier), requirement  # a range, not a pin
        assert requirement.specifier.contains(pins[name]), (requirement, pins[name])


def test_create_writes_the_build_context(context):
    build = context / "context" / "_build"
    assert (build / "requirements.txt").read_text() == open(os.path.join(ROOT, "requirements.txt")).read()
    assert (build / "bindep.txt").read_text() == open(os.path.join(ROOT, "bindep.txt")).read()
    galaxy = yaml.safe_load((build / "requirements.yml").read_text())
    assert [c["name"] for c in galaxy["collections"]] == ["amazon.aws"]
    assert (build / "collections" / TARBALL).is_file()

    containerfile = (context / "context" / "Containerfile").read_text()
    steps = containerfile.splitlines()
    galaxy_install = next(i for i, s in enumerate(steps) if "ansible-galaxy collection install" in s
                          and "-r requirements.yml" in s)
    collection_install = next(i for i, s in enumerate(steps) if "ansible-galaxy collection install --offline" in s)
    assert galaxy_install < collection_install  # amazon.aws first: the tarball's dependency is then satisfied
    assert "/build/collections/elasticdr-orchestration-*.tar.gz" in steps[collection_install]
    assert "COPY _build /build" in steps
    introspect = next(s for s in steps if "introspect.py introspect" in s)
    assert "--user-pip=requirements.txt" in introspect and "--user-bindep=bindep.txt" in introspect
    assert 'ARG PYCMD="/usr/bin/python3.12"' in steps
    assert any(s.startswith("ARG ANSIBLE_INSTALL_REFS=") and "ansible-core" in s and "ansible-runner" in s
               for s in steps)


def test_the_tarball_carries_the_collection_and_its_requirements(context):
    with tarfile.open(context / "context" / "_build" / "collections" / TARBALL) as tar:
        names = set(tar.getnames())
    for member in ("MANIFEST.json", "meta/execution-environment.yml", "meta/runtime.yml", "requirements.txt",
                   "bindep.txt", "playbooks/failover.yml", "plugins/modules/drs_recovery.py", "roles/drs/tasks/main.yml"):
        assert member in names, member
    assert not any(n.startswith(("simulator/", "build/", ".venv/")) for n in names)


def test_builder_introspection_finds_the_collection_requirements(context, tmp_path):
    """The builder stage's step, run here on the collection installed from the tarball (offline, no deps)."""
    build = context / "context" / "_build"
    _run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "--offline", "--no-deps", "-p",
          str(tmp_path / "collections"), str(build / "collections" / TARBALL)], cwd=str(tmp_path))
    _run([sys.executable, str(build / "scripts" / "introspect.py"), "introspect", str(tmp_path / "collections"),
          "--user-pip=requirements.txt", "--user-bindep=bindep.txt", f"--write-pip={tmp_path / 'pip.txt'}",
          f"--write-bindep={tmp_path / 'bindep.txt'}"], cwd=str(build))
    pip = (tmp_path / "pip.txt").read_text().splitlines()
    bindep = (tmp_path / "bindep.txt").read_text().splitlines()
    for line in _lines(os.path.join(ROOT, "requirements.txt")):
        assert f"{line}  # from collection elasticdr.orchestration" in pip
    for line in _lines(os.path.join(ROOT, "bindep.txt")):
        assert f"{line}  # from collection elasticdr.orchestration" in bindep
