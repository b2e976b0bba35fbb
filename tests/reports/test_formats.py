"""The three formats: CSV (BOM, formula injection, numeric negatives), JSON (meta, fixed order), PDF (audit
header and footer, Chinese text extracts back), and byte-identical output for the same books and parameters."""

import datetime as dt
import io
import json

import pypdf
import pytest
from django.utils import timezone
from hypothesis import given, settings, strategies as st

from charity.reports import REPORTS
from charity.reports.base import Column, ReportData
from charity.reports.writers import csv_cell, neutralise, write_csv, write_json
from ledger import selectors
from ledger.models import JournalEntry

from .conftest import D, worked_example

ALL = {
    "trial-balance": {"as_of": D(2026, 11, 29)},
    "financial-position": {"as_of": D(2026, 11, 29)},
    "activities": {"year": 2026},
    "fund-balances": {"year": 2026},
    "journal": {"year": 2026},
    "general-ledger": {"date_from": D(2025, 12, 1), "date_to": D(2026, 6, 30)},
}


@pytest.fixture
def year(books):
    worked_example(books)
    return books


@pytest.mark.parametrize("name", ALL)
def test_same_books_same_bytes(year, name):
    for fmt in ("csv", "json", "pdf"):
        first = year.report(name, fmt, **ALL[name])
        second = year.report(name, fmt, **ALL[name])
        assert first == second, (name, fmt)


def test_pdf_states_the_audit_facts_and_chinese_extracts(year):
    count, head_hash = selectors.head(year.book)
    created = timezone.localtime(JournalEntry.objects.get(book=year.book, sequence=count).created_at)
    for name, options in ALL.items():
        data = year.report(name, "pdf", **options)
        reader = pypdf.PdfReader(io.BytesIO(data))
        text = "\n".join(page.extract_text() for page in reader.pages)
        cls = REPORTS[name]
        assert cls.title in text and "春蕾慈善信托" in text, name
        assert head_hash in text and f"分录数 Entries {count}" in text, name
        assert created.strftime("%Y-%m-%d %H:%M:%S") in text, name
        assert f"page 1 of {len(reader.pages)}" in text, name
    text = pypdf.PdfReader(io.BytesIO(year.report("trial-balance", "pdf", as_of=D(2026, 11, 29)))).pages[0].extract_text()
    assert "截至 As of 2026-11-29" in text and "捐赠收入—限定性" in text and "40,700.00" in text
    text = pypdf.PdfReader(io.BytesIO(year.report("fund-balances", "pdf", year=2026, fund="SMILE"))).pages[0].extract_text()
    assert "期间 Period 2026-01-01 – 2026-12-31" in text and "基金 Fund SMILE 微笑礼包专项资金" in text


def test_json_meta(year):
    doc = year.json("activities", year=2026)
    count, head_hash = selectors.head(year.book)
    created = JournalEntry.objects.get(book=year.book, sequence=count).created_at
    assert list(doc) == ["meta", "columns", "rows", "totals", "summary", "notes"]
    meta = doc["meta"]
    assert list(meta) == ["trust", "trust_name", "report", "title", "title_en", "parameters", "currency",
                          "entry_count", "head_hash", "generated_at"]
    assert meta["trust"] == "T1" and meta["report"] == "activities" and meta["currency"] == "CNY"
    assert meta["parameters"] == {"from": "2026-01-01", "to": "2026-12-31"}
    assert (meta["entry_count"], meta["head_hash"]) == (count, head_hash)
    assert dt.datetime.fromisoformat(meta["generated_at"]) == created.replace(microsecond=0)
    assert year.json("trial-balance", as_of=D(2026, 1, 1), fund="GEN")["meta"]["parameters"] == {
        "as_of": "2026-01-01", "fund": "GEN"
    }


def test_generated_at_of_an_empty_book_is_the_report_date(books):
    meta = books.json("trial-balance", as_of=D(2025, 6, 30))["meta"]
    assert (meta["entry_count"], meta["head_hash"]) == (0, "-")
    assert meta["generated_at"] == "2025-06-30T00:00:00+08:00"
    rows = books.csv("trial-balance", as_of=D(2025, 6, 30))
    assert [list(r.values()) for r in rows] == [["TOTAL", "合计", "", "0.00", "0.00"]]


def test_formula_injection_is_neutralised_in_csv_only(year):
    year.move(D(2026, 6, 1), '=HYPERLINK("http://evil.example","click")', "100201", "410101", "GEN", "1")
    year.move(D(2026, 6, 2), "+cmd|' /C calc'!A0", "100201", "410101", "GEN", "1")
    year.move(D(2026, 6, 3), "@SUM(1+1)", "100201", "410101", "GEN", "1")
    year.move(D(2026, 6, 4), "-2+3", "100201", "410101", "GEN", "1")
    memos = [r["memo"] for r in year.csv("journal", date_from=D(2026, 6, 1), date_to=D(2026, 6, 4))]
    assert memos[:-1:2] == ["'=HYPERLINK(\"http://evil.example\",\"click\")", "'+cmd|' /C calc'!A0", "'@SUM(1+1)",
                            "'-2+3"]
    gl = [r["memo"] for r in year.csv("general-ledger", date_from=D(2026, 6, 1), date_to=D(2026, 6, 1))
          if r["line"] == "leg"]
    assert gl and all(m.startswith("'=HYPERLINK") for m in gl)
    raw = json.loads(year.report("journal", "json", date_from=D(2026, 6, 1), date_to=D(2026, 6, 1)))
    assert raw["rows"][0]["memo"] == '=HYPERLINK("http://evil.example","click")'


def test_negative_amounts_stay_numbers(year):
    rows = {r["code"]: r for r in year.csv("activities", year=2026)}
    assert rows["RELEASED_FROM_RESTRICTION"]["with_donor_restriction"] == "-2000.00"
    assert csv_cell(__import__("decimal").Decimal("-12.5")) == "-12.50"
    assert csv_cell("-12.50") == "'-12.50"  # text that looks like a number is still text


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=20))
def test_no_text_cell_can_start_a_formula(text):
    cell = csv_cell(text)
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert cell == text or cell == "'" + text
    assert neutralise(cell) == cell


def test_csv_is_utf8_with_bom_and_crlf(year):
    data = year.report("trial-balance", "csv", as_of=D(2026, 11, 29))
    assert data.startswith(b"\xef\xbb\xbfaccount_code,account_name,account_type,debit,credit\r\n")
    assert "捐赠收入—限定性".encode() in data


def _streaming_probe(writer):
    """The writer must have put the first rows out before it asks for the last one."""
    out = io.BytesIO()
    seen = []

    def rows():
        for i in range(5000):
            if i == 4999:
                seen.append(len(out.getvalue()))
            yield (f"row {i}", i)

    data = ReportData(columns=[Column("a", "a"), Column("b", "b", kind="int")], rows=rows(),
                      totals=lambda: [("TOTAL", 5000)])

    class Fake:
        name, title, title_en, trust_name = "probe", "探针", "Probe", "T"
        book = type("B", (), {"code": "T"})()
        params = type("P", (), {"as_meta": lambda self: {}})()

    from charity.reports.base import Head

    writer(Fake(), data, Head(0, "-", timezone.now()), out)
    return seen[0], out.getvalue()


@pytest.mark.parametrize("writer", [write_csv, write_json])
def test_writers_stream_rows(writer):
    written_before_last, data = _streaming_probe(writer)
    assert written_before_last > len(data) // 2
