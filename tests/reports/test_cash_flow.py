"""The cash flow statement (issue 18): direct method, classified by the other side of each entry, tying to the
change in cash to the fen, on a small book built here and on the 2025 sample year."""

from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest

from charity import chart
from django.core.management import call_command

from charity.reports.cashflow import allocate
from charity.services import trust_create
from ledger import services as ledger
from ledger.services import Cr, Dr, system_user

from ..data import TRUST_2025 as SAMPLE
from .aidconf import csv_rows, json_doc, render
from .conftest import D

pytestmark = pytest.mark.django_db


def small_book(books):
    b = books
    b.move(D(2024, 12, 20), "opening gift", "100201", "410101", "GEN", "1000.00")
    # A WeChat gift of 100.00 that arrives net of the processor's 0.60 fee: 99.40 of cash came in.
    b.post(D(2025, 1, 5), "wechat gift", Dr(b.a["100901"], b.f["GEN"], Decimal("99.40")),
           Dr(b.a["540101"], b.f["GEN"], Decimal("0.60")), Cr(b.a["410101"], b.f["GEN"], Decimal("100.00")))
    b.move(D(2025, 1, 10), "gift", "100201", "410102", "SMILE", "5000.00")
    b.move(D(2025, 2, 1), "gift", "100201", "410102", "STUDY", "3000.00")
    b.move(D(2025, 2, 10), "refund", "410101", "100201", "GEN", "200.00")
    b.move(D(2025, 3, 1), "stock", "120101", "100201", "SMILE", "4200.00")
    b.move(D(2025, 3, 15), "aid", "510102", "100201", "STUDY", "1500.00")
    b.move(D(2025, 3, 20), "bank fee", "540101", "100201", "GEN", "20.00")
    b.move(D(2025, 4, 1), "bank to cash", "1001", "100201", "GEN", "300.00")
    # 100.00 of cash against 300.00 of expenses (200.00 left payable): 33.33 management, 66.67 (with the fen
    # of remainder) program.
    b.post(D(2025, 5, 1), "part paid", Dr(b.a["520101"], b.f["GEN"], Decimal("100.00")),
           Dr(b.a["510103"], b.f["GEN"], Decimal("200.00")), Cr(b.a["100201"], b.f["GEN"], Decimal("100.00")),
           Cr(b.a["2202"], b.f["GEN"], Decimal("200.00")))
    b.move(D(2026, 1, 5), "next year", "100201", "410101", "GEN", "50.00")
    return b


def lines(rows) -> dict[str, Decimal]:
    return {r["code"]: Decimal(r["amount"]) for r in rows if r["amount"]}


def test_each_line_of_a_small_book(books):
    b = small_book(books)
    got = lines(b.csv("cash-flow", date_from=D(2025, 1, 1), date_to=D(2025, 12, 31)))
    expected = {
        "OP_IN_DONATIONS": "7899.40",  # 99.40 + 5000 + 3000 - the 200.00 refund
        "OP_IN_DUES": "0.00", "OP_IN_SERVICES": "0.00", "OP_IN_SALES": "0.00", "OP_IN_GRANTS": "0.00",
        "OP_IN_OTHER": "0.00",
        "OP_IN_TOTAL": "7899.40",
        "OP_OUT_AID": "1566.67",
        "OP_OUT_STAFF": "0.00",
        "OP_OUT_PURCHASES": "4200.00",
        "OP_OUT_OTHER": "53.33",  # the 20.00 bank fee and 33.33 of management expenses
        "OP_OUT_TOTAL": "5820.00",
        "OP_NET": "2079.40",
        "INV_IN_TOTAL": "0.00", "INV_OUT_TOTAL": "0.00", "INV_NET": "0.00",
        "FIN_IN_TOTAL": "0.00", "FIN_OUT_TOTAL": "0.00", "FIN_NET": "0.00",
        "FX_EFFECT": "0.00",
        "NET_INCREASE": "2079.40",
        "CASH_BEGINNING": "1000.00",
        "CASH_END": "3079.40",
        "CHANGE_IN_CASH": "2079.40",
    }
    for code, value in expected.items():
        assert got[code] == Decimal(value), code
    assert got["NET_INCREASE"] == got["CASH_END"] - got["CASH_BEGINNING"]


def test_a_part_of_the_year_and_the_summary(books):
    b = small_book(books)
    doc = b.json("cash-flow", date_from=D(2025, 3, 1), date_to=D(2025, 4, 30))
    rows = {r["code"]: r["amount"] for r in doc["rows"] + doc["totals"]}
    assert rows["OP_IN_DONATIONS"] == "0.00"
    assert rows["OP_OUT_PURCHASES"] == "4200.00"
    assert rows["NET_INCREASE"] == "-5720.00"  # 4200 + 1500 + 20; the transfer to cash on hand nets to zero
    assert rows["CASH_BEGINNING"] == "8899.40" and rows["CASH_END"] == "3179.40"
    assert {s["key"]: s["value"] for s in doc["summary"]}["ties_to_cash"] is True


def test_allocation_is_exact_to_the_fen():
    codes = {1: "520101", 2: "510103", 3: "530101"}
    assert allocate(-10000, {1: -10000, 2: -20000, 4: 20000}, {**codes, 4: "2202"}) == {1: -3333, 2: -6667}
    shares = allocate(100, {1: 1, 2: 1, 3: 1}, codes)
    assert sum(shares.values()) == 100 and shares[2] == 34 and shares[1] == 33  # a tie: the lowest code


def test_csv_json_and_pdf_render(books):
    b = small_book(books)
    options = dict(date_from=D(2025, 1, 1), date_to=D(2025, 12, 31))
    assert b.report("cash-flow", "pdf", **options).startswith(b"%PDF")
    assert b.json("cash-flow", **options)["meta"]["report"] == "cash-flow"
    assert b.report("cash-flow", "csv", **options).decode("utf-8-sig").startswith(
        "section,line_type,code,name,name_en,amount")


def cash_in_trial_balance(book, as_of) -> Decimal:
    rows = csv_rows(book, "trial-balance", as_of=as_of)
    return sum(
        (Decimal(r["debit"] or 0) - Decimal(r["credit"] or 0) for r in rows
         if r["account_code"] != "TOTAL" and chart.is_monetary(r["account_code"])),  # 1001, 1002 and 1009 明细
        Decimal("0"),
    )


@pytest.mark.slow
def test_the_sample_year_ties_to_the_cash_in_the_trial_balance():
    trust = trust_create(user=system_user(), code="CWCT", name="关爱妇女儿童慈善信托")
    book = trust.book
    ledger.period_close(book=book, month="2024-12", user=ledger.system_user())
    # The same import order as test_sample_year_reports (refunds before disbursements).
    for kind in ("funds", "donors", "donations", "beneficiaries", "expenses", "refunds", "disbursements"):
        call_command("import_csv", kind, str(SAMPLE / f"{kind}.csv"), stdout=io.StringIO())
    doc = json_doc(book, "cash-flow", year=2025)
    got = {r["code"]: Decimal(r["amount"]) for r in doc["rows"] + doc["totals"] if r["amount"] is not None}
    change = cash_in_trial_balance(book, D(2025, 12, 31)) - cash_in_trial_balance(book, D(2024, 12, 31))
    assert got["NET_INCREASE"] == change
    assert got["CASH_END"] - got["CASH_BEGINNING"] == change
    assert got["OP_NET"] + got["INV_NET"] + got["FIN_NET"] + got["FX_EFFECT"] == change
    assert got["OP_IN_DONATIONS"] > 0 and got["OP_OUT_AID"] > 0
    assert {s["key"]: s["value"] for s in doc["summary"]}["ties_to_cash"] is True
    assert render(book, "cash-flow", "pdf", year=2025).startswith(b"%PDF")
    json.dumps(doc)
