"""Foreign-currency entries: CNY amounts rounded half-even to the fen, and the per-fund CNY adjustment."""

import datetime as dt
from decimal import Decimal

import moneyed
import pytest

from ledger import selectors, services
from ledger.models import Leg
from ledger.services import Cr, Dr
from ledger.verification import verify_book

from .conftest import D


def post(sb, user, legs, rate, **kw):
    return services.entry_post(book=sb.book, date=D, memo="fx", user=user, legs=legs, fx_rate=Decimal(rate), **kw)


def legs_of(entry):
    return [(l.currency, l.debit, l.credit, l.debit_cny, l.credit_cny) for l in entry.legs.order_by("position")]


def test_hkd_gift_converted_at_its_rate(sb, user):
    entry = post(sb, user, [Dr(sb.bank, sb.gen, Decimal("1000"), "HKD"), Cr(sb.income, sb.gen, Decimal("1000"), "HKD")], "0.9123")
    assert legs_of(entry) == [("HKD", 100000, 0, 91230, 0), ("HKD", 0, 100000, 0, 91230)]
    assert entry.fx_rate == Decimal("0.9123")
    assert selectors.account_balance(sb.bank) == Decimal("912.30")
    assert selectors.fund_balance(sb.gen) == Decimal("912.30")


@pytest.mark.parametrize(
    "amount, rate, cny",
    [
        ("0.05", "0.9", 4),  # 0.045 -> 0.04: exactly half a fen, to the even fen below
        ("0.15", "0.9", 14),  # 0.135 -> 0.14: exactly half a fen, to the even fen above
        ("0.25", "0.9", 22),  # 0.225 -> 0.22
        ("0.35", "0.9", 32),  # 0.315 -> 0.32
        ("1.01", "0.9", 91),  # 0.909 -> 0.91: not a tie, nearest
        ("100.01", "0.91234567", 9124),  # 91.24369... -> 91.24
        ("0.01", "0.4", 0),  # 0.004 -> 0.00: a leg may be worth nothing in CNY
    ],
)
def test_half_even_to_the_fen(sb, user, amount, rate, cny):
    entry = post(sb, user, [Dr(sb.bank, sb.gen, Decimal(amount), "HKD"), Cr(sb.income, sb.gen, Decimal(amount), "HKD")], rate)
    minor = int(Decimal(amount) * 100)
    assert legs_of(entry) == [("HKD", minor, 0, cny, 0), ("HKD", 0, minor, 0, cny)]


def test_round_cny_is_half_even():
    assert services.round_cny(Decimal("0.045")) == Decimal("0.04")
    assert services.round_cny(Decimal("0.135")) == Decimal("0.14")
    assert services.round_cny(Decimal("-0.045")) == Decimal("-0.04")
    assert services.round_cny(Decimal("2.5050")) == Decimal("2.50")
    assert services.round_cny(Decimal("2.5051")) == Decimal("2.51")


def test_split_debits_rounding_up_move_the_fen_to_the_credit(sb, user):
    """0.15 + 0.15 HKD at 0.9 are 0.14 + 0.14 CNY, but their 0.30 HKD credit is 0.27 CNY: the fund would be a fen
    out. The difference goes to the (largest) foreign leg on the short side, so the credit becomes 0.28."""
    entry = post(
        sb, user,
        [Dr(sb.bank, sb.gen, Decimal("0.15"), "HKD"), Dr(sb.stock, sb.gen, Decimal("0.15"), "HKD"),
         Cr(sb.income, sb.gen, Decimal("0.30"), "HKD")],
        "0.9",
    )
    assert legs_of(entry) == [("HKD", 15, 0, 14, 0), ("HKD", 15, 0, 14, 0), ("HKD", 0, 30, 0, 28)]
    assert selectors.account_balance(sb.income) == Decimal("0.28")
    assert selectors.fund_balance(sb.gen) == Decimal("0.28")


def test_split_credits_rounding_up_move_the_fen_to_the_debit(sb, user):
    """0.15 + 0.15 HKD credits at 0.9 are 0.14 + 0.14 CNY; their 0.30 HKD debit is 0.27 CNY: the debit is short and
    becomes 0.28."""
    entry = post(
        sb, user,
        [Dr(sb.bank, sb.gen, Decimal("0.30"), "HKD"), Cr(sb.income, sb.gen, Decimal("0.15"), "HKD"),
         Cr(sb.income_r, sb.gen, Decimal("0.15"), "HKD")],
        "0.9",
    )
    assert legs_of(entry) == [("HKD", 30, 0, 28, 0), ("HKD", 0, 15, 0, 14), ("HKD", 0, 15, 0, 14)]


def test_split_credits_rounding_down_give_the_fen_to_a_credit(sb, user):
    """0.05 + 0.05 HKD credits at 0.9 are 0.04 + 0.04 CNY (half a fen each, to even); the 0.10 HKD debit is 0.09
    CNY: the credits are a fen short, and the first of the (equal) largest takes it."""
    entry = post(
        sb, user,
        [Dr(sb.bank, sb.gen, Decimal("0.10"), "HKD"), Cr(sb.income, sb.gen, Decimal("0.05"), "HKD"),
         Cr(sb.income_r, sb.gen, Decimal("0.05"), "HKD")],
        "0.9",
    )
    assert legs_of(entry) == [("HKD", 10, 0, 9, 0), ("HKD", 0, 5, 0, 5), ("HKD", 0, 5, 0, 4)]


def test_adjustment_goes_to_the_largest_leg_on_the_short_side(sb, user):
    entry = post(
        sb, user,
        [Dr(sb.bank, sb.gen, Decimal("0.15"), "HKD"), Dr(sb.stock, sb.gen, Decimal("0.15"), "HKD"),
         Cr(sb.income, sb.gen, Decimal("0.10"), "HKD"), Cr(sb.income_r, sb.gen, Decimal("0.20"), "HKD")],
        "0.9",
    )
    # 0.14 + 0.14 against 0.09 + 0.18: the credits are a fen short; the 0.18 leg takes it.
    assert legs_of(entry)[2:] == [("HKD", 0, 10, 0, 9), ("HKD", 0, 20, 0, 19)]


def test_adjustment_is_made_per_fund(sb, user):
    entry = post(
        sb, user,
        [Dr(sb.bank, sb.gen, Decimal("0.15"), "HKD"), Dr(sb.stock, sb.gen, Decimal("0.15"), "HKD"),
         Cr(sb.income, sb.gen, Decimal("0.30"), "HKD"),
         Dr(sb.bank, sb.fa, Decimal("0.30"), "HKD"), Cr(sb.income_r, sb.fa, Decimal("0.15"), "HKD"),
         Cr(sb.income_r, sb.fa, Decimal("0.15"), "HKD")],
        "0.9",
    )
    cny = [(l.fund_id, l.debit_cny - l.credit_cny) for l in entry.legs.order_by("position")]
    assert cny == [(sb.gen.pk, 14), (sb.gen.pk, 14), (sb.gen.pk, -28), (sb.fa.pk, 28), (sb.fa.pk, -14), (sb.fa.pk, -14)]
    assert selectors.fund_balance(sb.gen) == selectors.fund_balance(sb.fa) == Decimal("0.28")
    assert verify_book(sb.book).ok


def test_cny_legs_beside_foreign_ones(sb, user):
    """A CNY pair and an HKD pair in one entry: each currency balances on its own; CNY legs are never adjusted."""
    entry = post(
        sb, user,
        [Dr(sb.bank, sb.gen, Decimal("0.15"), "HKD"), Dr(sb.stock, sb.gen, Decimal("0.15"), "HKD"),
         Cr(sb.income, sb.gen, Decimal("0.30"), "HKD"), Dr(sb.bank, sb.gen, Decimal("5")), Cr(sb.income, sb.gen, Decimal("5"))],
        "0.9",
    )
    assert legs_of(entry)[3:] == [("CNY", 500, 0, 500, 0), ("CNY", 0, 500, 0, 500)]
    assert legs_of(entry)[2] == ("HKD", 0, 30, 0, 28)


def test_money_amounts_carry_their_currency(sb, user):
    entry = post(
        sb, user,
        [Dr(sb.bank, sb.gen, moneyed.Money("20", "USD")), Cr(sb.income, sb.gen, moneyed.Money("20", "USD"), currency="HKD")],
        "7.1234",
    )
    assert legs_of(entry) == [("USD", 2000, 0, 14247, 0), ("USD", 0, 2000, 0, 14247)]  # 142.468 -> 142.47


def test_lower_case_currency_codes(sb, user):
    entry = post(sb, user, [Dr(sb.bank, sb.gen, Decimal("10"), "hkd"), Cr(sb.income, sb.gen, Decimal("10"), "hkd")], "0.9")
    assert {l.currency for l in entry.legs.all()} == {"HKD"}


def test_a_reversal_keeps_the_original_cny_figures(sb, user):
    entry = post(
        sb, user,
        [Dr(sb.bank, sb.gen, Decimal("0.15"), "HKD"), Dr(sb.stock, sb.gen, Decimal("0.15"), "HKD"),
         Cr(sb.income, sb.gen, Decimal("0.30"), "HKD")],
        "0.9",
    )
    reversal = services.entry_reverse(entry=entry, date=dt.date(2026, 3, 3), reason="wrong fund", user=user)
    assert reversal.fx_rate == entry.fx_rate
    assert legs_of(reversal) == [(c, cr, dr, ccr, cdr) for c, dr, cr, cdr, ccr in legs_of(entry)]
    for account in (sb.bank, sb.stock, sb.income):
        assert selectors.account_balance(account) == Decimal("0.00")
    assert Leg.objects.filter(entry=reversal).count() == 3
    assert verify_book(sb.book).ok
