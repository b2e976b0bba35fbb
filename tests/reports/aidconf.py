"""Fixtures and helpers for the aid-side report tests (imported by their modules; tests/reports/conftest.py is
the ledger-only fixtures')."""

from __future__ import annotations

import csv
import io
import json

import pypdf
import pytest

from charity.reports import REPORTS, render_report, resolve_params

from .aidyear import make_year


def render(book, name, fmt="csv", **options) -> bytes:
    cls = REPORTS[name]
    out = io.BytesIO()
    render_report(book=book, report=cls, params=resolve_params(cls, book, **options), fmt=fmt, out=out)
    return out.getvalue()


def csv_rows(book, name, **options) -> list[dict]:
    return list(csv.DictReader(io.StringIO(render(book, name, "csv", **options).decode("utf-8-sig"))))


def json_doc(book, name, **options) -> dict:
    return json.loads(render(book, name, "json", **options))


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


@pytest.fixture
def year(db, officer, approver):
    return make_year(officer, approver)
