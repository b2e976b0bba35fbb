"""Posting rules of donations, each checked against the ledger's balances."""

from ledger.services import system_user
import datetime as dt
from decimal import Decimal

import pytest
from djmoney.money import Money

from beneficiaries.models import StockBalance, StockItem
from charity import errors
from charity.models import Donation, Receipt
from charity.services import donation_record, donor_create
from ledger.models import JournalEntry

from .conftest import D

pytestmark = pytest.mark.django_db


def give(trust, funds, officer, **kw):
    args = dict(trust=trust, external_id="DN-1", date=D, amount=Decimal("1200.00"), fund=funds["SMILE"],
                channel="bank", user=officer)
    args.update(kw)
    donation, _created = donation_record(**args)
    return donation


def test_restricted_gift_raises_fund_balance_and_restricted_income_by_exactly_its_amount(trust, funds, officer, books):
    before_fund, before_income = books.fund("SMILE"), books.balance("410102")
    donor = donor_create(by=system_user(), trust=trust, kind="individual", name="熊慧", external_id="D-1")
    donation = give(trust, funds, officer, donor=donor)
    assert books.fund("SMILE") - before_fund == Decimal("1200.00")
    assert books.balance("410102") - before_income == Decimal("1200.00")
    assert books.balance("410102", "SMILE") == Decimal("1200.00")
    assert books.balance("100201", "SMILE") == Decimal("1200.00")
    assert books.balance("410101") == 0 and books.fund("GEN") == 0
    assert donation.amount == Money("1200.00", "CNY") and donation.amount_cny == Decimal("1200.00")
    assert donation.entry.source_type == "donation" and donation.entry.source_id == "DN-1"


@pytest.mark.parametrize(
    "channel, asset", [("bank", "100201"), ("wechat", "100901"), ("alipay", "100902"), ("cash", "1001")]
)
@pytest.mark.parametrize("fund, income", [("GEN", "410101"), ("SMILE", "410102"), ("ENDOW", "410103")])
def test_channel_and_restriction_pick_the_accounts(trust, funds, officer, books, channel, asset, fund, income):
    give(trust, funds, officer, channel=channel, fund=funds[fund], amount=Decimal("88.80"))
    assert books.balance(asset, fund) == Decimal("88.80")
    assert books.balance(income, fund) == Decimal("88.80")
    assert books.fund(fund) == Decimal("88.80")


@pytest.mark.parametrize("fund, income", [("GEN", "410104"), ("SMILE", "410105"), ("ENDOW", "410105")])
def test_gift_in_kind_enters_inventory_at_fair_value(trust, funds, officer, books, fund, income):
    donation = give(trust, funds, officer, channel="in_kind", fund=funds[fund], amount=Decimal("12500.00"),
                    item="sanitary_products", quantity=1000)
    assert books.balance("120102", fund) == Decimal("12500.00")
    assert books.balance(income, fund) == Decimal("12500.00")
    item = StockItem.objects.get(book=trust.book, code="sanitary_products")
    assert item.inventory_account.code == "120102"
    balance = StockBalance.objects.get(item=item, fund=funds[fund])
    assert (balance.quantity, balance.value) == (1000, 1250000)
    assert donation.receipts.get().item == "sanitary_products"


def test_donated_smile_packs_use_the_smile_pack_inventory(trust, funds, officer, books):
    give(trust, funds, officer, channel="in_kind", amount=Decimal("2000.00"), item="smile_pack", quantity=10)
    assert books.balance("120101", "SMILE") == Decimal("2000.00")
    assert books.balance("120102") == 0


@pytest.mark.parametrize(
    "amount, currency, rate, cny",
    [
        ("7700.12", "HKD", "0.91988", "7083.19"),  # 7083.186... rounds up
        ("6000.40", "USD", "7.1563", "42940.66"),  # 42940.66252 rounds down
        ("1.25", "USD", "7.1", "8.88"),  # 8.875: exactly half a fen, 7 is odd -> up to 8.88
        ("1.15", "USD", "7.1", "8.16"),  # 8.165: exactly half a fen, 6 is even -> stays 8.16
        ("0.05", "HKD", "0.9", "0.04"),  # 0.045 -> 0.04 (half-even), not 0.05 (half-up)
    ],
)
def test_foreign_currency_converted_half_even_to_the_fen(trust, funds, officer, books, amount, currency, rate, cny):
    donation = give(trust, funds, officer, amount=Decimal(amount), currency=currency, fx_rate=Decimal(rate))
    assert donation.amount == Money(amount, currency)
    assert donation.amount_cny == Decimal(cny)
    assert books.fund("SMILE") == Decimal(cny)
    assert books.balance("410102", "SMILE") == Decimal(cny)
    assert donation.entry.fx_rate == Decimal(rate)
    leg = donation.entry.legs.get(debit__gt=0)
    assert leg.currency == currency and leg.debit_amount == Decimal(amount)


def test_money_argument_carries_its_currency(trust, funds, officer):
    donation = give(trust, funds, officer, amount=Money("100.00", "EUR"), fx_rate=Decimal("7.8"))
    assert donation.amount_cny == Decimal("780.00")


@pytest.mark.parametrize(
    "kw, field",
    [
        (dict(currency="HKD"), "fx_rate"),
        (dict(currency="XYZ", fx_rate=Decimal("1")), "currency"),
        (dict(fx_rate=Decimal("7.1")), "fx_rate"),
        (dict(amount=Decimal("0")), "amount"),
        (dict(amount=Decimal("-5")), "amount"),
        (dict(amount=Decimal("1.005")), "amount"),
        (dict(amount=1200.0), "amount"),
        (dict(channel="paypal"), "channel"),
        (dict(channel="in_kind"), "item"),
        (dict(channel="in_kind", item="books"), "quantity"),
        (dict(item="books", quantity=3), "item"),
        (dict(date=dt.date(2099, 1, 1)), "date"),
        (dict(external_id=""), "external_id"),
    ],
)
def test_bad_gifts_are_refused_and_write_nothing(trust, funds, officer, kw, field):
    with pytest.raises(errors.CharityError) as caught:
        give(trust, funds, officer, **kw)
    assert caught.value.field == field
    assert not Donation.objects.exists() and not JournalEntry.objects.exists() and not Receipt.objects.exists()


def test_idempotent_on_external_id(trust, funds, officer, books):
    first, created = donation_record(trust=trust, external_id="DN-1", date=D, amount=Decimal("1200.00"),
                                     fund=funds["SMILE"], channel="bank", user=officer)
    again, created_again = donation_record(trust=trust, external_id="DN-1", date=D, amount=Decimal("1200.00"),
                                           fund=funds["SMILE"], channel="bank", user=officer)
    assert again.pk == first.pk and (created, created_again) == (True, False)
    assert JournalEntry.objects.count() == 1 and Receipt.objects.count() == 1
    assert books.fund("SMILE") == Decimal("1200.00")
    with pytest.raises(errors.DuplicateExternalId):
        give(trust, funds, officer, amount=Decimal("1300.00"))
    assert JournalEntry.objects.count() == 1


def test_anonymous_walk_in_gift_has_no_donor(trust, funds, officer):
    donation = give(trust, funds, officer, channel="cash", fund=funds["GEN"])
    assert donation.donor is None
    receipt = donation.receipts.get()
    assert receipt.donor_name == "" and receipt.donor_anonymous


def test_closed_period_refuses(trust, funds, officer, approver):
    from ledger.services import period_close

    period_close(book=trust.book, month="2026-02", user=approver)
    with pytest.raises(errors.DonationError) as caught:
        give(trust, funds, officer, date=dt.date(2026, 2, 27))
    assert caught.value.field == "date" and caught.value.code == "closed_period"


def test_donation_is_append_only(trust, funds, officer):
    donation = give(trust, funds, officer)
    with pytest.raises(errors.ImmutableRecord):
        donation.delete()
    with pytest.raises(errors.ImmutableRecord):
        Donation.objects.all().delete()
    assert Donation.objects.count() == 1


def test_donor_of_another_trust_refused(trust, funds, officer):
    from charity.services import trust_create

    other = trust_create(user=system_user(), code="OTHER", name="另一信托")
    stranger = donor_create(by=system_user(), trust=other, kind="individual", name="X")
    with pytest.raises(errors.DonationError):
        give(trust, funds, officer, donor=stranger)
