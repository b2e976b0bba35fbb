"""Balances read in one statement: ``account_balance`` and ``movements`` against an independent SUM over legs.

The history spans closed months (one of them closed only implicitly, by closing a later month), a gap, and open
months; a second book with other closes posts on the same days, so nothing may leak between books. Every
balance is checked at many dates: before anything, on and around month ends, inside closed and open months, and
after the last entry. The truth is a plain SQL sum over ``ledger_leg`` (CNY columns, posted entries) that knows
nothing of daily balances or checkpoints.
"""

import datetime as dt
import random
from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import connection

from ledger import errors, selectors, services
from ledger.models import Leg, Period, from_minor
from ledger.services import Cr, Dr

from .conftest import make_book

FIRST_DAY = dt.date(2025, 1, 6)
LAST_DAY = dt.date(2025, 6, 27)

# (fund, debit account, credit account): income first and often, so that most spending is allowed.
PAIRS = [
    ("gen", "bank", "income"),
    ("gen", "bank", "income"),
    ("gen", "exp_admin", "bank"),
    ("gen", "stock", "payable"),
    ("gen", "payable", "bank"),
    ("fa", "bank", "income_r"),
    ("fa", "bank", "income_r"),
    ("fa", "exp_a", "bank"),
    ("fb", "bank", "income_r"),
    ("fb", "exp_b", "payable"),
    ("endow", "bank", "equity"),
]
ACCOUNTS = ["bank", "stock", "payable", "equity", "income", "income_r", "exp_a", "exp_b", "exp_admin"]
FUNDS = ["gen", "fa", "fb", "endow"]


def post_random_history(sb, user, seed: int) -> int:
    """Entries on random days of the first half of 2025, some of them in HKD; returns how many were posted."""
    rng = random.Random(seed)
    days = sorted(FIRST_DAY + dt.timedelta(days=rng.randrange((LAST_DAY - FIRST_DAY).days + 1)) for _ in range(70))
    days += [dt.date(2025, 1, 31), dt.date(2025, 2, 1), dt.date(2025, 2, 28), dt.date(2025, 3, 31)]
    posted = 0
    for day in sorted(days):
        fund, debit, credit = rng.choice(PAIRS)
        fund = getattr(sb, fund)
        amount = Decimal(rng.randrange(1, 500_000)) / 100
        currency, rate = ("HKD", Decimal("0.9123")) if rng.random() < 0.25 else ("CNY", None)
        try:
            services.entry_post(
                book=sb.book, date=day, memo="h", user=user, fx_rate=rate,
                legs=[Dr(getattr(sb, debit), fund, amount, currency), Cr(getattr(sb, credit), fund, amount, currency)],
            )
        except errors.LedgerError:  # a restricted fund that would go below zero: the ledger writes nothing
            continue
        posted += 1
    return posted


@pytest.fixture
def books(db, user):
    """Two books with histories on the same days; different months closed in each."""
    main, other = make_book("MAIN"), make_book("OTHER")
    assert post_random_history(main, user, seed=8) > 40
    assert post_random_history(other, user, seed=9) > 40
    for month in ("2025-01", "2025-02", "2025-04"):  # March closed by closing April: no Period row for it
        services.period_close(book=main.book, month=month, user=user)
    for month in ("2025-03", "2025-05"):
        services.period_close(book=other.book, month=month, user=user)
    assert list(Period.objects.filter(book=main.book).values_list("month", flat=True)) == [
        dt.date(2025, 1, 1), dt.date(2025, 2, 1), dt.date(2025, 4, 1),
    ]
    return main, other


def _dates() -> list:
    dates = [None, FIRST_DAY - dt.timedelta(days=1), FIRST_DAY, LAST_DAY, LAST_DAY + dt.timedelta(days=1),
             dt.date(2025, 12, 31)]
    for month in range(1, 8):
        first = dt.date(2025, month, 1)
        last = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
        dates += [first, first + dt.timedelta(days=13), last - dt.timedelta(days=1), last]
    return dates


DATES = _dates()


def legs_sum(book, *, as_of=None, since=None) -> dict[tuple[int, int], list[int]]:
    """[debit, credit] CNY fen per (account id, fund id), straight from posted legs."""
    table, entries = Leg._meta.db_table, "ledger_journalentry"
    sql = (
        f"SELECT l.account_id, l.fund_id, SUM(l.debit_cny), SUM(l.credit_cny) FROM {table} l "
        f"JOIN {entries} e ON e.id = l.entry_id WHERE e.book_id = %s AND e.status = 'posted'"
    )
    params = [book.pk]
    if as_of is not None:
        sql += " AND l.date <= %s"
        params.append(as_of)
    if since is not None:
        sql += " AND l.date >= %s"
        params.append(since)
    with connection.cursor() as cursor:
        cursor.execute(sql + " GROUP BY l.account_id, l.fund_id", params)
        return {(a, f): [int(d), int(c)] for a, f, d, c in cursor.fetchall()}


def rolled_up(truth, key, *, account_ids=None, fund_ids=None):
    """The truth per (account, fund) summed to ``key(account_id, fund_id)``, optionally filtered."""
    out = defaultdict(lambda: [0, 0])
    for (account_id, fund_id), (debit, credit) in truth.items():
        if account_ids is not None and account_id not in account_ids:
            continue
        if fund_ids is not None and fund_id not in fund_ids:
            continue
        out[key(account_id, fund_id)][0] += debit
        out[key(account_id, fund_id)][1] += credit
    return dict(out)


def normal(account, debit: int, credit: int) -> Decimal:
    return from_minor(debit - credit if account.debit_normal else credit - debit)


def test_account_balance_equals_the_sum_of_legs_at_every_date(books):
    for sb in books:
        for as_of in DATES:
            truth = legs_sum(sb.book, as_of=as_of)
            for name in ACCOUNTS:
                account = getattr(sb, name)
                debit, credit = rolled_up(truth, lambda a, f: a, account_ids={account.pk}).get(account.pk, [0, 0])
                assert selectors.account_balance(account, as_of=as_of) == normal(account, debit, credit), (
                    sb.book.code, as_of, name,
                )
                for fund_name in FUNDS:
                    fund = getattr(sb, fund_name)
                    debit, credit = truth.get((account.pk, fund.pk), [0, 0])
                    assert selectors.account_balance(account, fund=fund, as_of=as_of) == normal(
                        account, debit, credit
                    ), (sb.book.code, as_of, name, fund_name)


def test_movements_equal_the_sum_of_legs_at_every_date(books):
    main, _ = books
    some_accounts = [main.bank.pk, main.exp_a.pk, main.income_r.pk]
    some_funds = [main.fa.pk, main.endow.pk]
    for as_of in DATES:
        truth = legs_sum(main.book, as_of=as_of)
        assert selectors.movements(main.book.pk, as_of=as_of, group=("account_id", "fund_id")) == truth, as_of
        assert selectors.movements(main.book.pk, as_of=as_of) == rolled_up(truth, lambda a, f: (a,)), as_of
        assert selectors.movements(main.book.pk, as_of=as_of, group=("fund_id",)) == rolled_up(
            truth, lambda a, f: (f,)
        ), as_of
        assert selectors.movements(main.book.pk, as_of=as_of, group=("fund_id", "account_id")) == rolled_up(
            truth, lambda a, f: (f, a)
        ), as_of
        assert selectors.movements(
            main.book.pk, as_of=as_of, account_ids=some_accounts, fund_ids=some_funds, group=("account_id", "fund_id")
        ) == rolled_up(truth, lambda a, f: (a, f), account_ids=set(some_accounts), fund_ids=set(some_funds)), as_of
        assert selectors.movements(main.book.pk, as_of=as_of, fund_ids=some_funds) == rolled_up(
            truth, lambda a, f: (a,), fund_ids=set(some_funds)
        ), as_of


def test_movements_between_two_dates_equal_the_sum_of_legs(books):
    main, _ = books
    days = [d for d in DATES if d is not None]
    for since in days[::3]:
        for as_of in [None, *days[1::4]]:
            truth = legs_sum(main.book, since=since, as_of=as_of)
            assert selectors.movements(main.book.pk, since=since, as_of=as_of, group=("account_id", "fund_id")) == (
                truth
            ), (since, as_of)
            assert selectors.movements(
                main.book.pk, since=since, as_of=as_of, account_ids=[main.bank.pk], fund_ids=[main.gen.pk]
            ) == rolled_up(truth, lambda a, f: (a,), account_ids={main.bank.pk}, fund_ids={main.gen.pk})


def test_movements_by_day_give_dates(books):
    main, _ = books
    by_day = selectors.movements(
        main.book.pk, since=dt.date(2025, 2, 1), as_of=dt.date(2025, 2, 28), group=("date",)
    )
    assert by_day and all(isinstance(day, dt.date) and day.month == 2 for (day,) in by_day)
    total = [sum(v[0] for v in by_day.values()), sum(v[1] for v in by_day.values())]
    truth = legs_sum(main.book, since=dt.date(2025, 2, 1), as_of=dt.date(2025, 2, 28))
    assert total == [sum(v[0] for v in truth.values()), sum(v[1] for v in truth.values())]
    assert total[0] == total[1]  # every entry balances


def test_the_books_other_readers_agree_with_the_legs(books):
    main, _ = books
    for as_of in DATES:
        truth = legs_sum(main.book, as_of=as_of)
        table = selectors.trial_balance(main.book, as_of=as_of)
        assert {r.account.pk: r.debit - r.credit for r in table} == {
            a: from_minor(d - c) for (a,), (d, c) in rolled_up(truth, lambda a, f: (a,)).items()
        }
        assert selectors.balances_by_account_and_fund(main.book, as_of=as_of) == {
            key: from_minor(d - c) for key, (d, c) in truth.items()
        }
        net_asset_accounts = {getattr(main, n).pk for n in ("equity", "income", "income_r", "exp_a", "exp_b",
                                                            "exp_admin")}
        for fund_name in FUNDS:
            fund = getattr(main, fund_name)
            d, c = rolled_up(truth, lambda a, f: f, account_ids=net_asset_accounts).get(fund.pk, [0, 0])
            assert selectors.fund_balance(fund, as_of=as_of) == from_minor(c - d), (as_of, fund_name)


def test_account_balance_is_one_statement(books, django_assert_num_queries):
    main, _ = books
    for as_of in (None, dt.date(2025, 3, 15), dt.date(2025, 4, 30), dt.date(2024, 12, 31)):
        with django_assert_num_queries(1):
            selectors.account_balance(main.bank, as_of=as_of)
        with django_assert_num_queries(1):
            selectors.account_balance(main.bank, fund=main.fa, as_of=as_of)
    with django_assert_num_queries(1):
        selectors.movements(main.book.pk, as_of=dt.date(2025, 5, 10), group=("account_id", "fund_id"))
    with django_assert_num_queries(1):
        selectors.movements(main.book.pk, since=dt.date(2025, 5, 1), as_of=dt.date(2025, 5, 10))
    with django_assert_num_queries(2):  # the balances, and the accounts to name them
        selectors.trial_balance(main.book, as_of=dt.date(2025, 5, 10))


def test_account_balance_on_an_empty_book_is_zero(db):
    sb = make_book("EMPTY")
    assert selectors.account_balance(sb.bank) == Decimal("0.00")
    assert selectors.account_balance(sb.bank, fund=sb.gen, as_of=dt.date(2025, 1, 31)) == Decimal("0.00")
    assert selectors.movements(sb.book.pk) == {}


def test_movements_refuse_what_they_cannot_answer(books):
    main, _ = books
    with pytest.raises(ValueError, match="group by"):
        selectors.movements(main.book.pk, group=("debit",))
    with pytest.raises(ValueError, match="no day"):
        selectors.movements(main.book.pk, as_of=dt.date(2025, 5, 1), group=("date",))
    assert selectors.movements(main.book.pk, account_ids=[]) == {}
    assert selectors.movements(main.book.pk, fund_ids=[]) == {}


def test_equal_rows_on_both_sides_of_a_checkpoint_all_count(db, user):
    """A checkpoint row and daily rows that carry the same figures are different money: none may be merged away."""
    sb = make_book("SAME")
    days = [dt.date(2025, 1, 10), dt.date(2025, 1, 20), dt.date(2025, 2, 3), dt.date(2025, 2, 17)]
    for day in days:
        services.entry_post(
            book=sb.book, date=day, memo="same", user=user,
            legs=[Dr(sb.bank, sb.gen, Decimal("100.00")), Cr(sb.income, sb.gen, Decimal("100.00"))],
        )
    services.entry_post(  # after this, the January checkpoint of the bank says 200.00, as do Feb's two days
        book=sb.book, date=dt.date(2025, 2, 20), memo="out", user=user,
        legs=[Dr(sb.exp_admin, sb.gen, Decimal("100.00")), Cr(sb.bank, sb.gen, Decimal("100.00"))],
    )
    services.period_close(book=sb.book, month="2025-01", user=user)
    assert selectors.account_balance(sb.bank, as_of=dt.date(2025, 1, 31)) == Decimal("200.00")
    assert selectors.account_balance(sb.bank, as_of=dt.date(2025, 2, 17)) == Decimal("400.00")
    assert selectors.account_balance(sb.bank) == Decimal("300.00")
    assert selectors.movements(sb.book.pk, since=dt.date(2025, 1, 1), account_ids=[sb.bank.pk]) == {
        (sb.bank.pk,): [40000, 10000]
    }
