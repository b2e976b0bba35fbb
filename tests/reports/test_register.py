"""``beneficiary-register`` (masked identity numbers always, signature column, landscape PDF),
``receipt-register`` (valid and void numbers, anonymous donors, totals) and ``inventory`` (ties to the stock
balances and to the ledger); query counts that do not grow with the rows."""

import io
from decimal import Decimal

import pypdf
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from beneficiaries.models import Beneficiary, Disbursement, StockBalance
from beneficiaries.privacy import mask_id_number
from beneficiaries.services import disbursement_cancel, disbursement_draft, disbursement_reverse
from charity.services import donation_refund
from ledger.selectors import head

from .aidconf import csv_rows, json_doc, pdf_text, render, year  # noqa: F401
from .aidyear import D, grow, make_year


# ------------------------------------------------------------------------------------ beneficiary register


@pytest.mark.parametrize("fmt", ["csv", "json", "pdf"])
def test_beneficiary_register_never_shows_an_identity_number_unmasked(year, fmt):
    data = render(year.book, "beneficiary-register", fmt, year=2026)
    text = pdf_text(data) if fmt == "pdf" else data.decode("utf-8-sig")
    people = list(Beneficiary.objects.filter(book=year.book))
    assert len(people) == 8
    for b in people:
        assert b.id_number not in text
        assert b.id_number[6:14] not in text.replace(head(year.book)[1], "")  # not even the birth date part
        assert b.name in text
        if fmt != "pdf":  # the PDF may wrap a long cell; CSV and JSON hold it whole
            assert mask_id_number(b.id_number) in text


def test_beneficiary_register_lines_statuses_and_signature(year):
    p = year.people
    draft = disbursement_draft(book=year.book, external_id="DSB-D1", beneficiary=p[0], program=year.programs[
        "study_grant"], fund=year.funds["STUDY"], date=D(2026, 9, 1), user=year.officer, amount=Decimal("100"))
    gone = disbursement_draft(book=year.book, external_id="DSB-C1", beneficiary=p[1], program=year.programs[
        "study_grant"], fund=year.funds["STUDY"], date=D(2026, 9, 1), user=year.officer, amount=Decimal("100"))
    disbursement_cancel(disbursement=gone, user=year.approver, reason="moved away")
    rows = csv_rows(year.book, "beneficiary-register", year=2026)
    body, total = rows[:-1], rows[-1]
    ids = [r["disbursement"] for r in body]
    assert "DSB-C1" not in ids and "DSB-D1" in ids
    assert len(body) == 6 + 3 + 5 + 1 + 1  # smile batch, April grants, study batch, the reversed one, the draft
    status = {r["disbursement"]: r["status"] for r in body}
    assert status["DSB-X1"] == "已冲销 reversed" and status["DSB-D1"] == "草稿 draft"
    assert status["DSB-S1"] == "已发放 delivered" and status["DSB-G1"] == "已支付 paid"
    assert all(r["signature"] == "" for r in body)
    # batches first, in code order; aid outside a batch last
    assert [r["batch"] for r in body][:6] == ["2026-03-08-smile"] * 6 and body[-1]["batch"] == ""
    assert (total["quantity"], total["amount"]) == ("12", "6100.00")  # posted only
    doc = json_doc(year.book, "beneficiary-register", year=2026)
    summary = {s["key"]: s["value"] for s in doc["summary"]}
    assert summary == {"disbursements": 16, "posted": 14, "pending": 1, "reversed": 1, "beneficiaries": 8,
                       "amount": "6100.00"}
    march = csv_rows(year.book, "beneficiary-register", date_from=D(2026, 3, 1), date_to=D(2026, 3, 31))
    assert {r["batch"] for r in march[:-1]} == {"2026-03-08-smile"}
    assert {r["disbursement"] for r in csv_rows(year.book, "beneficiary-register", year=2026, fund="SMILE")[:-1]} \
        == {f"DSB-S{n}" for n in range(1, 7)}


def test_beneficiary_register_pdf_is_landscape_with_a_signature_column(year):
    data = render(year.book, "beneficiary-register", "pdf", year=2026)
    page = pypdf.PdfReader(io.BytesIO(data)).pages[0]
    assert page.mediabox.width > page.mediabox.height
    text = pdf_text(data)
    assert "受益人发放清册" in text and "签收" in text and "王秀英" in text
    assert data == render(year.book, "beneficiary-register", "pdf", year=2026)


# ---------------------------------------------------------------------------------------- receipt register


def test_receipt_register(year):
    rows = csv_rows(year.book, "receipt-register", year=2026)
    body, total = rows[:-1], rows[-1]
    assert [r["number"] for r in body] == [f"2026-{n:06d}" for n in range(1, 8)]
    void = [r for r in body if r["status"] == "作废 void"]
    assert [(r["number"], r["donation"], r["amount_cny"]) for r in void] == [("2026-000005", "G-B2", "1000.00")]
    assert void[0]["void_reason"].startswith("refund R-1") and void[0]["voided_at"]
    donors = {r["donation"]: r["donor"] for r in body}
    assert donors["G-A1"] == "张捐赠"
    assert donors["G-B1"] == "匿名捐赠人 Anonymous donor" and "李匿名" not in str(rows)
    assert (total["number"], total["status"], total["amount_cny"]) == ("TOTAL", "7", "22000.00")
    summary = {s["key"]: s["value"] for s in json_doc(year.book, "receipt-register", year=2026)["summary"]}
    assert summary == {"used": 7, "issued": 6, "voided": 1, "amount_issued": "22000.00",
                       "amount_voided": "1000.00", "gaps": 0, "lacking_official": 6}
    february = csv_rows(year.book, "receipt-register", date_from=D(2026, 2, 1), date_to=D(2026, 2, 28))
    assert [r["number"] for r in february[:-1]] == ["2026-000004", "2026-000005", "2026-000006", "2026-000007"]
    text = pdf_text(render(year.book, "receipt-register", "pdf", year=2026))
    assert "捐赠票据领用存登记" in text and "2026-000005" in text


# --------------------------------------------------------------------------------------------- inventory


def inventory(book, **options):
    return {(r["item_code"], r["fund_code"]): r for r in csv_rows(book, "inventory", **options)[:-1]}


def assert_ties_to_stock_balances(book, rows):
    balances = StockBalance.objects.filter(item__book=book).select_related("item", "fund")
    held = {(b.item.code, b.fund.code): (str(b.quantity), str(b.value_amount)) for b in balances}
    assert held == {key: (r["closing_quantity"], r["closing_value"]) for key, r in rows.items()}


def test_inventory_ties_to_the_stock_balances(year):
    rows = inventory(year.book, year=2026)
    assert_ties_to_stock_balances(year.book, rows)
    smile = rows[("smile_pack", "SMILE")]
    assert (smile["bought_quantity"], smile["bought_value"], smile["issued_quantity"], smile["issued_value"],
            smile["closing_quantity"], smile["closing_value"]) == ("100", "5000.00", "12", "600.00", "88", "4400.00")
    books = rows[("books", "GEN")]
    assert (books["received_quantity"], books["received_value"], books["closing_quantity"]) == ("40", "1200.00", "40")
    summary = {s["key"]: s["value"] for s in json_doc(year.book, "inventory", year=2026)["summary"]}
    assert summary == {"closing_value": "5600.00", "ledger_inventory": "5600.00", "ties_to_ledger": True}
    april = inventory(year.book, date_from=D(2026, 4, 1), date_to=D(2026, 12, 31))
    assert (april[("smile_pack", "SMILE")]["opening_quantity"], april[("smile_pack", "SMILE")]["opening_value"],
            april[("smile_pack", "SMILE")]["issued_quantity"]) == ("88", "4400.00", "0")
    assert set(inventory(year.book, year=2026, fund="SMILE")) == {("smile_pack", "SMILE")}


def test_inventory_reversals_count_against_what_they_reverse(year):
    # a Smile Pack batch member handed back, and the books given in kind refunded whole
    handed_out = Disbursement.objects.get(book=year.book, external_id="DSB-S1")
    disbursement_reverse(disbursement=handed_out, user=year.approver, date=D(2026, 8, 1), reason="recorded twice")
    donation_refund(donation=year.donations["G-B3"], external_id="R-2", date=D(2026, 8, 2), user=year.officer,
                    reason="goods damaged")
    rows = inventory(year.book, year=2026)
    assert_ties_to_stock_balances(year.book, rows)
    assert (rows[("smile_pack", "SMILE")]["issued_quantity"], rows[("smile_pack", "SMILE")]["closing_quantity"]) \
        == ("10", "90")
    books = rows[("books", "GEN")]
    assert (books["received_quantity"], books["received_value"], books["closing_quantity"]) == ("0", "0.00", "0")


# ------------------------------------------------------------------------------------------- query pins


def count(book, name, **options):
    with CaptureQueriesContext(connection) as ctx:
        render(book, name, **options)
    return len(ctx.captured_queries)


@pytest.mark.parametrize("name", ["receipt-register", "inventory", "beneficiary-register"])
def test_queries_do_not_grow(db, officer, approver, django_assert_max_num_queries, name):
    small = make_year(officer, approver, code="S")
    large = make_year(officer, approver, code="L")
    grow(large, people=40)
    assert len(csv_rows(large.book, name, year=2026)) > len(csv_rows(small.book, name, year=2026))
    baseline = count(small.book, name, year=2026)
    assert count(large.book, name, year=2026) == baseline
    with django_assert_max_num_queries(10):
        render(large.book, name, "json", year=2026)
