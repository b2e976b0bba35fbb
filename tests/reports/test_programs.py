"""``programs``: distinct beneficiaries, goods and grants per program, by month and by batch; only posted,
not reversed, disbursements in the period; queries that do not grow with the rows."""

from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext

from .aidconf import csv_rows, json_doc, pdf_text, render, year  # noqa: F401
from .aidyear import D, grow, make_year, paid


def by(rows, breakdown):
    return {(r["key"], r["program_code"]): r for r in rows if r["breakdown"] == breakdown}


def test_counts_distinct_beneficiaries_per_program_month_and_batch(year):
    rows = csv_rows(year.book, "programs", year=2026)
    programs = by(rows, "program")
    smile, study = programs[("", "smile_pack")], programs[("", "study_grant")]
    assert (smile["disbursements"], smile["beneficiaries"], smile["goods_handed_out"], smile["grants_paid"],
            smile["amount"]) == ("6", "6", "12", "0", "600.00")
    # BEN-01..03 in April and BEN-04..08 in May: 8 grants to 8 people; the reversed grant counts nowhere
    assert (study["disbursements"], study["beneficiaries"], study["grants_paid"], study["amount"]) == (
        "8", "8", "8", "5500.00")
    months = by(rows, "month")
    assert set(months) == {("2026-03", "smile_pack"), ("2026-04", "study_grant"), ("2026-05", "study_grant")}
    assert months[("2026-05", "study_grant")]["beneficiaries"] == "5"
    batches = by(rows, "batch")
    assert batches[("2026-03-08-smile", "smile_pack")]["goods_handed_out"] == "12"
    assert batches[("2026-05-20-study", "study_grant")]["amount"] == "4000.00"
    assert batches[("", "study_grant")]["amount"] == "1500.00"  # outside any batch
    total = rows[-1]
    assert total["key"] == "TOTAL"
    # BEN-01..06 got packs and grants: 8 distinct people in all, not 6 + 8
    assert (total["beneficiaries"], total["disbursements"], total["amount"]) == ("8", "14", "6100.00")
    for breakdown in ("program", "month", "batch"):
        assert sum(Decimal(r["amount"]) for r in rows if r["breakdown"] == breakdown) == Decimal("6100.00")


def test_period_and_fund(year):
    april = csv_rows(year.book, "programs", date_from=D(2026, 4, 1), date_to=D(2026, 4, 30))
    assert [(r["breakdown"], r["program_code"], r["beneficiaries"]) for r in april[:-1]] == [
        ("program", "study_grant", "3"), ("month", "study_grant", "3"), ("batch", "study_grant", "3")]
    smile = csv_rows(year.book, "programs", year=2026, fund="SMILE")
    assert {r["program_code"] for r in smile[:-1]} == {"smile_pack"}
    assert smile[-1]["amount"] == "600.00"
    doc = json_doc(year.book, "programs", year=2025)
    assert doc["rows"] == [] and doc["totals"][0]["beneficiaries"] == 0


def test_pdf_has_the_three_breakdowns(year):
    data = render(year.book, "programs", "pdf", year=2026)
    text = pdf_text(data)
    for heading in ("按项目 By program", "按月份 By month", "按批次 By batch", "项目执行情况表", "2026-05-20-study"):
        assert heading in text
    assert data == render(year.book, "programs", "pdf", year=2026)


def count(book, name, **options):
    with CaptureQueriesContext(connection) as ctx:
        render(book, name, **options)
    return len(ctx.captured_queries)


def test_queries_do_not_grow(db, officer, approver, django_assert_max_num_queries):
    small = make_year(officer, approver, code="S")
    large = make_year(officer, approver, code="L")
    grow(large, people=40)
    paid(large, "DSB-late", large.people[-1], "study_grant", "STUDY", D(2026, 9, 1), "10")
    baseline = count(small.book, "programs", year=2026)
    assert count(large.book, "programs", year=2026) == baseline
    assert len(csv_rows(large.book, "programs", year=2026)) > len(csv_rows(small.book, "programs", year=2026))
    with django_assert_max_num_queries(10):
        render(large.book, "programs", "json", year=2026)
