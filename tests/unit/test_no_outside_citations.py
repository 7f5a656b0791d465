"""The project cites only itself and AWS: no tracked file points at a document outside the repository, and every
"docs/DRS_BEHAVIOUR.md section N" names a section that docs/DRS_BEHAVIOUR.md has.

A reader of the repository (or of the collection built from it) cannot follow a reason that lives outside it, so
the DRS rules the code relies on are written down in docs/DRS_BEHAVIOUR.md, with their AWS sources, and cited by
section number. This test reads the files git tracks (the CI tooling under .ci/ excepted).
"""
import os
import re
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REFERENCE = "docs/DRS_BEHAVIOUR.md"
# Built from parts so that this file does not contain what it forbids.
FORBIDDEN = ("drs-service" + "-facts", ".." + "/shared/")
EXCLUDED_DIRS = (".ci/",)
# The section numbers a citation of the old outside document used, which keep their meaning here.
REQUIRED_SECTIONS = {str(n) for n in range(1, 11)} | {"9a", "9b"}

SECTION_HEADING = re.compile(r"^## (\d+[a-z]?)\. \S", re.MULTILINE)
# "docs/DRS_BEHAVIOUR.md section 4", "... sections 2 and 5", "... sections 1, 2 and 9a", "DRS_BEHAVIOUR.md,
# section 6", a Markdown link "[DRS_BEHAVIOUR.md](DRS_BEHAVIOUR.md) section 10", and a citation that a line break
# (with a comment's "#") splits.
CITATION = re.compile(
    r"DRS_BEHAVIOUR\.md(?:\]\([^)\s]*\))?\)?,?[\s#]+[Ss]ections?[\s#]+"
    r"(\d+[a-z]?(?:(?:\s*,\s*(?:and\s+)?|\s+and\s+|\s*&\s*|\s+or\s+)\d+[a-z]?)*)"
)
NUMBER = re.compile(r"\d+[a-z]?")


def cited_sections(text):
    """[(section, offset)] for every section number cited from DRS_BEHAVIOUR.md in text."""
    found = []
    for match in CITATION.finditer(text):
        for number in NUMBER.finditer(match.group(1)):
            found.append((number.group(0), match.start(1) + number.start()))
    return found


def reference_sections():
    with open(os.path.join(ROOT, REFERENCE), encoding="utf-8") as handle:
        return set(SECTION_HEADING.findall(handle.read()))


def tracked_files():
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the tracked files cannot be listed")
    names = [name for name in out.decode("utf-8").split("\0") if name]
    return [name for name in names if not name.startswith(EXCLUDED_DIRS) and os.path.isfile(os.path.join(ROOT, name))]


def read_text(name):
    try:
        with open(os.path.join(ROOT, name), encoding="utf-8") as handle:
            return handle.read()
    except UnicodeDecodeError:
        return None  # a binary file cites nothing


def line_of(text, offset):
    return text.count("\n", 0, offset) + 1


@pytest.mark.parametrize("text, expected", [
    ("(docs/DRS_BEHAVIOUR.md section 4)", ["4"]),
    ("docs/DRS_BEHAVIOUR.md sections 2 and 5: limits", ["2", "5"]),
    ("docs/DRS_BEHAVIOUR.md sections 1, 2 and 9a.", ["1", "2", "9a"]),
    ("docs/DRS_BEHAVIOUR.md section 7, step 2", ["7"]),
    ("docs/DRS_BEHAVIOUR.md section 4, rule 4", ["4"]),
    ("(docs/DRS_BEHAVIOUR.md, section 6).", ["6"]),
    ("i.e. the target (docs/DRS_BEHAVIOUR.md\nsection 4), so", ["4"]),
    ("# rule (docs/DRS_BEHAVIOUR.md\n# section 9b).", ["9b"]),
    ("[DRS_BEHAVIOUR.md](DRS_BEHAVIOUR.md) section 10 lists", ["10"]),
    ("see docs/DRS_BEHAVIOUR.md for the rules", []),
])
def test_citation_parser_reads_every_form_used(text, expected):
    assert [cited[0] for cited in cited_sections(text)] == expected


def test_reference_keeps_the_section_numbers():
    missing = REQUIRED_SECTIONS - reference_sections()
    assert not missing, f"{REFERENCE} lacks the section(s) {', '.join(sorted(missing))} (headings '## N. Title')"


def test_no_tracked_file_cites_a_document_outside_the_repository():
    offenders = []
    for name in tracked_files():
        text = read_text(name)
        if text is None:
            continue
        for needle in FORBIDDEN:
            start = text.find(needle)
            while start != -1:
                offenders.append(f"{name}:{line_of(text, start)}: {needle}")
                start = text.find(needle, start + 1)
    assert not offenders, (
        "cite AWS documentation or docs/DRS_BEHAVIOUR.md (with its section) instead of an outside document:\n"
        + "\n".join(offenders))


def test_every_cited_section_exists():
    sections = reference_sections()
    wrong = []
    for name in tracked_files():
        text = read_text(name)
        if text is None:
            continue
        for number, offset in cited_sections(text):
            if number not in sections:
                wrong.append(f"{name}:{line_of(text, offset)}: section {number}")
    assert not wrong, (f"these citations name sections {REFERENCE} does not have "
                       f"(it has {', '.join(sorted(sections, key=lambda s: (int(s.rstrip('ab')), s)))}):\n"
                       + "\n".join(wrong))
