"""A small year an accountant can follow by hand (conftest.worked_example), and every statement's figures.

Income 2026: 4101 5,000 (GEN) · 4102 3,000 + 2,000 − 200 refund (SMILE, STUDY) · 4103 20,000 (ENDOW) ·
4202 500 goods (SMILE) · 4301 100 interest (GEN): without 5,100, with 25,300.
Expenses: 5101 1,200 (SMILE) · 5102 800 (STUDY) · 5201 450 · 5202 300 accrued · 5203 50 (GEN): 2,800, of
which 2,000 spent by restricted funds and so released from restriction.
Opening 2025-12-15: 10,000 to net assets in GEN.
"""

from decimal import Decimal

import pytest

from charity.services import spending_policy_set
from ledger.services import system_user

from .conftest import D, worked_example

TODAY = D(2026, 11, 29)


@pytest.fixture
def year(books):
    worked_example(books)
    return books


def test_trial_balance(year):
    rows = year.csv("trial-balance", as_of=TODAY)
    assert [list(r.values()) for r in rows] == [
        ["100201", "银行存款—人民币户", "asset", "35800.00", "0.00"],
        ["100901", "其他货币资金—微信支付待结算", "asset", "1600.00", "0.00"],
        ["120102", "存货—捐赠物资", "asset", "500.00", "0.00"],
        ["2202", "应付账款", "liability", "0.00", "300.00"],
        ["3101", "非限定性净资产", "net_assets", "0.00", "10000.00"],
        ["410101", "捐赠收入—非限定性", "income", "0.00", "5000.00"],
        ["410102", "捐赠收入—限定性", "income", "0.00", "4800.00"],
        ["410103", "捐赠收入—限定性(留本基金)", "income", "0.00", "20000.00"],
        ["410105", "捐赠收入—限定性(实物)", "income", "0.00", "500.00"],
        ["4601", "投资收益", "income", "0.00", "100.00"],
        ["510101", "业务活动成本—微笑礼包", "expense", "1200.00", "0.00"],
        ["510102", "业务活动成本—助学", "expense", "800.00", "0.00"],
        ["520101", "管理费用—行政办公", "expense", "450.00", "0.00"],
        ["530101", "筹资费用—募捐费用", "expense", "300.00", "0.00"],
        ["540101", "其他费用—银行手续费", "expense", "50.00", "0.00"],
        ["TOTAL", "合计", "", "40700.00", "40700.00"],
    ]
    assert list(rows[0]) == ["account_code", "account_name", "account_type", "debit", "credit"]


def test_trial_balance_of_one_fund_balances(year):
    rows = year.csv("trial-balance", as_of=TODAY, fund="SMILE")
    assert {r["account_code"]: (r["debit"], r["credit"]) for r in rows} == {
        "100901": ("1600.00", "0.00"), "120102": ("500.00", "0.00"), "410102": ("0.00", "2800.00"),
        "410105": ("0.00", "500.00"), "510101": ("1200.00", "0.00"), "TOTAL": ("3300.00", "3300.00"),
    }


def test_trial_balance_as_of_an_earlier_date(year):
    rows = year.csv("trial-balance", as_of=D(2025, 12, 31))
    assert [(r["account_code"], r["debit"], r["credit"]) for r in rows] == [
        ("100201", "10000.00", "0.00"), ("3101", "0.00", "10000.00"), ("TOTAL", "10000.00", "10000.00"),
    ]


def test_financial_position(year):
    rows = {r["code"]: r["amount"] for r in year.csv("financial-position", as_of=TODAY)}
    assert rows["TOTAL_ASSETS"] == "37900.00"
    assert rows["PAYABLES"] == "300.00"  # 2202 应付账款
    assert {r["code"]: r["amount"] for r in year.csv("financial-position-accounts", as_of=TODAY)}["2202"] == "300.00"
    assert rows["TOTAL_LIABILITIES"] == "300.00"
    assert rows["NET_ASSETS_WITHOUT"] == "14300.00"  # 10,000 opening + 5,100 income − 800 GEN expenses
    assert rows["NET_ASSETS_WITH_PURPOSE"] == "3300.00"  # SMILE 2,100 + STUDY 1,200
    assert rows["NET_ASSETS_WITH_ENDOWMENT"] == "20000.00"
    assert rows["NET_ASSETS_WITH"] == "23300.00"
    assert rows["TOTAL_NET_ASSETS"] == "37600.00"
    assert rows["TOTAL_LIABILITIES_AND_NET_ASSETS"] == "37900.00"
    summary = {s["key"]: s["value"] for s in year.json("financial-position", as_of=TODAY)["summary"]}
    assert summary == {"balanced": True, "surplus_current_year_without": "4300.00",
                       "surplus_current_year_with": "23300.00", "balanced_beginning_of_year": True}


def test_activities(year):
    spending_policy_set(trust=year.trust, preset="foundation_public", user=system_user())
    doc = year.json("activities", date_from=D(2026, 1, 1), date_to=TODAY)
    rows = {r["code"]: (r["without_donor_restriction"], r["with_donor_restriction"], r["total"])
            for r in doc["rows"] + doc["totals"]}
    detail = year.json("activities-accounts", date_from=D(2026, 1, 1), date_to=TODAY)["rows"]
    accounts = {r["code"]: (r["without_donor_restriction"], r["with_donor_restriction"], r["total"]) for r in detail}
    assert accounts["410101"] == ("5000.00", "0.00", "5000.00")
    assert accounts["410102"] == ("0.00", "4800.00", "4800.00")
    assert accounts["410105"] == ("0.00", "500.00", "500.00")
    assert accounts["4601"] == ("100.00", "0.00", "100.00")
    assert rows["DONATIONS"] == ("5000.00", "25300.00", "30300.00")  # 410101 + 410102 + 410103 + 410105
    assert rows["INVESTMENT_INCOME"] == ("100.00", "0.00", "100.00")
    assert rows["TOTAL_INCOME"] == ("5100.00", "25300.00", "30400.00")
    assert rows["RELEASED_FROM_RESTRICTION"] == ("2000.00", "-2000.00", "0.00")
    assert rows["PROGRAM_EXPENSES"] == ("2000.00", "0.00", "2000.00")
    assert rows["MANAGEMENT_EXPENSES"] == ("450.00", "0.00", "450.00")
    assert rows["FUNDRAISING_EXPENSES"] == ("300.00", "0.00", "300.00")
    assert rows["OTHER_EXPENSES"] == ("50.00", "0.00", "50.00")
    assert rows["TOTAL_EXPENSES"] == ("2800.00", "0.00", "2800.00")
    assert rows["CHANGE_IN_NET_ASSETS"] == ("4300.00", "23300.00", "27600.00")
    assert rows["NET_ASSETS_BEGINNING"] == ("10000.00", "0.00", "10000.00")
    assert rows["NET_ASSETS_END"] == ("14300.00", "23300.00", "37600.00")
    sections = {r["code"]: r["section"] for r in detail}
    assert sections["410101"] == "income_donations" and sections["410105"] == "income_in_kind"
    assert sections["4601"] == "income_investment" and sections["510101"] == "expense_program"
    assert sections["540101"] == "expense_other"
    ratios = {s["key"]: s for s in doc["summary"]}
    program = ratios["program_spending_to_prior_year_income"]
    assert (program["value"], program["status"]) == (None, "n/a")  # no income in 2025
    management = ratios["management_to_total_expenses"]
    assert (management["value"], management["threshold"], management["status"]) == ("0.1607", "<= 0.10", "missed")
    assert any("THRESHOLD MISSED" in note for note in doc["notes"])


def test_activities_ratio_thresholds_are_the_trusts_policy(year):
    spending_policy_set(trust=year.trust, preset="charity_trust_deed", floor="0.70", cap="0.20",
                        deed_reference="信托合同第八条", user=system_user())
    doc = year.json("activities", year=2026)
    management = {s["key"]: s for s in doc["summary"]}["management_to_total_expenses"]
    assert (management["threshold"], management["status"], management["policy"]) == (
        "<= 0.20", "ok", "charity_trust_deed")
    assert not any("THRESHOLD MISSED" in note for note in doc["notes"])


def test_program_ratio_against_prior_year_income(books):
    spending_policy_set(trust=books.trust, preset="foundation_public", user=system_user())
    books.move(D(2025, 3, 1), "gift", "100201", "410102", "SMILE", "1000")
    books.move(D(2025, 4, 1), "gift", "100201", "410101", "GEN", "1000")
    books.move(D(2026, 3, 1), "packs", "510101", "100201", "SMILE", "900")
    books.move(D(2026, 3, 2), "grants", "510103", "100201", "GEN", "500")
    ratios = {s["key"]: s for s in books.json("activities", year=2026)["summary"]}
    program = ratios["program_spending_to_prior_year_income"]
    assert (program["numerator"], program["denominator"], program["value"], program["status"]) == (
        "1400.00", "2000.00", "0.7000", "ok"
    )
    books.move(D(2026, 3, 3), "reversal-like credit", "100201", "510103", "GEN", "1")
    program = {s["key"]: s for s in books.json("activities", year=2026)["summary"]}[
        "program_spending_to_prior_year_income"
    ]
    assert (program["value"], program["status"]) == ("0.6995", "missed")


def test_fund_balances(year):
    rows = year.csv("fund-balances", date_from=D(2026, 1, 1), date_to=TODAY)
    assert list(rows[0]) == ["fund_code", "fund_name", "restriction", "opening", "donations", "spent", "closing"]
    assert [list(r.values()) for r in rows] == [
        ["ENDOW", "母亲留本基金", "endowment", "0.00", "20000.00", "0.00", "20000.00"],
        ["GEN", "非限定性资金", "unrestricted", "10000.00", "5100.00", "800.00", "14300.00"],
        ["SMILE", "微笑礼包专项资金", "restricted", "0.00", "3300.00", "1200.00", "2100.00"],
        ["STUDY", "助学金专项资金", "restricted", "0.00", "2000.00", "800.00", "1200.00"],
    ]


def test_fund_balances_count_net_asset_postings_in_the_period(year):
    """The opening-balance entry falls inside a period that starts before it: it counts as received."""
    rows = {r["fund_code"]: r for r in year.csv("fund-balances", date_from=D(2025, 1, 1), date_to=TODAY)}
    assert (rows["GEN"]["opening"], rows["GEN"]["donations"], rows["GEN"]["spent"], rows["GEN"]["closing"]) == (
        "0.00", "15100.00", "800.00", "14300.00"
    )
    rows = {r["fund_code"]: r for r in year.csv("fund-balances", year=2026, fund="SMILE")}
    assert list(rows) == ["SMILE"]


def test_general_ledger_running_balance(year):
    rows = [r for r in year.csv("general-ledger", year=2026) if r["account_code"] == "100901"]
    assert [(r["line"], r["debit"], r["credit"], r["balance"]) for r in rows] == [
        ("opening", "", "", "0.00"),
        ("leg", "3000.00", "", "3000.00"),
        ("leg", "", "1200.00", "1800.00"),
        ("leg", "", "200.00", "1600.00"),
        ("closing", "3000.00", "1400.00", "1600.00"),
    ]
    rows = [r for r in year.csv("general-ledger", year=2026) if r["account_code"] == "3101"]
    assert [(r["line"], r["balance"]) for r in rows] == [("opening", "10000.00"), ("closing", "10000.00")]


def test_journal_lists_every_leg_in_order(year):
    doc = year.json("journal", year=2026)
    assert len(doc["rows"]) == 24  # 12 entries in 2026, two legs each
    assert [r["sequence"] for r in doc["rows"][:4]] == [2, 2, 3, 3]
    assert doc["totals"][0]["debit"] == doc["totals"][0]["credit"] == "33600.00"  # the twelve amounts
    assert {s["key"]: s["value"] for s in doc["summary"]} == {"entries": 12, "legs": 24}
    assert Decimal(doc["rows"][0]["debit"]) == Decimal("5000")
