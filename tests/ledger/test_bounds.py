"""ledger.bounds: the one rule for amounts, rates and text, whichever door a value comes in by."""

from decimal import Decimal

import pytest

from ledger import bounds, errors, services


def test_the_ledger_refuses_past_the_same_limits(sb, user):
    """The posting path takes its limits from bounds: one cent above the largest amount, a rate with nine
    places, a NUL in the memo are refused by entry_post as by every other door."""
    import datetime as dt

    from ledger.services import Cr, Dr

    day = dt.date(2026, 1, 5)
    too_much = bounds.MAX_AMOUNT + Decimal("0.01")
    with pytest.raises(errors.InvalidAmount, match="above the largest"):
        services.entry_post(book=sb.book, date=day, memo="", user=user,
                            legs=[Dr(sb.bank, sb.gen, too_much), Cr(sb.income, sb.gen, too_much)])
    with pytest.raises(errors.InvalidAmount, match="8 decimal places"):
        services.entry_post(book=sb.book, date=day, memo="", user=user, fx_rate=Decimal("7.123456789"),
                            legs=[Dr(sb.bank, sb.gen, Decimal("1"), "USD"), Cr(sb.income, sb.gen, Decimal("1"), "USD")])
    with pytest.raises(errors.LedgerError, match="NUL"):
        services.entry_post(book=sb.book, date=day, memo="a\x00b", user=user,
                            legs=[Dr(sb.bank, sb.gen, Decimal("1")), Cr(sb.income, sb.gen, Decimal("1"))])


def test_amounts_up_to_the_largest():
    assert bounds.check_amount(bounds.MAX_AMOUNT) == bounds.MAX_AMOUNT
    with pytest.raises(errors.InvalidAmount, match="above the largest"):
        bounds.check_amount(bounds.MAX_AMOUNT + Decimal("0.01"))


@pytest.mark.parametrize("rate", [Decimal("7.123456789"), Decimal("1e10"), Decimal("1e30")])
def test_rates_the_entry_can_hold(rate):
    with pytest.raises(errors.InvalidAmount) as caught:
        bounds.check_rate(rate)
    assert caught.value.field == "fx_rate"
    assert bounds.check_rate(Decimal("7.12345678")) == Decimal("7.12345678")


class Refused(Exception):
    def __init__(self, message, *, field):
        super().__init__(message)
        self.message, self.field = message, field


def test_text_with_a_nul_is_refused_with_the_callers_error():
    assert bounds.check_text("ok", field="memo") == "ok" and bounds.check_text(None, field="memo") is None
    with pytest.raises(errors.LedgerError, match="memo contains a NUL"):
        bounds.check_text("a\x00b", field="memo")
    with pytest.raises(Refused) as caught:
        bounds.check_text("a\x00b", field="name", error=Refused, what="the donor's name")
    assert (caught.value.field, caught.value.message) == ("name", "the donor's name contains a NUL character")
