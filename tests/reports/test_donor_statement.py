"""``donor-statement``: a gift followed to the programs it paid for (from the ledger's allocations), people
counted and "fewer than 5" below five, refunds and what is unspent; only the donor's own gifts; never a
beneficiary's name, identity number, phone, external id, household or community, in CSV, JSON or PDF."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from charity.reports import ReportError, ReportUsageError
from ledger.selectors import head

from .aidconf import csv_rows, json_doc, pdf_text, render, year  # noqa: F401
from .aidyear import D, grow, make_year

FEWER = "少于5人 fewer than 5"


def lines(rows):
    return [(r["line"], r["donation"], r["month"] or r["date"], r["program"], r["amount"], r["beneficiaries"])
            for r in rows]


def test_a_gift_followed_to_the_programs_it_paid_for(year):
    rows = csv_rows(year.book, "donor-statement", year=2026, donor="D-A")
    assert lines(rows) == [
        ("gift", "G-A1", "2026-01-05", "", "10000.00", "6"),
        ("spent", "G-A1", "2026-03", "smile_pack", "600.00", "6"),
        ("unspent", "G-A1", "2026-12-31", "unspent", "9400.00", ""),
        ("gift", "G-A2", "2026-01-06", "", "5000.00", "8"),
        ("spent", "G-A2", "2026-04", "study_grant", "1500.00", FEWER),
        ("spent", "G-A2", "2026-05", "study_grant", "3500.00", "5"),
        ("unspent", "G-A2", "2026-12-31", "unspent", "0.00", ""),
        ("gift", "G-A3", "2026-01-07", "", "2000.00", ""),
        ("spent", "G-A3", "2026-02", "management", "320.00", ""),  # management 300 + bank fees 20
        ("unspent", "G-A3", "2026-12-31", "unspent", "1680.00", ""),
        ("TOTAL", "", "", "", "17000.00", "8"),
    ]
    assert [r["receipt"] for r in rows if r["line"] == "gift"] == ["2026-000001", "2026-000002", "2026-000003"]
    management = next(r for r in rows if r["program"] == "management")
    assert management["description"] == "管理及行政 management and administration"
    summary = {s["key"]: s["value"] for s in json_doc(year.book, "donor-statement", year=2026, donor="D-A")["summary"]}
    assert summary["spent_smile_pack"] == "600.00" and summary["spent_study_grant"] == "5000.00"
    assert summary["unspent"] == "11080.00" and summary["beneficiaries"] == 8


def test_only_the_donors_own_gifts_refund_and_fewer_than_five(year):
    rows = csv_rows(year.book, "donor-statement", year=2026, donor="D-B")
    assert {r["donation"] for r in rows[:-1]} == {"G-B1", "G-B2", "G-B3"}
    assert lines(rows) == [
        ("gift", "G-B1", "2026-02-01", "", "3000.00", FEWER),
        # 500 of BEN-08's grant; the grant of 300 reversed the next day nets to nothing and counts nobody
        ("spent", "G-B1", "2026-05", "study_grant", "500.00", FEWER),
        ("unspent", "G-B1", "2026-12-31", "unspent", "2500.00", ""),
        ("gift", "G-B2", "2026-02-01", "", "1000.00", ""),
        ("refunded", "G-B2", "2026-07-01", "refund", "200.00", ""),
        ("unspent", "G-B2", "2026-12-31", "unspent", "800.00", ""),
        ("gift", "G-B3", "2026-02-15", "", "1200.00", ""),
        ("unspent", "G-B3", "2026-12-31", "unspent", "1200.00", ""),
        ("TOTAL", "", "", "", "5200.00", FEWER),
    ]
    # the refund voided 2026-000005; the replacement for what the trust keeps is 2026-000007
    assert rows[3]["receipt"] == "2026-000007"
    # an anonymous donor's own statement may name her (the CSV is the table only; JSON and PDF show the donor)
    statement = render(year.book, "donor-statement", "json", year=2026, donor="D-B").decode()
    assert "李匿名 (D-B)" in statement and "张捐赠" not in statement
    assert "D-B 李匿名" in pdf_text(render(year.book, "donor-statement", "pdf", year=2026, donor="D-B"))


def test_as_at_the_end_of_the_period(year):
    # By 30 April only the smile batch and the April grants had been paid; the gifts of February are not D-A's
    rows = csv_rows(year.book, "donor-statement", date_from=D(2026, 1, 1), date_to=D(2026, 4, 30), donor="D-A")
    spent = [(r["donation"], r["month"], r["amount"]) for r in rows if r["line"] == "spent"]
    assert spent == [("G-A1", "2026-03", "600.00"), ("G-A2", "2026-04", "1500.00"), ("G-A3", "2026-02", "320.00")]
    assert csv_rows(year.book, "donor-statement", date_from=D(2026, 2, 1), date_to=D(2026, 12, 31),
                    donor="D-A")[:-1] == []


@pytest.mark.parametrize("fmt", ["csv", "json", "pdf"])
def test_never_identifies_a_beneficiary(year, fmt):
    pii = year.pii()
    assert len(pii) >= 8 * 5
    for donor in ("D-A", "D-B"):
        data = render(year.book, "donor-statement", fmt, year=2026, donor=donor)
        text = pdf_text(data) if fmt == "pdf" else data.decode("utf-8-sig")
        text = text.replace(head(year.book)[1], "")  # hex that might hold "3205" by chance
        assert "G-A1" in text or "G-B1" in text  # the text was really read
        for value in pii:
            assert value not in text, value
        for hint in ("BEN-", "HH-", "DSB-", "3205", "1381234", "社区"):
            assert hint not in text, hint


def test_unknown_or_missing_donor(year):
    with pytest.raises(ReportError, match="no donor with external id 'NOPE'"):
        render(year.book, "donor-statement", year=2026, donor="NOPE")
    with pytest.raises(ReportUsageError, match="needs --donor"):
        render(year.book, "donor-statement", year=2026)
    with pytest.raises(CommandError) as info:
        call_command("report", "donor-statement", "--donor", "NOPE", "--year", "2026", stdout=io.StringIO())
    assert info.value.returncode == 1
    with pytest.raises(CommandError) as info:
        call_command("report", "donor-statement", "--year", "2026", stdout=io.StringIO())
    assert info.value.returncode == 2
    out = io.StringIO()
    call_command("report", "donor-statement", "--donor", "D-B", "--year", "2026", stdout=out)
    assert "G-B1" in out.getvalue()


def test_pdf_is_reproducible_and_names_the_donor(year):
    first = render(year.book, "donor-statement", "pdf", year=2026, donor="D-A")
    assert first == render(year.book, "donor-statement", "pdf", year=2026, donor="D-A")
    text = pdf_text(first)
    assert "捐赠人反馈报告" in text and "D-A 张捐赠" in text and "少于5人" in text


def count(book, **options):
    with CaptureQueriesContext(connection) as ctx:
        render(book, "donor-statement", **options)
    return len(ctx.captured_queries)


def test_queries_do_not_grow(db, officer, approver, django_assert_max_num_queries):
    small = make_year(officer, approver, code="S")
    large = make_year(officer, approver, code="L")
    grow(large, people=40)
    # D-C's gifts were spent on many grants to many people, in many months
    assert len(csv_rows(large.book, "donor-statement", year=2026, donor="D-C")) > 20
    baseline = count(small.book, year=2026, donor="D-A")
    assert count(large.book, year=2026, donor="D-C") == baseline
    assert count(large.book, year=2026, donor="D-A") == baseline
    with django_assert_max_num_queries(12):
        render(large.book, "donor-statement", "json", year=2026, donor="D-C")
