"""Tie-outs on seeded random years (conftest.random_year): the statements agree with each other and with the
ledger, whatever was posted. Two seeds close a period midway, so balances start from a checkpoint.

Posting is the slow part, so each seed's books are built once and every check runs on them (``test_tieouts``).
"""

import datetime as dt
from decimal import Decimal

import pytest

from ledger import selectors

from .conftest import D, make_books, random_year

SEEDS = [(1, None), (2, 6), (3, 3)]


@pytest.mark.parametrize("seed,close", SEEDS, ids=[f"seed{s}-close{c}" for s, c in SEEDS])
def test_tieouts(db, officer, seed, close):
    year = make_books(officer, code=f"R{seed}")
    random_year(year, seed=seed, year=2025, entries=90, close_month=close)
    random_year(year, seed=seed + 100, year=2026, entries=40)
    check_trial_balance_debits_equal_credits(year)
    check_financial_position_balances_and_matches_the_ledger(year)
    for start, end in RANGES:
        check_activities_change_equals_change_in_financial_position(year, start, end)
        check_fund_balances_sum_to_net_assets(year, start, end)
    check_general_ledger_closing_balances_match_trial_balance(year)


def amounts(rows, key, *cols):
    return {r[key]: tuple(Decimal(r[c]) for c in cols) for r in rows}


RANGES = [(D(2025, 1, 1), D(2025, 12, 31)), (D(2025, 4, 1), D(2026, 11, 29)), (D(2026, 1, 1), D(2026, 11, 29)),
          (D(2025, 7, 1), D(2025, 7, 1)), (D(2025, 5, 15), D(2026, 11, 29))]
DATES = [D(2025, 3, 31), D(2025, 6, 30), D(2025, 12, 31), D(2026, 11, 29)]


def check_trial_balance_debits_equal_credits(year):
    for as_of in DATES:
        rows = year.csv("trial-balance", as_of=as_of)
        total = rows[-1]
        assert total["account_code"] == "TOTAL"
        assert total["debit"] == total["credit"]
        assert sum(Decimal(r["debit"]) for r in rows[:-1]) == Decimal(total["debit"])
        assert sum(Decimal(r["credit"]) for r in rows[:-1]) == Decimal(total["credit"])
        for fund in ("GEN", "SMILE", "STUDY", "ENDOW"):
            per_fund = year.csv("trial-balance", as_of=as_of, fund=fund)[-1]
            assert per_fund["debit"] == per_fund["credit"], fund


def check_financial_position_balances_and_matches_the_ledger(year):
    for as_of in DATES:
        rows = amounts(year.csv("financial-position", as_of=as_of), "code", "amount")
        assets, = rows["TOTAL_ASSETS"]
        liabilities, = rows["TOTAL_LIABILITIES"]
        net, = rows["TOTAL_NET_ASSETS"]
        assert assets == liabilities + net
        assert rows["TOTAL_LIABILITIES_AND_NET_ASSETS"] == (assets,)
        assert rows["NET_ASSETS_WITH"][0] == rows["NET_ASSETS_WITH_PURPOSE"][0] + rows["NET_ASSETS_WITH_ENDOWMENT"][0]
        without = selectors.fund_balance(year.f["GEN"], as_of=as_of)
        with_ = sum(selectors.fund_balance(year.f[c], as_of=as_of) for c in ("SMILE", "STUDY", "ENDOW"))
        assert rows["NET_ASSETS_WITHOUT"] == (without,)
        assert rows["NET_ASSETS_WITH"] == (with_,)
        for code in ("1002", "1012", "2202"):
            if code in rows:
                assert rows[code] == (selectors.account_balance(year.a[code], as_of=as_of),)


def check_activities_change_equals_change_in_financial_position(year, start, end):
    doc = year.json("activities", date_from=start, date_to=end)
    rows = {r["code"]: tuple(Decimal(r[c]) for c in ("without_donor_restriction", "with_donor_restriction", "total"))
            for r in doc["rows"] + doc["totals"]}
    before = amounts(year.csv("financial-position", as_of=start - dt.timedelta(days=1)), "code", "amount")
    after = amounts(year.csv("financial-position", as_of=end), "code", "amount")
    change = rows["CHANGE_IN_NET_ASSETS"]
    assert change[0] == after["NET_ASSETS_WITHOUT"][0] - before["NET_ASSETS_WITHOUT"][0]
    assert change[1] == after["NET_ASSETS_WITH"][0] - before["NET_ASSETS_WITH"][0]
    assert change[2] == after["TOTAL_NET_ASSETS"][0] - before["TOTAL_NET_ASSETS"][0]
    assert rows["NET_ASSETS_BEGINNING"] == (before["NET_ASSETS_WITHOUT"][0], before["NET_ASSETS_WITH"][0],
                                            before["TOTAL_NET_ASSETS"][0])
    assert rows["NET_ASSETS_END"] == (after["NET_ASSETS_WITHOUT"][0], after["NET_ASSETS_WITH"][0],
                                      after["TOTAL_NET_ASSETS"][0])
    # Each column adds up: income + release − expenses + direct postings.
    for i in (0, 1, 2):
        assert change[i] == (rows["TOTAL_INCOME"][i] + rows["RELEASED_FROM_RESTRICTION"][i]
                             - rows["TOTAL_EXPENSES"][i] + rows["OTHER_CHANGES"][i])
    assert rows["RELEASED_FROM_RESTRICTION"][2] == 0
    assert rows["TOTAL_EXPENSES"][0] == sum(
        rows[k][0] for k in ("PROGRAM_EXPENSES", "MANAGEMENT_EXPENSES", "FUNDRAISING_EXPENSES", "OTHER_EXPENSES")
    )


def check_fund_balances_sum_to_net_assets(year, start, end):
    rows = year.csv("fund-balances", date_from=start, date_to=end)
    after = amounts(year.csv("financial-position", as_of=end), "code", "amount")
    before = amounts(year.csv("financial-position", as_of=start - dt.timedelta(days=1)), "code", "amount")
    funds = amounts(rows, "fund_code", "opening", "donations", "spent", "closing")
    for code, (opening, donations, spent, closing) in funds.items():
        assert closing == opening + donations - spent, code
        assert closing == selectors.fund_balance(year.f[code], as_of=end), code
    restriction = {r["fund_code"]: r["restriction"] for r in rows}
    closing_with = sum(v[3] for c, v in funds.items() if restriction[c] in ("restricted", "endowment"))
    closing_without = sum(v[3] for c, v in funds.items() if restriction[c] == "unrestricted")
    opening_with = sum(v[0] for c, v in funds.items() if restriction[c] in ("restricted", "endowment"))
    assert closing_with == after["NET_ASSETS_WITH"][0]
    assert closing_without == after["NET_ASSETS_WITHOUT"][0]
    assert opening_with == before["NET_ASSETS_WITH"][0]
    # What restricted funds spent is what activities releases from restriction, when nothing moved directly.
    doc = year.json("activities", date_from=start, date_to=end)
    released = {r["code"]: r for r in doc["rows"]}["RELEASED_FROM_RESTRICTION"]["without_donor_restriction"]
    spent_with = sum(v[2] for c, v in funds.items() if restriction[c] in ("restricted", "endowment"))
    assert Decimal(released) == spent_with


def check_general_ledger_closing_balances_match_trial_balance(year):
    gl = [r for r in year.csv("general-ledger", date_from=D(2025, 2, 1), date_to=D(2026, 11, 29))]
    tb = {r["account_code"]: Decimal(r["debit"]) - Decimal(r["credit"])
          for r in year.csv("trial-balance", as_of=D(2026, 11, 29))[:-1]}
    for row in gl:
        if row["line"] == "closing":
            account = year.a[row["account_code"]]
            sign = 1 if account.type in ("asset", "expense") else -1
            assert Decimal(row["balance"]) == sign * tb.get(row["account_code"], Decimal(0)), row["account_code"]
    journal_total = year.json("journal", date_from=D(2025, 2, 1), date_to=D(2026, 11, 29))["totals"][0]
    assert gl[-1]["debit"] == journal_total["debit"] == journal_total["credit"] == gl[-1]["credit"]
