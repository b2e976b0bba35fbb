"""A textbook worked example: eight entries whose trial balance an accountant works out by hand.

    #  date        memo                                   fund  debit              credit
    1  2026-01-05  unrestricted gift                      GEN   1002 bank 10,000   4101 income 10,000
    2  2026-01-10  gift restricted to purpose a           FA    1002 bank  5,000   4102 income  5,000
    3  2026-02-01  stock bought on credit                 FA    1401 stock 1,200   2202 payable 1,200
    4  2026-02-15  supplier paid                          FA    2202 payable 1,200 1002 bank    1,200
    5  2026-03-01  stock handed out (purpose a)           FA    5101 exp a   800   1401 stock     800
    6  2026-03-05  management expense                     GEN   5201 admin 350.50  1002 bank   350.50
    7  2026-03-10  endowment contributed                  END   1002 bank 20,000   3101 equity 20,000
    8  2026-04-01  interest earned by the endowment       END   1002 bank 123.45   4101 income 123.45

Trial balance at the end:           debit        credit
    1002 bank                   33,572.95
    1401 stock                     400.00
    2202 payable                     0.00          0.00   (moved, nothing left)
    3101 net assets                           20,000.00
    4101 income                               10,123.45
    4102 income (restricted)                   5,000.00
    5101 expense a                 800.00
    5201 management                350.50
    total                       35,123.45     35,123.45
"""

import datetime as dt
from decimal import Decimal

import pytest

from ledger import selectors, services
from ledger.services import Cr, Dr
from ledger.verification import verify_book

ENTRIES = [
    (dt.date(2026, 1, 5), "unrestricted gift", "gen", "bank", "income", "10000"),
    (dt.date(2026, 1, 10), "gift restricted to purpose a", "fa", "bank", "income_r", "5000"),
    (dt.date(2026, 2, 1), "stock bought on credit", "fa", "stock", "payable", "1200"),
    (dt.date(2026, 2, 15), "supplier paid", "fa", "payable", "bank", "1200"),
    (dt.date(2026, 3, 1), "stock handed out", "fa", "exp_a", "stock", "800"),
    (dt.date(2026, 3, 5), "management expense", "gen", "exp_admin", "bank", "350.50"),
    (dt.date(2026, 3, 10), "endowment contributed", "endow", "bank", "equity", "20000"),
    (dt.date(2026, 4, 1), "interest earned by the endowment", "endow", "bank", "income", "123.45"),
]


@pytest.fixture
def worked(sb, user):
    for date, memo, fund, debit, credit, amount in ENTRIES:
        fund = getattr(sb, fund)
        services.entry_post(
            book=sb.book, date=date, memo=memo, user=user,
            legs=[Dr(getattr(sb, debit), fund, Decimal(amount)), Cr(getattr(sb, credit), fund, Decimal(amount))],
        )
    return sb


def rows(book, **kw):
    return {row.account.code: (row.debit, row.credit) for row in selectors.trial_balance(book, **kw)}


def totals(book, **kw):
    table = selectors.trial_balance(book, **kw)
    return sum(r.debit for r in table), sum(r.credit for r in table)


def test_trial_balance_by_hand(worked):
    assert rows(worked.book) == {
        "1002": (Decimal("33572.95"), Decimal("0.00")),
        "1401": (Decimal("400.00"), Decimal("0.00")),
        "2202": (Decimal("0.00"), Decimal("0.00")),
        "3101": (Decimal("0.00"), Decimal("20000.00")),
        "4101": (Decimal("0.00"), Decimal("10123.45")),
        "4102": (Decimal("0.00"), Decimal("5000.00")),
        "5101": (Decimal("800.00"), Decimal("0.00")),
        "5201": (Decimal("350.50"), Decimal("0.00")),
    }
    assert totals(worked.book) == (Decimal("35123.45"), Decimal("35123.45"))


def test_trial_balance_as_of_the_end_of_february(worked):
    assert rows(worked.book, as_of=dt.date(2026, 2, 28)) == {
        "1002": (Decimal("13800.00"), Decimal("0.00")),
        "1401": (Decimal("1200.00"), Decimal("0.00")),
        "2202": (Decimal("0.00"), Decimal("0.00")),
        "4101": (Decimal("0.00"), Decimal("10000.00")),
        "4102": (Decimal("0.00"), Decimal("5000.00")),
    }
    assert totals(worked.book, as_of=dt.date(2026, 2, 28)) == (Decimal("15000.00"), Decimal("15000.00"))


def test_each_fund_has_its_own_trial_balance(worked):
    assert rows(worked.book, fund=worked.fa) == {
        "1002": (Decimal("3800.00"), Decimal("0.00")),
        "1401": (Decimal("400.00"), Decimal("0.00")),
        "2202": (Decimal("0.00"), Decimal("0.00")),
        "4102": (Decimal("0.00"), Decimal("5000.00")),
        "5101": (Decimal("800.00"), Decimal("0.00")),
    }
    for fund, expected in (("gen", "10000.00"), ("fa", "5000.00"), ("endow", "20123.45")):
        assert totals(worked.book, fund=getattr(worked, fund)) == (Decimal(expected), Decimal(expected))
    assert selectors.trial_balance(worked.book, fund=worked.fb) == []


def test_account_balances_on_their_normal_side(worked):
    expected = {
        "bank": "33572.95", "stock": "400.00", "payable": "0.00", "equity": "20000.00",
        "income": "10123.45", "income_r": "5000.00", "exp_a": "800.00", "exp_admin": "350.50", "exp_b": "0.00",
    }
    for name, amount in expected.items():
        assert selectors.account_balance(getattr(worked, name)) == Decimal(amount), name
    assert selectors.account_balance(worked.bank, fund=worked.fa) == Decimal("3800.00")
    assert selectors.account_balance(worked.income, fund=worked.endow) == Decimal("123.45")
    assert selectors.account_balance(worked.bank, as_of=dt.date(2026, 1, 9)) == Decimal("10000.00")
    assert selectors.account_balance(worked.bank, as_of=dt.date(2025, 12, 31)) == Decimal("0.00")


def test_fund_net_assets(worked):
    expected = {"gen": "9649.50", "fa": "4200.00", "fb": "0.00", "endow": "20123.45"}
    for name, amount in expected.items():
        fund = getattr(worked, name)
        assert selectors.fund_balance(fund) == Decimal(amount), name
        assert selectors.fund_balance(fund, as_of=dt.date(2026, 4, 1)) == Decimal(amount), name
    assert selectors.fund_balance(worked.fa, as_of=dt.date(2026, 2, 28)) == Decimal("5000.00")
    assert selectors.fund_balance(worked.endow, as_of=dt.date(2026, 3, 31)) == Decimal("20000.00")
    # Net assets in total equal assets less liabilities.
    assert sum(selectors.fund_balance(getattr(worked, n)) for n in expected) == Decimal("33972.95")


def test_sequence_chain_and_verification(worked):
    from ledger.models import JournalEntry

    entries = list(JournalEntry.objects.filter(book=worked.book).order_by("sequence"))
    assert [e.sequence for e in entries] == list(range(1, 9))
    assert entries[0].previous_hash == "0" * 64
    assert all(b.previous_hash == a.hash for a, b in zip(entries, entries[1:]))
    worked.book.refresh_from_db()
    assert (worked.book.last_sequence, worked.book.head_hash) == (8, entries[-1].hash)
    assert selectors.head(worked.book) == (8, entries[-1].hash)
    verdict = verify_book(worked.book)
    assert verdict.ok, verdict.problem
    assert verdict.line() == f"OK 8 {entries[-1].hash} BK"


def test_reversing_the_whole_example_returns_every_balance_to_zero(worked, user):
    from ledger.models import JournalEntry

    for entry in JournalEntry.objects.filter(book=worked.book).order_by("-sequence"):
        services.entry_reverse(entry=entry, date=dt.date(2026, 4, 2), reason="undo", user=user)
    table = selectors.trial_balance(worked.book)
    assert all(r.debit == r.credit == Decimal("0.00") for r in table)
    for fund in (worked.gen, worked.fa, worked.fb, worked.endow):
        assert selectors.fund_balance(fund) == Decimal("0.00")
    assert rows(worked.book, as_of=dt.date(2026, 4, 1))["1002"] == (Decimal("33572.95"), Decimal("0.00"))
    assert verify_book(worked.book).ok
