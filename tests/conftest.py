"""Shared pytest set-up: the simulator package and the collection are importable from the repository.

The collection is reached as ansible_collections.elasticdr.orchestration through a symlink tree under
build/collections (created here when missing), so unit tests import the live files.
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, "build", "collections")


def _link_collection():
    parent = os.path.join(COLLECTIONS, "ansible_collections", "elasticdr")
    link = os.path.join(parent, "orchestration")
    os.makedirs(parent, exist_ok=True)
    if not os.path.islink(link):
        try:
            os.symlink(os.path.relpath(ROOT, parent), link)
        except FileExistsError:  # another xdist worker made it first
            pass


_link_collection()
for path in (os.path.join(ROOT, "simulator"), os.path.join(ROOT, "tests"), COLLECTIONS):
    if path not in sys.path:
        sys.path.insert(0, path)
os.environ.setdefault("ANSIBLE_COLLECTIONS_PATH", COLLECTIONS)
