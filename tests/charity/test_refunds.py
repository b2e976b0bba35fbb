"""Refunds give back only what is unspent of a gift (docs/ledger.md: FIFO allocation)."""

import datetime as dt
from decimal import Decimal

import pytest

from beneficiaries.models import StockBalance
from charity import errors
from charity.models import Receipt, Refund
from charity.selectors import donation_trace
from charity.services import donation_record, donation_refund
from ledger import services as ledger
from ledger.services import Cr, Dr

from .conftest import D

pytestmark = pytest.mark.django_db
LATER = D + dt.timedelta(days=5)


def gift(trust, funds, officer, external_id="DN-1", amount="1000.00", fund="STUDY", **kw):
    donation, _created = donation_record(trust=trust, external_id=external_id, date=D, amount=Decimal(amount),
                                         fund=funds[fund], channel=kw.pop("channel", "bank"), user=officer, **kw)
    return donation


def spend(trust, funds, books, officer, amount, fund="STUDY"):
    """A study grant paid from the fund (what a disbursement posts): a use the ledger allocates FIFO."""
    return ledger.entry_post(
        book=trust.book, date=D + dt.timedelta(days=1), memo="grant", user=officer,
        legs=[Dr(books.account("510102"), funds[fund], Decimal(amount)), Cr(books.account("100201"), funds[fund], Decimal(amount))],
    )


def test_full_refund_reverses_the_entry(trust, funds, officer, books):
    donation = gift(trust, funds, officer)
    refund = donation_refund(donation=donation, external_id="RF-1", date=LATER, user=officer, reason="duplicate")
    assert refund.entry.reverses_id == donation.entry_id
    assert refund.amount_cny == Decimal("1000.00")
    assert books.fund("STUDY") == 0 and books.balance("410102", "STUDY") == 0 and books.balance("100201") == 0
    receipt = donation.receipts.get()
    assert receipt.voided and "RF-1" in receipt.void_reason
    assert donation_trace(donation).unspent == 0


def test_partial_refund_reduces_the_gift_and_reissues_its_receipt(trust, funds, officer, books):
    donation = gift(trust, funds, officer)
    donation_refund(donation=donation, external_id="RF-1", date=LATER, user=officer, reason="part",
                    amount=Decimal("300.00"))
    assert books.fund("STUDY") == Decimal("700.00")
    assert books.balance("410102", "STUDY") == Decimal("700.00")
    assert donation_trace(donation).unspent == Decimal("700.00")
    old, new = donation.receipts.order_by("number")
    assert old.voided and not new.voided
    assert new.amount.amount == Decimal("700.00") and new.note == f"replaces {old.label}"
    # the rest, then nothing more
    donation_refund(donation=donation, external_id="RF-2", date=LATER, user=officer, reason="rest")
    assert books.fund("STUDY") == 0
    assert not Receipt.objects.filter(donation=donation, voided_at__isnull=True).exists()
    with pytest.raises(errors.RefundRefused, match="refunded in full"):
        donation_refund(donation=donation, external_id="RF-3", date=LATER, user=officer, reason="again")


def test_spent_part_cannot_go_back(trust, funds, officer, books):
    donation = gift(trust, funds, officer)
    spend(trust, funds, books, officer, "600.00")
    with pytest.raises(errors.RefundRefused) as caught:
        donation_refund(donation=donation, external_id="RF-1", date=LATER, user=officer, reason="changed mind")
    message = caught.value.message
    assert "600.00 CNY has already been allocated to spending" in message and "unspent 400.00 CNY" in message
    assert caught.value.field == "amount"
    assert not Refund.objects.exists() and books.fund("STUDY") == Decimal("400.00")
    assert not donation.receipts.get().voided
    with pytest.raises(errors.RefundRefused):
        donation_refund(donation=donation, external_id="RF-1", date=LATER, user=officer, reason="x",
                        amount=Decimal("400.01"))
    donation_refund(donation=donation, external_id="RF-1", date=LATER, user=officer, reason="unspent part",
                    amount=Decimal("400.00"))
    trace = donation_trace(donation)
    assert (trace.spent, trace.refunded, trace.unspent) == (Decimal("600.00"), Decimal("400.00"), 0)
    assert [u.account for u in trace.uses] == ["510102"]


def test_fifo_spends_the_older_gift_first(trust, funds, officer, books):
    older = gift(trust, funds, officer, "DN-1")
    newer = gift(trust, funds, officer, "DN-2")
    spend(trust, funds, books, officer, "1000.00")
    with pytest.raises(errors.RefundRefused):
        donation_refund(donation=older, external_id="RF-1", date=LATER, user=officer, reason="x")
    donation_refund(donation=newer, external_id="RF-2", date=LATER, user=officer, reason="x")
    assert books.fund("STUDY") == 0


def test_foreign_currency_partial_refund_at_the_gifts_rate(trust, funds, officer, books):
    donation = gift(trust, funds, officer, amount="100.00", currency="USD", fx_rate=Decimal("7.1563"))
    assert donation.amount_cny == Decimal("715.63")
    refund = donation_refund(donation=donation, external_id="RF-1", date=LATER, user=officer, reason="x",
                             amount=Decimal("10.05"))
    assert refund.amount.currency.code == "USD" and refund.amount_cny == Decimal("71.92")  # 71.920815
    assert books.fund("STUDY") == Decimal("643.71")


def test_gift_in_kind_goes_back_whole(trust, funds, officer, books):
    donation = gift(trust, funds, officer, amount="2500.00", fund="GEN", channel="in_kind", item="books", quantity=100)
    with pytest.raises(errors.RefundRefused, match="whole"):
        donation_refund(donation=donation, external_id="RF-1", date=LATER, user=officer, reason="x",
                        amount=Decimal("100.00"))
    donation_refund(donation=donation, external_id="RF-1", date=LATER, user=officer, reason="returned")
    assert books.balance("120102") == 0 and books.balance("410104") == 0
    assert StockBalance.objects.get(item__code="books").quantity == 0


def test_refund_is_idempotent_and_conflicts_are_refused(trust, funds, officer, books):
    donation = gift(trust, funds, officer)
    first = donation_refund(donation=donation, external_id="RF-1", date=LATER, user=officer, reason="x",
                            amount=Decimal("100.00"))
    again = donation_refund(donation=donation, external_id="RF-1", date=LATER, user=officer, reason="x",
                            amount=Decimal("100.00"))
    assert again.pk == first.pk and books.fund("STUDY") == Decimal("900.00")
    with pytest.raises(errors.DuplicateExternalId):
        donation_refund(donation=donation, external_id="RF-1", date=LATER, user=officer, reason="x",
                        amount=Decimal("200.00"))


def test_refund_before_the_gift_or_without_reason_refused(trust, funds, officer):
    donation = gift(trust, funds, officer)
    with pytest.raises(errors.DonationError) as caught:
        donation_refund(donation=donation, external_id="RF-1", date=D - dt.timedelta(days=1), user=officer, reason="x")
    assert caught.value.field == "date"
    with pytest.raises(errors.DonationError) as caught:
        donation_refund(donation=donation, external_id="RF-1", date=LATER, user=officer, reason=" ")
    assert caught.value.field == "reason"
    assert not Refund.objects.exists()
