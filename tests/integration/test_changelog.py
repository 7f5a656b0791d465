"""The changelog is kept as antsibull-changelog fragments: `antsibull-changelog lint` accepts every fragment, and a
release made from them (on a copy) carries every entry into CHANGELOG.rst."""
import os
import shutil
import subprocess
import sys

import yaml

from .helpers import ROOT

BIN = os.path.dirname(sys.executable)
FRAGMENTS = os.path.join(ROOT, "changelogs", "fragments")


def _run(args, cwd):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_") and k != "PYTHONPATH"}
    env["PATH"] = BIN + os.pathsep + env.get("PATH", "")
    return subprocess.run([os.path.join(BIN, "antsibull-changelog")] + args, cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_antsibull_changelog_lint_accepts_the_fragments():
    proc = _run(["lint"], ROOT)
    assert proc.returncode == 0 and proc.stdout.strip() == "", proc.stdout + proc.stderr


def test_a_release_carries_every_fragment_into_the_changelog(tmp_path):
    copy = tmp_path / "collection"
    for tree in ("changelogs", "meta", "plugins"):
        shutil.copytree(os.path.join(ROOT, tree), copy / tree,
                        ignore=shutil.ignore_patterns(".plugin-cache.yaml", "__pycache__"))
    shutil.copy(os.path.join(ROOT, "galaxy.yml"), copy / "galaxy.yml")
    version = yaml.safe_load(open(os.path.join(ROOT, "galaxy.yml"), encoding="utf-8"))["version"]
    proc = _run(["release", "--version", version, "--date", "2026-01-01"], str(copy))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    changelog = " ".join((copy / "CHANGELOG.rst").read_text().split())
    # .yml/.yaml only (ignore_other_fragment_extensions: the directory also holds .keep)
    for name in sorted(n for n in os.listdir(FRAGMENTS) if n.endswith((".yml", ".yaml"))):
        with open(os.path.join(FRAGMENTS, name), encoding="utf-8") as handle:
            sections = yaml.safe_load(handle)
        for section, entries in sections.items():
            if section == "trivial":  # never shown
                continue
            for entry in [entries] if isinstance(entries, str) else entries:
                assert " ".join(entry.split()) in changelog, (name, section, entry[:80])
