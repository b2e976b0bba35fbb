"""Closing months: balances as of past dates stay right before and after the checkpoints, and ``close_period``."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from ledger import errors, selectors, services
from ledger.models import BalanceCheckpoint, Period
from ledger.services import Cr, Dr

from .conftest import make_book, nothing_written

# (date, fund, debit account, credit account, amount)
HISTORY = [
    (dt.date(2026, 1, 5), "gen", "bank", "income", "1000.00"),
    (dt.date(2026, 1, 20), "fa", "bank", "income_r", "600.00"),
    (dt.date(2026, 1, 31), "gen", "exp_admin", "bank", "45.10"),
    (dt.date(2026, 2, 1), "fa", "exp_a", "bank", "200.00"),
    (dt.date(2026, 2, 14), "gen", "bank", "income", "333.33"),
    (dt.date(2026, 2, 28), "fa", "stock", "payable", "150.00"),
    (dt.date(2026, 3, 1), "gen", "exp_admin", "payable", "12.34"),
    (dt.date(2026, 3, 31), "fa", "exp_a", "stock", "100.00"),
]

DATES = [
    None,
    dt.date(2025, 12, 31),
    dt.date(2026, 1, 5),
    dt.date(2026, 1, 30),
    dt.date(2026, 1, 31),
    dt.date(2026, 2, 1),
    dt.date(2026, 2, 28),
    dt.date(2026, 3, 15),
    dt.date(2026, 3, 31),
    dt.date(2026, 6, 30),
]
ACCOUNTS = ["bank", "stock", "payable", "income", "income_r", "exp_a", "exp_admin"]
FUNDS = ["gen", "fa", "fb"]


def post_history(sb, user, history=HISTORY):
    for date, fund, debit, credit, amount in history:
        fund = getattr(sb, fund)
        services.entry_post(
            book=sb.book, date=date, memo="h", user=user,
            legs=[Dr(getattr(sb, debit), fund, Decimal(amount)), Cr(getattr(sb, credit), fund, Decimal(amount))],
        )


def by_hand(sb, as_of):
    """Balances from the history above with no help from the engine: (account, fund or None) -> signed normal."""
    debit_normal = {"bank", "stock", "exp_a", "exp_admin"}
    out = {}
    for date, fund, debit, credit, amount in HISTORY:
        if as_of is not None and date > as_of:
            continue
        for name, sign in ((debit, 1), (credit, -1)):
            value = Decimal(amount) * (sign if name in debit_normal else -sign)
            for key in ((name, None), (name, fund)):
                out[key] = out.get(key, Decimal(0)) + value
    return out


def snapshot(sb):
    """Every balance the selectors give, at every date of interest."""
    result = {}
    for as_of in DATES:
        for name in ACCOUNTS:
            result[(as_of, name)] = selectors.account_balance(getattr(sb, name), as_of=as_of)
        result[(as_of, "by account and fund")] = selectors.balances_by_account_and_fund(sb.book, as_of=as_of)
        for fund in FUNDS:
            result[(as_of, "net assets", fund)] = selectors.fund_balance(getattr(sb, fund), as_of=as_of)
        result[(as_of, "trial balance")] = [
            (r.account.code, r.debit, r.credit) for r in selectors.trial_balance(sb.book, as_of=as_of)
        ]
    return result


def test_balances_as_of_past_dates_match_the_hand_computation(sb, user):
    post_history(sb, user)
    for as_of in DATES:
        expected = by_hand(sb, as_of)
        for name in ACCOUNTS:
            assert selectors.account_balance(getattr(sb, name), as_of=as_of) == expected.get((name, None), 0), (as_of, name)
            for fund in FUNDS:
                got = selectors.account_balance(getattr(sb, name), fund=getattr(sb, fund), as_of=as_of)
                assert got == expected.get((name, fund), 0), (as_of, name, fund)


def test_balances_are_the_same_before_and_after_closing(sb, user):
    post_history(sb, user)
    before = snapshot(sb)
    services.period_close(book=sb.book, month="2026-01", user=user)
    assert snapshot(sb) == before
    services.period_close(book=sb.book, month="2026-02", user=user)
    assert snapshot(sb) == before
    # Closing March without a row for a skipped month still gives a checkpoint through March 31.
    services.period_close(book=sb.book, month="2026-03", user=user)
    assert snapshot(sb) == before
    assert list(Period.objects.filter(book=sb.book).values_list("month", flat=True)) == [
        dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1),
    ]
    # Entries after the last close count from the checkpoint on; earlier dates do not see them.
    services.entry_post(
        book=sb.book, date=dt.date(2026, 4, 2), memo="april", user=user,
        legs=[Dr(sb.bank, sb.gen, Decimal("10")), Cr(sb.income, sb.gen, Decimal("10"))],
    )
    after = snapshot(sb)
    changed = {k for k in before if before[k] != after[k]}
    assert changed and all(k[0] is None or k[0] >= dt.date(2026, 4, 2) for k in changed)
    assert selectors.account_balance(sb.bank) == Decimal("1000") + Decimal("600") - Decimal("45.10") - Decimal("200") + Decimal("333.33") + 10
    assert selectors.account_balance(sb.bank, as_of=dt.date(2026, 3, 31)) == before[(dt.date(2026, 3, 31), "bank")]


def test_closing_a_later_month_first(sb, user):
    """Closing 2026-02 straight away closes January too; balances in January still come out right."""
    post_history(sb, user)
    before = snapshot(sb)
    services.period_close(book=sb.book, month="2026-02", user=user)
    assert snapshot(sb) == before
    with pytest.raises(errors.PeriodError, match="already closed"):
        services.period_close(book=sb.book, month="2026-01", user=user)


def test_checkpoint_holds_cumulative_totals(sb, user):
    post_history(sb, user)
    period = services.period_close(book=sb.book, month="2026-02", user=user)
    bank_gen = BalanceCheckpoint.objects.get(period=period, account=sb.bank, fund=sb.gen)
    assert (bank_gen.through, bank_gen.debit, bank_gen.credit) == (dt.date(2026, 2, 28), 133333, 4510)


def test_closing_refusals(sb, user):
    with nothing_written(sb.book):
        for month in ("2026-1-1", "2026/01", "January", "2026-13", ""):
            with pytest.raises(errors.PeriodError, match="YYYY-MM"):
                services.period_close(book=sb.book, month=month, user=user)
        with pytest.raises(errors.PeriodError, match="not begun"):
            services.period_close(book=sb.book, month="2099-01", user=user)
    assert not Period.objects.exists()


# --- the close_period command ------------------------------------------------------------------------------------


def test_close_period_command(sb, user, capsys):
    post_history(sb, user)
    call_command("close_period", "2026-01")
    assert capsys.readouterr().out.strip() == "closed BK through 2026-01-31 (2026-01)"
    sb.book.refresh_from_db()
    assert sb.book.closed_through == dt.date(2026, 1, 31)
    period = Period.objects.get(book=sb.book)
    assert period.closed_by.username == "system"


def test_close_period_command_refuses_a_bad_month(sb):
    with pytest.raises(CommandError, match="YYYY-MM") as info:
        call_command("close_period", "2026-01-15")
    assert info.value.returncode == 1
    assert not Period.objects.exists()


def test_close_period_command_refuses_to_close_twice(sb, user):
    call_command("close_period", "2026-01", user=user.username)
    with pytest.raises(CommandError, match="already closed") as info:
        call_command("close_period", "2026-01")
    assert info.value.returncode == 1
    assert Period.objects.count() == 1
    assert Period.objects.get().closed_by == user


def test_posting_into_a_month_closed_by_the_command(sb, user):
    call_command("close_period", "2026-01")
    sb.book.refresh_from_db()
    with nothing_written(sb.book):
        with pytest.raises(errors.ClosedPeriod):
            services.entry_post(
                book=sb.book, date=dt.date(2026, 1, 31), memo="late", user=user,
                legs=[Dr(sb.bank, sb.gen, Decimal("1")), Cr(sb.income, sb.gen, Decimal("1"))],
            )
    services.entry_post(
        book=sb.book, date=dt.date(2026, 2, 1), memo="on time", user=user,
        legs=[Dr(sb.bank, sb.gen, Decimal("1")), Cr(sb.income, sb.gen, Decimal("1"))],
    )


def test_close_period_command_needs_a_trust_when_there_are_several(sb):
    make_book("ZZ")
    with pytest.raises(CommandError, match="several trusts"):
        call_command("close_period", "2026-01")
    call_command("close_period", "2026-01", trust="ZZ")
    assert list(Period.objects.values_list("book__code", flat=True)) == ["ZZ"]
    with pytest.raises(CommandError, match="no trust with code"):
        call_command("close_period", "2026-01", trust="NOPE")
    with pytest.raises(CommandError, match="no user named"):
        call_command("close_period", "2026-02", trust="ZZ", user="nobody")
