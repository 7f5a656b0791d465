"""`make docs`: antsibull-docs writes the module reference from the modules' own documentation, offline, with a page
per module (its short description and every option it documents), per role and for the inventory plugin, and an
index that lists every module."""
import ast
import os
import subprocess

import pytest
import yaml

from .helpers import ROOT

FQCN = "elasticdr.orchestration"
MODULES = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, "plugins", "modules")) if f.endswith(".py"))
ROLES = sorted(os.listdir(os.path.join(ROOT, "roles")))


def _documentation(module):
    source = open(os.path.join(ROOT, "plugins", "modules", module + ".py"), encoding="utf-8").read()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "DOCUMENTATION":
            return yaml.safe_load(ast.literal_eval(node.value))
    raise AssertionError(f"{module} has no DOCUMENTATION")


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """`make docs` into a directory of this test (`-o venv`: the virtual environment is taken as it is)."""
    dest = tmp_path_factory.mktemp("reference") / "docs"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_") and k != "MAKEFLAGS"}
    proc = subprocess.run(["make", "-s", "-o", "venv", "docs", f"DOCS_DIR={dest}"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return dest / "collections", proc.stderr


def test_a_page_per_module_with_its_options(reference):
    pages, _log = reference
    for module in MODULES:
        page = pages / "elasticdr" / "orchestration" / f"{module}_module.rst"
        assert page.is_file(), module
        text = page.read_text()
        doc = _documentation(module)
        # the title, with reStructuredText's escapes (launch\-into) taken out
        assert f"{FQCN}.{module} module -- {doc['short_description']}" in text.replace("\\", ""), module
        assert "malformed" not in text, module
        for option in doc.get("options") or {}:
            assert f".. _ansible_collections.{FQCN}.{module}_module__parameter-{option}:" in text, (module, option)
        assert "Examples\n--------" in text and "Return Values\n-------------" in text, module


def test_the_index_lists_every_module_and_the_inventory_plugin_has_a_page(reference):
    pages, _log = reference
    index = (pages / "index_module.rst").read_text()
    for module in MODULES:
        assert f":ansplugin:`{FQCN}.{module}#module`" in index, module
    inventory = (pages / "elasticdr" / "orchestration" / "drs_inventory.rst").read_text()
    assert f"{FQCN}.drs inventory" in inventory and "malformed" not in inventory


def test_a_page_per_role(reference):
    pages, _log = reference
    for role in ROLES:
        assert (pages / "elasticdr" / "orchestration" / f"{role}_role.rst").is_file(), role


def test_no_page_is_an_error_page(reference):
    pages, log = reference
    malformed = [p.name for p in (pages / "elasticdr" / "orchestration").iterdir() if "malformed" in p.read_text()]
    assert malformed == [] and "did not return correct DOCUMENTATION" not in log, log
