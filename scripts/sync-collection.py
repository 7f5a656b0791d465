#!/usr/bin/env python3
"""Mirror the collection into build/ansible_collections/<namespace>/<name>/ for ansible-test.

ansible-test only runs from inside <root>/ansible_collections/<namespace>/<name>/, and it
resolves real paths, so a symlink to the repository root does not do. This script keeps a
copy there instead (run it before every sanity/lint run; only changed files are rewritten):

* the files are those git knows or would add: `git ls-files --cached --others
  --exclude-standard` (tracked plus untracked-but-not-ignored), less what is not collection
  content (EXCLUDE below); files that vanished from the repository vanish from the copy;
* the copy gets its own `git init`: ansible-test lists a collection's files with git, and
  the enclosing repository ignores build/, so without it ansible-test would see no files;
* amazon.aws goes beside it, at build/ansible_collections/amazon/aws, as a symlink to the
  copy that the `ansible` wheel installed in the virtual environment running this script.

Usage: python scripts/sync-collection.py [BUILD_ROOT]   (default: build)
Prints the path of the collection copy.
"""

from __future__ import annotations

import filecmp
import importlib.util
import os
import shutil
import subprocess
import sys

import yaml

# Not collection content: the simulator, its tests and the helper scripts (all in galaxy.yml's
# build_ignore too), the virtual environment, build output and pytest-ansible's generated tree.
EXCLUDE_PREFIXES = (
    "simulator/",
    "scripts/",
    "benchmarks/",
    "tests/simulator/",
    # pytest suites that drive ansible-playbook against the simulator (make test runs them); not
    # ansible-test integration targets, and they import the simulator's test helpers.
    "tests/integration/",
    "tests/output/",
    ".venv/",
    "build/",
    "collections/ansible_collections/",
)
EXCLUDE_FILES = {
    "tests/simlib.py",
    "tests/conftest.py",
}
# Kept in the copy between runs: its git metadata and ansible-test's output (virtual
# environments and caches make warm runs fast).
KEEP_IN_COPY = (".git", "tests/output")


def repo_files(src: str) -> list[str]:
    """Tracked and untracked-but-not-ignored files, relative to src, that still exist."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=src, check=True, capture_output=True,
    ).stdout.decode("utf-8", "surrogateescape")
    files = []
    for rel in sorted(set(filter(None, out.split("\0")))):
        if rel.startswith(EXCLUDE_PREFIXES) or rel in EXCLUDE_FILES:
            continue
        if os.path.lexists(os.path.join(src, rel)):
            files.append(rel)
    return files


def same(src: str, dst: str) -> bool:
    if os.path.islink(src) or os.path.islink(dst):
        return os.path.islink(src) and os.path.islink(dst) and os.readlink(src) == os.readlink(dst)
    if not os.path.isfile(dst):
        return False
    if (os.stat(src).st_mode & 0o777) != (os.stat(dst).st_mode & 0o777):
        return False
    return filecmp.cmp(src, dst, shallow=False)


def copy(src: str, dst: str) -> None:
    if os.path.isdir(dst) and not os.path.islink(dst):
        shutil.rmtree(dst)
    elif os.path.lexists(dst):
        os.unlink(dst)
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    if os.path.islink(src):
        os.symlink(os.readlink(src), dst)
    else:
        shutil.copy2(src, dst)


def prune(dst_root: str, wanted: set[str]) -> int:
    """Remove files of the copy that the repository no longer has, then empty directories."""
    removed = 0
    for dirpath, dirnames, filenames in os.walk(dst_root, topdown=True):
        rel_dir = os.path.relpath(dirpath, dst_root)
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        dirnames[:] = [d for d in dirnames if (rel_dir + d) not in KEEP_IN_COPY and d != "__pycache__"]
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            if rel_dir + name not in wanted:
                os.unlink(os.path.join(dirpath, name))
                removed += 1
    for dirpath, _dirnames, _filenames in os.walk(dst_root, topdown=False):
        rel = os.path.relpath(dirpath, dst_root)
        if rel != "." and not rel.startswith(KEEP_IN_COPY) and not os.listdir(dirpath):
            os.rmdir(dirpath)
    return removed


def link_amazon_aws(build_root: str) -> None:
    spec = importlib.util.find_spec("ansible_collections.amazon.aws")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("amazon.aws is not installed in this Python (it comes with the `ansible` wheel)")
    target = list(spec.submodule_search_locations)[0]
    link = os.path.join(build_root, "ansible_collections", "amazon", "aws")
    if os.path.islink(link) and os.readlink(link) == target:
        return
    if os.path.lexists(link):
        if os.path.isdir(link) and not os.path.islink(link):
            shutil.rmtree(link)
        else:
            os.unlink(link)
    os.makedirs(os.path.dirname(link), exist_ok=True)
    os.symlink(target, link)


def main() -> None:
    src = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    build_root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(src, "build"))
    with open(os.path.join(src, "galaxy.yml"), encoding="utf-8") as handle:
        galaxy = yaml.safe_load(handle)
    dst_root = os.path.join(build_root, "ansible_collections", galaxy["namespace"], galaxy["name"])
    os.makedirs(dst_root, exist_ok=True)

    files = repo_files(src)
    copied = 0
    for rel in files:
        s, d = os.path.join(src, rel), os.path.join(dst_root, rel)
        if not same(s, d):
            copy(s, d)
            copied += 1
    removed = prune(dst_root, set(files))

    if not os.path.isdir(os.path.join(dst_root, ".git")):
        subprocess.run(["git", "init", "--quiet", dst_root], check=True)
    # Belt and braces: ansible-test must never list its own output (virtual environments).
    with open(os.path.join(dst_root, ".git", "info", "exclude"), "w", encoding="utf-8") as handle:
        handle.write("tests/output/\n")

    link_amazon_aws(build_root)
    print(f"synced {len(files)} files ({copied} copied, {removed} removed) -> {dst_root}", file=sys.stderr)
    print(dst_root)


if __name__ == "__main__":
    main()
