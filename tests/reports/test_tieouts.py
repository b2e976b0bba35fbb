"""Tie-outs on seeded random years (conftest.random_year): the statements agree with each other and with raw SQL
sums over ``ledger_leg``, whatever was posted. Two seeds close a period midway, so balances start from a
checkpoint.

The statements read balances through ``ledger.selectors.movements`` (daily running totals and period
checkpoints), and so do ``selectors.account_balance`` and ``fund_balance``; a tie-out against those would pass
with a fault in ``movements``. So every figure here is compared with sums written in this file, straight over
the legs of posted entries (``ledger_sums``), joined to their entry, account and fund. A draft entry with legs
is left in each book: only posted entries count, on both sides.

Posting is the slow part, so each seed's books are built once and every check runs on them (``test_tieouts``).
"""

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from .conftest import D, make_books, random_year

SEEDS = [(1, None), (2, 6), (3, 3)]
NET_ASSET_TYPES = ("income", "expense", "net_assets")
WITH = ("restricted", "endowment")


@pytest.mark.parametrize("seed,close", SEEDS, ids=[f"seed{s}-close{c}" for s, c in SEEDS])
def test_tieouts(db, officer, seed, close):
    year = make_books(officer, code=f"R{seed}")
    random_year(year, seed=seed, year=2025, entries=90, close_month=close)
    random_year(year, seed=seed + 100, year=2026, entries=40)
    leave_a_draft(year, D(2025, 8, 15), "777777.77")
    check_trial_balance_debits_equal_credits(year)
    check_financial_position_balances_and_matches_the_ledger(year)
    for start, end in RANGES:
        check_activities_matches_the_ledger(year, start, end)
        check_fund_balances_match_the_ledger(year, start, end)
    check_general_ledger_and_journal_match_the_ledger(year)


RANGES = [(D(2025, 1, 1), D(2025, 12, 31)), (D(2025, 4, 1), D(2026, 11, 29)), (D(2026, 1, 1), D(2026, 11, 29)),
          (D(2025, 7, 1), D(2025, 7, 1)), (D(2025, 5, 15), D(2026, 11, 29))]
DATES = [D(2025, 3, 31), D(2025, 6, 30), D(2025, 12, 31), D(2026, 11, 29)]


# --- the ledger, summed by hand --------------------------------------------------------------------------------


def ledger_sums(year, *, to, since=None, by=("a.code",), fund=None) -> dict[tuple, tuple[int, int]]:
    """{key: (debit, credit)} in CNY fen over the legs of the book's *posted* entries dated ``since``..``to``
    (the entry's date; ``since`` None: from the start), grouped by ``by``: columns of the account ``a`` and
    the fund ``f``. Plain SQL over the tables, nothing from ``ledger.selectors``."""
    sql = (
        f"SELECT {', '.join(by)}, SUM(l.debit_cny), SUM(l.credit_cny) FROM ledger_leg l"
        " JOIN ledger_journalentry e ON e.id = l.entry_id"
        " JOIN ledger_account a ON a.id = l.account_id"
        " JOIN ledger_fund f ON f.id = l.fund_id"
        " WHERE e.book_id = %s AND e.status = 'posted' AND e.date <= %s"
    )
    params = [year.book.pk, to]
    if since is not None:
        sql += " AND e.date >= %s"
        params.append(since)
    if fund is not None:
        sql += " AND f.code = %s"
        params.append(fund)
    sql += f" GROUP BY {', '.join(by)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {tuple(key): (int(debit), int(credit)) for *key, debit, credit in cursor.fetchall()}


def cny(fen: int) -> Decimal:
    return Decimal(fen).scaleb(-2)


def net_assets_by_restriction(year, *, to, since=None) -> dict[str, int]:
    """Credit - debit over income, expense and net asset accounts, per fund restriction (fen)."""
    out = defaultdict(int)
    sums = ledger_sums(year, to=to, since=since, by=("a.type", "f.restriction"))
    for (kind, restriction), (debit, credit) in sums.items():
        if kind in NET_ASSET_TYPES:
            out[restriction] += credit - debit
    return out


def leave_a_draft(year, day, amount):
    """A balanced draft entry with its legs, inserted by hand: a statement that counted drafts would show it."""
    fen = int(Decimal(amount) * 100)
    with connection.cursor() as cursor:
        cursor.execute("SELECT MAX(sequence) + 1 FROM ledger_journalentry WHERE book_id = %s", [year.book.pk])
        sequence = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO ledger_journalentry (book_id, sequence, date, memo, status, source_type, source_id, "
            "created_by_id, created_at, payload_hash, previous_hash, hash) "
            "VALUES (%s, %s, %s, 'draft, never posted', 'draft', '', '', %s, %s, '', '', '')",
            [year.book.pk, sequence, day, year.user.pk, timezone.now()],
        )
        cursor.execute("SELECT id FROM ledger_journalentry WHERE book_id = %s AND sequence = %s",
                       [year.book.pk, sequence])
        entry_id = cursor.fetchone()[0]
        for position, (code, debit, credit) in enumerate((("100201", fen, 0), ("410101", 0, fen)), start=1):
            cursor.execute(
                "INSERT INTO ledger_leg (entry_id, position, account_id, fund_id, currency, debit, credit, "
                "debit_cny, credit_cny, date) VALUES (%s, %s, %s, %s, 'CNY', %s, %s, %s, %s, %s)",
                [entry_id, position, year.a[code].pk, year.f["GEN"].pk, debit, credit, debit, credit, day],
            )


# --- the checks ------------------------------------------------------------------------------------------------


def amounts(rows, key, *cols):
    return {r[key]: tuple(Decimal(r[c]) for c in cols) for r in rows}


def check_trial_balance_debits_equal_credits(year):
    for as_of in DATES:
        for fund in (None, "GEN", "SMILE", "STUDY", "ENDOW"):
            rows = year.csv("trial-balance", as_of=as_of, **({"fund": fund} if fund else {}))
            total = rows[-1]
            assert total["account_code"] == "TOTAL"
            assert total["debit"] == total["credit"]
            assert sum(Decimal(r["debit"]) for r in rows[:-1]) == Decimal(total["debit"])
            assert sum(Decimal(r["credit"]) for r in rows[:-1]) == Decimal(total["credit"])
            raw = {code: cny(d - c) for (code,), (d, c) in ledger_sums(year, to=as_of, fund=fund).items()}
            shown = {r["account_code"]: Decimal(r["debit"]) - Decimal(r["credit"]) for r in rows[:-1]}
            assert shown == {code: v for code, v in raw.items() if v or code in shown}, (as_of, fund)
            assert Decimal(total["debit"]) == sum(v for v in raw.values() if v > 0), (as_of, fund)


def check_financial_position_balances_and_matches_the_ledger(year):
    for as_of in DATES:
        doc = year.csv("financial-position", as_of=as_of)
        rows = amounts(doc, "code", "amount")
        detail = year.csv("financial-position-accounts", as_of=as_of)
        assets, = rows["TOTAL_ASSETS"]
        liabilities, = rows["TOTAL_LIABILITIES"]
        net, = rows["TOTAL_NET_ASSETS"]
        assert assets == liabilities + net
        assert rows["TOTAL_LIABILITIES_AND_NET_ASSETS"] == (assets,)
        assert rows["NET_ASSETS_WITH"][0] == rows["NET_ASSETS_WITH_PURPOSE"][0] + rows["NET_ASSETS_WITH_ENDOWMENT"][0]

        raw = ledger_sums(year, to=as_of, by=("a.type", "a.code"))
        for kind, total in (("asset", "TOTAL_ASSETS"), ("liability", "TOTAL_LIABILITIES")):
            expected = {code: cny(d - c if kind == "asset" else c - d)
                        for (t, code), (d, c) in raw.items() if t == kind and (d or c)}
            shown = {r["code"]: Decimal(r["amount"]) for r in detail
                     if r["section"] == kind and r["line_type"] == "account"}
            assert shown == expected, (as_of, kind)
            assert rows[total] == (sum(expected.values(), Decimal(0)),), (as_of, kind)
        by_class = net_assets_by_restriction(year, to=as_of)
        assert rows["NET_ASSETS_WITHOUT"] == (cny(by_class["unrestricted"]),)
        assert rows["NET_ASSETS_WITH_PURPOSE"] == (cny(by_class["restricted"]),)
        assert rows["NET_ASSETS_WITH_ENDOWMENT"] == (cny(by_class["endowment"]),)
        assert rows["TOTAL_NET_ASSETS"] == (cny(sum(by_class.values())),)


def check_activities_matches_the_ledger(year, start, end):
    doc = year.json("activities", date_from=start, date_to=end)
    lines = doc["rows"] + doc["totals"]
    rows = {r["code"]: tuple(Decimal(r[c]) for c in ("without_donor_restriction", "with_donor_restriction", "total"))
            for r in lines}
    # The statement against itself and against the financial position at both ends.
    before = amounts(year.csv("financial-position", as_of=start - dt.timedelta(days=1)), "code", "amount")
    after = amounts(year.csv("financial-position", as_of=end), "code", "amount")
    change = rows["CHANGE_IN_NET_ASSETS"]
    assert change[0] == after["NET_ASSETS_WITHOUT"][0] - before["NET_ASSETS_WITHOUT"][0]
    assert change[1] == after["NET_ASSETS_WITH"][0] - before["NET_ASSETS_WITH"][0]
    assert change[2] == after["TOTAL_NET_ASSETS"][0] - before["TOTAL_NET_ASSETS"][0]
    for i in (0, 1, 2):
        assert change[i] == (rows["TOTAL_INCOME"][i] + rows["RELEASED_FROM_RESTRICTION"][i]
                             - rows["TOTAL_EXPENSES"][i] + rows["OTHER_CHANGES"][i])
    assert rows["TOTAL_EXPENSES"][0] == sum(
        rows[k][0] for k in ("PROGRAM_EXPENSES", "MANAGEMENT_EXPENSES", "FUNDRAISING_EXPENSES", "OTHER_EXPENSES")
    )

    # Every line against the legs: income by the restriction of the fund credited, every expense "without",
    # what restricted funds spent released from "with" to "without", direct postings to net assets.
    raw = ledger_sums(year, to=end, since=start, by=("a.type", "a.code", "f.restriction"))
    income, expense = defaultdict(lambda: [0, 0]), defaultdict(int)
    released, other = 0, [0, 0]
    for (kind, code, restriction), (d, c) in raw.items():
        col = 1 if restriction in WITH else 0
        if kind == "income":
            income[code][col] += c - d
        elif kind == "expense":
            expense[code] += d - c
            released += (d - c) if col else 0
        elif kind == "net_assets":
            other[col] += c - d
    detail = year.json("activities-accounts", date_from=start, date_to=end)
    detail_lines = detail["rows"] + detail["totals"]
    account_rows = {r["code"]: tuple(Decimal(r[c]) for c in ("without_donor_restriction", "with_donor_restriction",
                                                               "total")) for r in detail_lines}
    shown_income = {r["code"]: account_rows[r["code"]] for r in detail_lines
                    if r["line_type"] == "account" and r["code"][0] == "4"}
    assert shown_income == {code: (cny(w), cny(r), cny(w + r)) for code, (w, r) in income.items()}, (start, end)
    shown_expense = {r["code"]: account_rows[r["code"]] for r in detail_lines
                     if r["line_type"] == "account" and r["code"][0] == "5"}
    assert shown_expense == {code: (cny(v), 0, cny(v)) for code, v in expense.items()}, (start, end)
    assert {r["code"] for r in detail_lines if r["line_type"] == "account"} == set(shown_income) | set(shown_expense)
    assert not [r for r in lines if r["line_type"] == "account"]  # the standard's lines carry no account rows
    total_income = [sum(v[i] for v in income.values()) for i in (0, 1)]
    assert rows["TOTAL_INCOME"] == (cny(total_income[0]), cny(total_income[1]), cny(sum(total_income)))
    assert rows["TOTAL_EXPENSES"] == (cny(sum(expense.values())), 0, cny(sum(expense.values())))
    assert rows["RELEASED_FROM_RESTRICTION"] == (cny(released), -cny(released), 0)
    assert rows["OTHER_CHANGES"] == (cny(other[0]), cny(other[1]), cny(sum(other)))
    moved = net_assets_by_restriction(year, to=end, since=start)
    moved_with = sum(moved[r] for r in WITH)
    assert change == (cny(moved["unrestricted"]), cny(moved_with), cny(moved["unrestricted"] + moved_with))
    opening = net_assets_by_restriction(year, to=start - dt.timedelta(days=1))
    opening_with = sum(opening[r] for r in WITH)
    assert rows["NET_ASSETS_BEGINNING"] == (cny(opening["unrestricted"]), cny(opening_with),
                                            cny(opening["unrestricted"] + opening_with))
    assert rows["NET_ASSETS_END"] == (cny(opening["unrestricted"] + moved["unrestricted"]),
                                      cny(opening_with + moved_with), cny(sum(opening.values()) + sum(moved.values())))


def check_fund_balances_match_the_ledger(year, start, end):
    rows = year.csv("fund-balances", date_from=start, date_to=end)
    funds = amounts(rows, "fund_code", "opening", "donations", "spent", "closing")
    for code, (opening, donations, spent, closing) in funds.items():
        assert closing == opening + donations - spent, code

    def per_fund(to, since=None):
        out = defaultdict(lambda: defaultdict(int))
        for (fund, kind), (d, c) in ledger_sums(year, to=to, since=since, by=("f.code", "a.type")).items():
            out[fund][kind] += c - d
        return out

    before, moved, after = per_fund(start - dt.timedelta(days=1)), per_fund(end, start), per_fund(end)
    expected = {}
    for code in year.f:
        direct = moved[code]["net_assets"]  # an opening balance adds to the fund; a transfer out takes from it
        expected[code] = (
            cny(sum(before[code][k] for k in NET_ASSET_TYPES)),
            cny(moved[code]["income"] + max(direct, 0)),  # income net of refunds
            cny(-moved[code]["expense"] + max(-direct, 0)),  # expenses net of reversals
            cny(sum(after[code][k] for k in NET_ASSET_TYPES)),
        )
    assert funds == expected, (start, end)

    # What restricted funds spent is what activities releases from restriction, when nothing moved directly.
    restriction = {r["fund_code"]: r["restriction"] for r in rows}
    doc = year.json("activities", date_from=start, date_to=end)
    released = {r["code"]: r for r in doc["rows"]}["RELEASED_FROM_RESTRICTION"]["without_donor_restriction"]
    assert Decimal(released) == sum(v[2] for c, v in funds.items() if restriction[c] in WITH)


def check_general_ledger_and_journal_match_the_ledger(year):
    start, end = D(2025, 2, 1), D(2026, 11, 29)
    gl = year.csv("general-ledger", date_from=start, date_to=end)
    types = {code: account.type for code, account in year.a.items()}
    opening = ledger_sums(year, to=start - dt.timedelta(days=1))
    moved = ledger_sums(year, to=end, since=start)
    closing = ledger_sums(year, to=end)

    def signed(code, d, c):
        return cny(d - c if types[code] in ("asset", "expense") else c - d)

    seen = set()
    for row in gl[:-1]:
        code = row["account_code"]
        seen.add(code)
        if row["line"] == "opening":
            assert Decimal(row["balance"]) == signed(code, *opening.get((code,), (0, 0))), code
        elif row["line"] == "closing":
            d, c = moved.get((code,), (0, 0))
            assert (Decimal(row["debit"]), Decimal(row["credit"])) == (cny(d), cny(c)), code
            assert Decimal(row["balance"]) == signed(code, *closing.get((code,), (0, 0))), code
    assert seen == {code for sums in (opening, moved) for (code,), (d, c) in sums.items() if d or c}
    legs = sum(1 for r in gl if r["line"] == "leg")
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM ledger_leg l JOIN ledger_journalentry e ON e.id = l.entry_id "
                       "WHERE e.book_id = %s AND e.status = 'posted' AND e.date BETWEEN %s AND %s",
                       [year.book.pk, start, end])
        assert legs == cursor.fetchone()[0]
    debits, credits = sum(d for d, _ in moved.values()), sum(c for _, c in moved.values())
    assert debits == credits
    assert (Decimal(gl[-1]["debit"]), Decimal(gl[-1]["credit"])) == (cny(debits), cny(credits))
    journal = year.json("journal", date_from=start, date_to=end)
    total = journal["totals"][0]
    assert (Decimal(total["debit"]), Decimal(total["credit"])) == (cny(debits), cny(credits))
