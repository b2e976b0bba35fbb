"""Every refusal of ``entry_post`` / ``entry_reverse``: the right typed error, and nothing written at all."""

import datetime as dt
from decimal import Decimal

import moneyed
import pytest

from ledger import errors, services
from ledger.models import JournalEntry, Leg
from ledger.services import Cr, Dr, LegSpec

from .conftest import D, make_book, nothing_written, today


@pytest.fixture
def funded(sb, user):
    """The book with some history: 1,000 into GEN, 500 into FA (restricted to purpose a), 300 into END."""
    for fund, amount in ((sb.gen, "1000"), (sb.fa, "500"), (sb.endow, "300")):
        services.entry_post(
            book=sb.book, date=D, memo=f"gift {fund.code}", user=user,
            legs=[Dr(sb.bank, fund, Decimal(amount)), Cr(sb.income, fund, Decimal(amount))],
        )
    sb.book.refresh_from_db()
    return sb


def post(sb, user, legs, **kw):
    kw.setdefault("date", D)
    kw.setdefault("memo", "test")
    return services.entry_post(book=sb.book, legs=legs, user=user, **kw)


def refuse(sb, user, error, legs, match=None, **kw):
    with nothing_written(sb.book):
        with pytest.raises(error, match=match) as info:
            post(sb, user, legs, **kw)
    assert isinstance(info.value, errors.LedgerError)
    assert info.value.message
    return info.value


def test_fewer_than_two_legs(funded, user):
    refuse(funded, user, errors.TooFewLegs, [])
    refuse(funded, user, errors.TooFewLegs, [Dr(funded.bank, funded.gen, Decimal("1"))], match="two legs")


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("0.00"), Decimal("-5"), Decimal("-0.01")])
def test_zero_or_negative_amount(funded, user, amount):
    legs = [Dr(funded.bank, funded.gen, amount), Cr(funded.income, funded.gen, amount)]
    error = refuse(funded, user, errors.InvalidAmount, legs, match="above zero")
    assert error.field == "amount"


@pytest.mark.parametrize("amount", [Decimal("1.005"), Decimal("0.001"), Decimal("100.123"), "12.3456"])
def test_more_than_two_decimal_places(funded, user, amount):
    legs = [Dr(funded.bank, funded.gen, amount), Cr(funded.income, funded.gen, amount)]
    refuse(funded, user, errors.InvalidAmount, legs, match="two decimal places")


@pytest.mark.parametrize("amount", [1.5, "abc", Decimal("NaN"), Decimal("Infinity"), None])
def test_amounts_that_are_not_decimals(funded, user, amount):
    legs = [LegSpec(account=funded.bank, fund=funded.gen, debit=amount), Cr(funded.income, funded.gen, Decimal("1"))]
    refuse(funded, user, errors.InvalidAmount, legs)


def test_both_or_neither_side(funded, user):
    both = LegSpec(account=funded.bank, fund=funded.gen, debit=Decimal("1"), credit=Decimal("1"))
    refuse(funded, user, errors.InvalidAmount, [both, Cr(funded.income, funded.gen, Decimal("1"))], match="exactly one")


def test_trailing_zeros_beyond_two_places_are_fine(funded, user):
    entry = post(funded, user, [Dr(funded.bank, funded.gen, Decimal("1.500")), Cr(funded.income, funded.gen, Decimal("1.5"))])
    assert [leg.debit + leg.credit for leg in entry.legs.all()] == [150, 150]


@pytest.mark.parametrize("currency", ["XYZ", "RMB", "HK", "EURO"])
def test_unknown_currency(funded, user, currency):
    legs = [Dr(funded.bank, funded.gen, Decimal("1"), currency), Cr(funded.income, funded.gen, Decimal("1"), currency)]
    error = refuse(funded, user, errors.UnknownCurrency, legs, fx_rate=Decimal("1"))
    assert error.field == "currency"


def test_missing_fx_rate(funded, user):
    legs = [Dr(funded.bank, funded.gen, Decimal("10"), "HKD"), Cr(funded.income, funded.gen, Decimal("10"), "HKD")]
    refuse(funded, user, errors.MissingRate, legs, match="HKD needs fx_rate")
    money = [Dr(funded.bank, funded.gen, moneyed.Money("10", "USD")), Cr(funded.income, funded.gen, moneyed.Money("10", "USD"))]
    refuse(funded, user, errors.MissingRate, money)


@pytest.mark.parametrize("rate", [Decimal("0"), Decimal("-0.9")])
def test_fx_rate_must_be_above_zero(funded, user, rate):
    legs = [Dr(funded.bank, funded.gen, Decimal("10"), "HKD"), Cr(funded.income, funded.gen, Decimal("10"), "HKD")]
    refuse(funded, user, errors.InvalidAmount, legs, fx_rate=rate)


def test_legs_that_do_not_balance(funded, user):
    refuse(
        funded, user, errors.Unbalanced,
        [Dr(funded.bank, funded.gen, Decimal("100")), Cr(funded.income, funded.gen, Decimal("99.99"))],
        match="debits exceed credits by 0.01",
    )


def test_legs_that_balance_in_cny_but_not_per_currency(funded, user):
    """90 CNY against 100 HKD at 0.9 is 90 CNY a side, but an entry balances in each currency on its own."""
    legs = [Dr(funded.bank, funded.gen, Decimal("90")), Cr(funded.income, funded.gen, Decimal("100"), "HKD")]
    refuse(funded, user, errors.Unbalanced, legs, fx_rate=Decimal("0.9"), match="do not balance in")


def test_legs_that_balance_overall_but_not_per_fund(funded, user):
    legs = [Dr(funded.bank, funded.gen, Decimal("100")), Cr(funded.income, funded.fa, Decimal("100"))]
    refuse(funded, user, errors.Unbalanced, legs, match="fund (FA|GEN)")


def test_account_or_fund_of_another_book(funded, user):
    other = make_book("OTHER")
    refuse(funded, user, errors.ForeignBook, [Dr(other.bank, funded.gen, Decimal("1")), Cr(funded.income, funded.gen, Decimal("1"))])
    refuse(funded, user, errors.ForeignBook, [Dr(funded.bank, other.gen, Decimal("1")), Cr(funded.income, other.gen, Decimal("1"))])


def test_date_in_a_closed_period(funded, user):
    services.period_close(book=funded.book, month="2026-03", user=user)
    legs = [Dr(funded.bank, funded.gen, Decimal("1")), Cr(funded.income, funded.gen, Decimal("1"))]
    for date in (dt.date(2026, 3, 31), dt.date(2026, 3, 1), dt.date(2026, 1, 15)):
        refuse(funded, user, errors.ClosedPeriod, legs, date=date, match="closed period")
    post(funded, user, legs, date=dt.date(2026, 4, 1))  # the day after is open


def test_date_after_today(funded, user):
    legs = [Dr(funded.bank, funded.gen, Decimal("1")), Cr(funded.income, funded.gen, Decimal("1"))]
    refuse(funded, user, errors.FutureDate, legs, date=today() + dt.timedelta(days=1))
    post(funded, user, legs, date=today())


def test_date_must_be_a_date(funded, user):
    legs = [Dr(funded.bank, funded.gen, Decimal("1")), Cr(funded.income, funded.gen, Decimal("1"))]
    refuse(funded, user, errors.LedgerError, legs, date=dt.datetime(2026, 3, 2, 12, 0))
    refuse(funded, user, errors.LedgerError, legs, date="2026-03-02")


def test_idempotency_same_payload_returns_the_first_entry(funded, user):
    legs = lambda: [Dr(funded.bank, funded.gen, Decimal("50")), Cr(funded.income, funded.gen, Decimal("50"))]  # noqa: E731
    first = post(funded, user, legs(), idempotency_key="gift-42")
    with nothing_written(funded.book):
        again = post(funded, user, legs(), idempotency_key="gift-42")
    assert again.pk == first.pk and again.sequence == first.sequence


@pytest.mark.parametrize(
    "change",
    [
        {"amount": Decimal("51")},
        {"date": dt.date(2026, 3, 3)},
        {"memo": "other memo"},
        {"fund": "fa"},
        {"source": ("donation", "9")},
    ],
    ids=["amount", "date", "memo", "fund", "source"],
)
def test_idempotency_same_key_different_payload(funded, user, change):
    post(funded, user, [Dr(funded.bank, funded.gen, Decimal("50")), Cr(funded.income, funded.gen, Decimal("50"))],
         idempotency_key="gift-42")
    fund = getattr(funded, change.get("fund", "gen"))
    amount = change.get("amount", Decimal("50"))
    kw = {k: v for k, v in change.items() if k in ("date", "memo", "source")}
    error = refuse(
        funded, user, errors.IdempotencyConflict,
        [Dr(funded.bank, fund, amount), Cr(funded.income, fund, amount)], idempotency_key="gift-42", **kw,
    )
    assert error.field == "idempotency_key" and "#4" in error.message


def test_idempotency_keys_are_per_book(funded, user):
    other = make_book("OTHER")
    a = post(funded, user, [Dr(funded.bank, funded.gen, Decimal("5")), Cr(funded.income, funded.gen, Decimal("5"))], idempotency_key="k")
    b = services.entry_post(
        book=other.book, date=D, memo="test", user=user, idempotency_key="k",
        legs=[Dr(other.bank, other.gen, Decimal("5")), Cr(other.income, other.gen, Decimal("5"))],
    )
    assert a.pk != b.pk and b.sequence == 1


def test_reversing_twice(funded, user):
    entry = JournalEntry.objects.get(book=funded.book, sequence=1)
    services.entry_reverse(entry=entry, date=D, reason="duplicate", user=user)
    funded.book.refresh_from_db()
    with nothing_written(funded.book):
        with pytest.raises(errors.AlreadyReversed, match="#1"):
            services.entry_reverse(entry=entry, date=D, reason="again", user=user)


def test_reversal_replayed_with_its_idempotency_key_returns_the_first_reversal(funded, user):
    """A retried reversal request (same key, same content) is a replay, not a second reversal."""
    entry = JournalEntry.objects.get(book=funded.book, sequence=1)
    first = services.entry_reverse(entry=entry, date=D, reason="duplicate", user=user, idempotency_key="rev-1")
    funded.book.refresh_from_db()
    with nothing_written(funded.book):
        again = services.entry_reverse(entry=entry, date=D, reason="duplicate", user=user, idempotency_key="rev-1")
    assert again.pk == first.pk
    with nothing_written(funded.book):
        with pytest.raises(errors.IdempotencyConflict):
            services.entry_reverse(entry=entry, date=D, reason="other reason", user=user, idempotency_key="rev-1")


def test_reversal_needs_a_reason_and_a_date_not_before_the_entry(funded, user):
    entry = JournalEntry.objects.get(book=funded.book, sequence=1)
    with nothing_written(funded.book):
        with pytest.raises(errors.LedgerError, match="reason"):
            services.entry_reverse(entry=entry, date=D, reason="  ", user=user)
        with pytest.raises(errors.LedgerError, match="before the entry"):
            services.entry_reverse(entry=entry, date=D - dt.timedelta(days=1), reason="x", user=user)
        with pytest.raises(errors.FutureDate):
            services.entry_reverse(entry=entry, date=today() + dt.timedelta(days=1), reason="x", user=user)


def test_reversal_into_a_closed_period(funded, user):
    entry = JournalEntry.objects.get(book=funded.book, sequence=1)
    services.period_close(book=funded.book, month="2026-03", user=user)
    funded.book.refresh_from_db()
    with nothing_written(funded.book):
        with pytest.raises(errors.ClosedPeriod):
            services.entry_reverse(entry=entry, date=D, reason="late", user=user)
    services.entry_reverse(entry=entry, date=dt.date(2026, 4, 1), reason="late", user=user)


@pytest.mark.parametrize("account", ["exp_a", "exp_admin"])
def test_endowment_spending(funded, user, account):
    legs = [Dr(getattr(funded, account), funded.endow, Decimal("10")), Cr(funded.bank, funded.endow, Decimal("10"))]
    error = refuse(funded, user, errors.PurposeViolation, legs, match="END is an endowment")
    assert error.field == "fund"


@pytest.mark.parametrize("account", ["exp_b", "exp_admin"])
def test_restricted_fund_spent_against_its_purpose(funded, user, account):
    legs = [Dr(getattr(funded, account), funded.fa, Decimal("10")), Cr(funded.bank, funded.fa, Decimal("10"))]
    refuse(funded, user, errors.PurposeViolation, legs, match="fund FA is restricted to a")


def test_restricted_fund_overspending(funded, user):
    legs = lambda amount: [Dr(funded.exp_a, funded.fa, amount), Cr(funded.bank, funded.fa, amount)]  # noqa: E731
    error = refuse(funded, user, errors.InsufficientFunds, legs(Decimal("500.01")), match="FA has 500.00 CNY")
    assert error.field == "fund"
    post(funded, user, legs(Decimal("500.00")))  # exactly what it holds is fine
    refuse(funded, user, errors.InsufficientFunds, legs(Decimal("0.01")))


def test_unrestricted_fund_may_go_below_zero(funded, user):
    post(funded, user, [Dr(funded.exp_admin, funded.gen, Decimal("1500")), Cr(funded.payable, funded.gen, Decimal("1500"))])
    funded.gen.refresh_from_db()
    assert funded.gen.net_assets_amount == Decimal("-500.00")


def test_reduces_only_on_a_debit_to_income(funded, user):
    source = Leg.objects.get(entry__sequence=1, position=2)
    legs = [Dr(funded.bank, funded.gen, Decimal("1"), reduces=source), Cr(funded.income, funded.gen, Decimal("1"))]
    refuse(funded, user, errors.LedgerError, legs, match="only a debit to income")


def test_reduces_names_a_source_of_another_fund(funded, user):
    """Giving back money in GEN cannot eat into a gift that sits in FA."""
    fa_source = Leg.objects.get(entry__sequence=2, position=2)
    assert fa_source.fund_id == funded.fa.pk
    legs = [Dr(funded.income, funded.gen, Decimal("100"), reduces=fa_source), Cr(funded.bank, funded.gen, Decimal("100"))]
    refuse(funded, user, errors.LedgerError, legs, match="source")


def test_a_refused_give_back_leaves_the_callers_book_untouched(funded, user):
    """The refusal comes late (while tracing sources); the Book object the caller holds must not have moved on."""
    source = Leg.objects.get(entry__sequence=1, position=2)
    legs = [Dr(funded.income, funded.gen, Decimal("1000.01"), reduces=source), Cr(funded.bank, funded.gen, Decimal("1000.01"))]
    refuse(funded, user, errors.AllocatedSource, legs, match="1000.00 CNY")
    entry = post(funded, user, [Dr(funded.bank, funded.gen, Decimal("1")), Cr(funded.income, funded.gen, Decimal("1"))])
    assert entry.sequence == 4 == funded.book.last_sequence


@pytest.mark.parametrize("amount", ["1000000000000", "1e30", "100000000000000000"])
def test_amounts_too_large_for_the_books(funded, user, amount):
    """Refused as an amount error, not a decimal or database overflow from deep inside the post."""
    legs = [Dr(funded.bank, funded.gen, Decimal(amount)), Cr(funded.income, funded.gen, Decimal(amount))]
    refuse(funded, user, errors.InvalidAmount, legs, match="above the largest")


def test_largest_amount_is_accepted(funded, user):
    amount = services.MAX_AMOUNT
    entry = post(funded, user, [Dr(funded.bank, funded.gen, amount), Cr(funded.income, funded.gen, amount)])
    assert entry.legs.first().debit == 99999999999999


def test_foreign_amount_too_large_in_cny(funded, user):
    legs = [Dr(funded.bank, funded.gen, Decimal("999999999999"), "USD"), Cr(funded.income, funded.gen, Decimal("999999999999"), "USD")]
    refuse(funded, user, errors.InvalidAmount, legs, fx_rate=Decimal("7.1"), match="above the largest")


@pytest.mark.parametrize("rate", ["0.912345678", "10000000000", "1e-9"])
def test_fx_rate_that_the_books_cannot_store_exactly(funded, user, rate):
    """JournalEntry.fx_rate holds 8 decimal places: a longer rate would be rounded when stored, after the CNY
    amounts and the hash had been computed with the unrounded one (verify_ledger then calls the entry altered)."""
    legs = [Dr(funded.bank, funded.gen, Decimal("1000"), "HKD"), Cr(funded.income, funded.gen, Decimal("1000"), "HKD")]
    refuse(funded, user, errors.InvalidAmount, legs, fx_rate=Decimal(rate), match="fx_rate")


def test_fx_rate_with_eight_places_verifies(funded, user):
    from ledger.verification import verify_book

    legs = [Dr(funded.bank, funded.gen, Decimal("1000"), "HKD"), Cr(funded.income, funded.gen, Decimal("1000"), "HKD")]
    entry = post(funded, user, legs, fx_rate=Decimal("0.91234568"))
    entry.refresh_from_db()
    assert entry.fx_rate == Decimal("0.91234568")
    assert entry.legs.first().debit_cny == 91235  # 912.34568 -> 912.35
    assert verify_book(funded.book).ok
