"""docs/formats.md keeps up with the code: every report, every import kind and every column of each kind is
documented there, and a required column is marked so. A new report or column without its documentation fails
here, not in a user's script."""

import re
from pathlib import Path

import pytest

from charity.importers import KINDS, importer_class
from charity.reports import REPORTS

FORMATS = Path(__file__).resolve().parents[1] / "docs" / "formats.md"


@pytest.fixture(scope="module")
def formats() -> str:
    return FORMATS.read_text(encoding="utf-8")


def _section(text: str, heading: str) -> str:
    start = text.index(f"\n{heading}\n")
    following = re.search(r"\n#{2,3} ", text[start + len(heading) + 2:])
    return text[start: start + len(heading) + 2 + following.start()] if following else text[start:]


def test_every_report_is_documented(formats):
    columns = _section(formats, "### Columns of each report")
    for name in REPORTS:
        assert f"| `{name}` |" in columns, f"report {name} has no row in docs/formats.md"


def test_every_import_column_is_documented(formats):
    for kind in KINDS:
        section = _section(formats, f"### {kind}")
        importer = importer_class(kind)
        rows = dict(re.findall(r"^\| `(\w+)` \| ([^|]+) \|", section, re.M))
        assert set(rows) == set(importer.required) | set(importer.optional), kind
        for column in importer.required:
            assert rows[column].startswith("yes"), f"{kind}.{column} is required"
        for column in importer.optional:
            assert not rows[column].startswith("yes"), f"{kind}.{column} is optional"
