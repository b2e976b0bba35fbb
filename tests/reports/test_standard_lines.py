"""The statements in the standard's report lines (民间非营利组织会计制度: 资产负债表 会民非01表, 业务活动表 会民非02表),
with 年初数 / 期末数 and 本年 / 上年, on a small book worked by hand.

The book: the worked example of test_worked_example.py (2026) with a 2025 before it.

2025: 12-15 opening 10,000 into GEN (Dr bank / Cr 3101) · 06-01 gift 1,000 to SMILE (410102 限定性) ·
07-01 SMILE hands out 400 (510101) · 12-20 GEN pays 100 office costs (520101).
At 2025-12-31 (年初数 of 2026): bank 10,000 + 1,000 − 400 − 100 = 10,500 = 货币资金 = 资产总计; no liabilities;
GEN 10,000 − 100 = 9,900 非限定性; SMILE 1,000 − 400 = 600 限定性 (purpose); 净资产合计 10,500.

2026 (the worked example): gifts GEN 5,000 (410101), SMILE 3,000 − 200 refund (410102), STUDY 2,000 (410102),
ENDOW 20,000 (410103), goods 500 to SMILE (410105), interest 100 to GEN (4601); spent SMILE 1,200 (510101),
STUDY 800 (510102), GEN 450 (520101), 50 bank fees (540101), 300 fundraising accrued (530101 / 2202).
At 2026-11-29 (期末数): bank 36,300 (35,800 of the worked example + the 500 left from 2025) + WeChat 1,600 =
货币资金 37,900; 存货 500; 流动资产合计 = 资产总计 38,400. 应付款项 300 = 负债合计. GEN 9,900 + 5,100 − 800 = 14,200;
限定性 SMILE 600 + 2,800 + 500 − 1,200 = 2,700, STUDY 1,200, ENDOW 20,000: 23,900 (purpose 3,900, endowment
20,000); 净资产合计 38,100; 负债和净资产总计 38,400.

业务活动表 2026 (本年): 捐赠收入 5,000 | 25,300 (2,800 + 2,000 + 20,000 + 500) | 30,300; 投资收益 100 | 0 | 100;
收入合计 5,100 | 25,300 | 30,400. 业务活动成本 2,000, 管理费用 450, 筹资费用 300, 其他费用 50, 费用合计 2,800 (all
非限定性). 限定性净资产转为非限定性净资产 2,000 | −2,000 | 0 (what SMILE and STUDY spent). 净资产变动额
5,100 − 2,800 + 2,000 = 4,300 | 25,300 − 2,000 = 23,300 | 27,600 = the balance sheet's change
(14,200 − 9,900; 23,900 − 600).
上年 (2025): 捐赠收入 0 | 1,000 | 1,000; 业务活动成本 400; 管理费用 100; 费用合计 500; release 400 | −400 | 0;
直接计入净资产的变动 (the opening balance) 10,000 | 0 | 10,000; 净资产变动额 0 − 500 + 400 + 10,000 = 9,900 |
1,000 − 400 = 600 | 10,500 (from nothing to the 2025-12-31 balance sheet).
"""

from decimal import Decimal

import pytest

from charity import chart
from charity.reports import lines
from ledger import services

from .aidconf import pdf_text
from .conftest import D, worked_example

TODAY = D(2026, 11, 29)
Z = "0.00"


@pytest.fixture
def year(books):
    books.move(D(2025, 6, 1), "gift", chart.BANK, chart.DONATION_RESTRICTED, "SMILE", "1000")
    books.move(D(2025, 7, 1), "packs", chart.PROGRAM_SMILE, chart.BANK, "SMILE", "400")
    worked_example(books)
    books.move(D(2025, 12, 20), "office", chart.MANAGEMENT, chart.BANK, "GEN", "100")
    return books


def position(b, **options):
    return {r["code"]: r for r in b.csv("financial-position", **options)}


def test_every_balance_sheet_line_with_both_columns(year):
    rows = position(year, as_of=TODAY)
    expected = {  # key: (行次, 年初数, 期末数); every other line 0.00 in both
        "MONETARY_FUNDS": ("1", "10500.00", "37900.00"),
        "INVENTORIES": ("8", Z, "500.00"),
        "TOTAL_CURRENT_ASSETS": ("20", "10500.00", "38400.00"),
        "TOTAL_ASSETS": ("60", "10500.00", "38400.00"),
        "PAYABLES": ("62", Z, "300.00"),
        "TOTAL_CURRENT_LIABILITIES": ("80", Z, "300.00"),
        "TOTAL_LIABILITIES": ("100", Z, "300.00"),
        "NET_ASSETS_WITHOUT": ("101", "9900.00", "14200.00"),
        "NET_ASSETS_WITH": ("105", "600.00", "23900.00"),
        "NET_ASSETS_WITH_PURPOSE": ("", "600.00", "3900.00"),
        "NET_ASSETS_WITH_ENDOWMENT": ("", Z, "20000.00"),
        "TOTAL_NET_ASSETS": ("110", "10500.00", "38100.00"),
        "TOTAL_LIABILITIES_AND_NET_ASSETS": ("120", "10500.00", "38400.00"),
    }
    shown = {key: (r["line_no"], r["opening"], r["amount"]) for key, r in rows.items()}
    for key, value in shown.items():
        assert value == expected.get(key, (lines.POSITION_LINES[key].no, Z, Z)), key
    # Every line of the form, in its order, zero or not; no heading rows in CSV (headings are for the page).
    assert list(rows) == [line.key for _s, line in lines.POSITION if line.kind != "heading"]
    assert rows["SHORT_TERM_INVESTMENTS"]["amount"] == Z and rows["AGENCY_ASSETS"]["opening"] == Z
    assert list(year.csv("financial-position", as_of=TODAY)[0]) == [
        "section", "line_type", "code", "name", "name_en", "amount", "line_no", "opening"]


def test_opening_column_is_the_previous_year_end(year):
    """年初数 of any day in 2026 is the balance sheet at 2025-12-31; in 2025 it is that of 2024-12-31 (empty)."""
    at_year_end = position(year, as_of=D(2025, 12, 31))
    for key, row in position(year, as_of=D(2026, 3, 1)).items():
        assert row["opening"] == at_year_end[key]["amount"], key
    assert {r["opening"] for r in at_year_end.values()} == {Z}


def test_lines_add_up_to_the_account_detail(year):
    """Each line = the sum of the accounts financial-position-accounts puts on it (bank + WeChat = 货币资金)."""
    services.account_create(book=year.book, code="1501", name="固定资产", type="asset")
    services.account_create(book=year.book, code="1502", name="累计折旧", type="asset")
    services.account_create(book=year.book, code="1899", name="其他资产（自设）", type="asset")
    year.a = {a.code: a for a in year.book.accounts.all()}
    year.move(D(2026, 6, 1), "computer", "1501", chart.BANK, "GEN", "3000")
    year.move(D(2026, 6, 30), "depreciation", chart.MANAGEMENT, "1502", "GEN", "500")
    year.move(D(2026, 7, 1), "deposit", "1899", chart.BANK, "GEN", "200")
    rows = position(year, as_of=TODAY)
    detail = year.csv("financial-position-accounts", as_of=TODAY)
    sums = {}
    for r in detail:
        if r["line_type"] == "account":
            sums[r["line_key"]] = sums.get(r["line_key"], Decimal(0)) + Decimal(r["amount"])
    assert {r["code"]: r["line_key"] for r in detail if r["line_type"] == "account"}[chart.WECHAT] == "MONETARY_FUNDS"
    for key, total in sums.items():
        if key == "ACCUMULATED_DEPRECIATION":  # an asset account with a credit balance, shown as a deduction
            assert Decimal(rows[key]["amount"]) == -total == Decimal("500.00")
        else:
            assert Decimal(rows[key]["amount"]) == total, key
    # 37,900 − 3,000 − 200 = 34,700 cash; fixed assets 3,000 − 500 = 2,500; 1899 is outside the chart.
    assert rows["MONETARY_FUNDS"]["amount"] == "34700.00"
    assert (rows["FIXED_ASSETS_COST"]["amount"], rows["FIXED_ASSETS_NET"]["amount"],
            rows["TOTAL_FIXED_ASSETS"]["amount"]) == ("3000.00", "2500.00", "2500.00")
    assert rows["OTHER_CURRENT_ASSETS"]["amount"] == "200.00"
    assert rows["TOTAL_ASSETS"]["amount"] == "37900.00"  # 38,400 − 500 depreciation
    assert rows["TOTAL_LIABILITIES_AND_NET_ASSETS"]["amount"] == "37900.00"


def activities(b, **options):
    doc = b.json("activities", **options)
    return doc, {r["code"]: r for r in doc["rows"] + doc["totals"]}


def cells(row, prior=False):
    p = "prior_" if prior else ""
    return (row[f"{p}without_donor_restriction"], row[f"{p}with_donor_restriction"], row[f"{p}total"])


def test_every_activities_line_this_year_and_last(year):
    doc, rows = activities(year, year=2026)
    keys = [r["code"] for r in doc["rows"]]
    assert keys == [line.key for _s, line in lines.ACTIVITIES if line.kind != "heading"] + [
        "RELEASED_FROM_RESTRICTION", "OTHER_CHANGES", "CHANGE_IN_NET_ASSETS"]
    # The release comes after the expenses, as the standard orders it.
    assert keys.index("RELEASED_FROM_RESTRICTION") > keys.index("TOTAL_EXPENSES")
    this_year = {
        "DONATIONS": ("5000.00", "25300.00", "30300.00"),
        "INVESTMENT_INCOME": ("100.00", Z, "100.00"),
        "TOTAL_INCOME": ("5100.00", "25300.00", "30400.00"),
        "PROGRAM_EXPENSES": ("2000.00", Z, "2000.00"),
        "MANAGEMENT_EXPENSES": ("450.00", Z, "450.00"),
        "FUNDRAISING_EXPENSES": ("300.00", Z, "300.00"),
        "OTHER_EXPENSES": ("50.00", Z, "50.00"),
        "TOTAL_EXPENSES": ("2800.00", Z, "2800.00"),
        "RELEASED_FROM_RESTRICTION": ("2000.00", "-2000.00", Z),
        "CHANGE_IN_NET_ASSETS": ("4300.00", "23300.00", "27600.00"),
        "NET_ASSETS_BEGINNING": ("9900.00", "600.00", "10500.00"),
        "NET_ASSETS_END": ("14200.00", "23900.00", "38100.00"),
    }
    last_year = {
        "DONATIONS": (Z, "1000.00", "1000.00"),
        "TOTAL_INCOME": (Z, "1000.00", "1000.00"),
        "PROGRAM_EXPENSES": ("400.00", Z, "400.00"),
        "MANAGEMENT_EXPENSES": ("100.00", Z, "100.00"),
        "TOTAL_EXPENSES": ("500.00", Z, "500.00"),
        "RELEASED_FROM_RESTRICTION": ("400.00", "-400.00", Z),
        "OTHER_CHANGES": ("10000.00", Z, "10000.00"),
        "CHANGE_IN_NET_ASSETS": ("9900.00", "600.00", "10500.00"),
        "NET_ASSETS_END": ("9900.00", "600.00", "10500.00"),
    }
    for key, row in rows.items():
        assert cells(row) == this_year.get(key, (Z, Z, Z)), key
        assert cells(row, prior=True) == last_year.get(key, (Z, Z, Z)), key
    numbers = {key: row["line_no"] for key, row in rows.items()}
    assert (numbers["DONATIONS"], numbers["TOTAL_INCOME"], numbers["PROGRAM_EXPENSES"], numbers["TOTAL_EXPENSES"],
            numbers["RELEASED_FROM_RESTRICTION"], numbers["CHANGE_IN_NET_ASSETS"]) == ("1", "11", "12", "35", "40", "45")


def test_change_in_net_assets_equals_the_balance_sheets_change(year):
    _doc, rows = activities(year, year=2026)
    start, end = position(year, as_of=D(2025, 12, 31)), position(year, as_of=D(2026, 12, 31))
    change = [Decimal(v) for v in cells(rows["CHANGE_IN_NET_ASSETS"])]
    for i, key in enumerate(("NET_ASSETS_WITHOUT", "NET_ASSETS_WITH", "TOTAL_NET_ASSETS")):
        assert change[i] == Decimal(end[key]["amount"]) - Decimal(start[key]["amount"]), key
        assert change[i] == Decimal(end[key]["amount"]) - Decimal(end[key]["opening"]), key
    prior = [Decimal(v) for v in cells(rows["CHANGE_IN_NET_ASSETS"], prior=True)]
    assert prior == [Decimal("9900.00"), Decimal("600.00"), Decimal("10500.00")]


def test_activities_lines_add_up_to_the_account_detail(year):
    """Each line = the sum of the accounts activities-accounts puts on it (410101 + 410102 + 410103 + 410105
    = 捐赠收入; 510101 + 510102 = 业务活动成本)."""
    _doc, rows = activities(year, year=2026)
    detail = year.json("activities-accounts", year=2026)["rows"]
    sums = {}
    for r in detail:
        if r["line_type"] == "account":
            sums.setdefault(r["line_key"], [Decimal(0)] * 3)
            for i, v in enumerate(cells(r)):
                sums[r["line_key"]][i] += Decimal(v)
    assert set(sums) == {"DONATIONS", "INVESTMENT_INCOME", "PROGRAM_EXPENSES", "MANAGEMENT_EXPENSES",
                         "FUNDRAISING_EXPENSES", "OTHER_EXPENSES"}
    for key, values in sums.items():
        assert [Decimal(v) for v in cells(rows[key])] == values, key


def test_an_account_outside_the_chart_goes_by_type(year):
    """A trust's own 4999 income goes to 其他收入, its 5999 expense to 其他费用, a 120103 stock account to 存货."""
    for code, kind in (("4999", "income"), ("5999", "expense"), ("120103", "asset")):
        services.account_create(book=year.book, code=code, name=f"自设{code}", type=kind)
    year.a = {a.code: a for a in year.book.accounts.all()}
    year.move(D(2026, 8, 1), "misc", chart.BANK, "4999", "GEN", "70")
    year.move(D(2026, 8, 2), "misc", "5999", chart.BANK, "GEN", "30")
    year.move(D(2026, 8, 3), "stock", "120103", chart.BANK, "GEN", "20")
    _doc, rows = activities(year, year=2026)
    assert cells(rows["OTHER_INCOME"]) == ("70.00", Z, "70.00")
    assert cells(rows["OTHER_EXPENSES"]) == ("80.00", Z, "80.00")  # 50 bank fees + 30
    assert position(year, as_of=TODAY)["INVENTORIES"]["amount"] == "520.00"


def test_the_pdf_prints_the_forms_lines_with_their_numbers(year):
    from charity.reports import REPORTS

    text = pdf_text(year.report("financial-position", "pdf", as_of=TODAY))
    for item in ("流动资产：", "货币资金", "年初数", "期末数", "行次", "37,900.00", "10,500.00", "负债和净资产总计",
                 "受托代理资产"):
        assert item in text, item
    text = pdf_text(year.report("activities", "pdf", year=2026))
    for item in ("一、收入", "二、费用", "捐赠收入", "上年", "本年", "30,300.00", "10,000.00"):
        assert item in text, item
    assert "activities-accounts" in REPORTS and "financial-position-accounts" in REPORTS

