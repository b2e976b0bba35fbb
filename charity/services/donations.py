"""Donations and refunds.

A donation posts one entry: debit the channel's account (bank, WeChat or Alipay clearing, cash) or, for goods,
the inventory (through ``beneficiaries.services.stock_receive``); credit donation income of the fund's
restriction, in the fund. The credit is a *source* in the ledger's FIFO tracing, so the ledger knows how much
of each gift has been allocated to spending. A refund gives back only what is still unallocated: in full by
reversing the entry, or in part by debiting income with ``reduces=`` the donation's income leg.
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from decimal import Decimal

from django.db.models import Sum

from beneficiaries.models import StockBalance, StockMove
from beneficiaries.services import stock_item_create, stock_receive, stock_reverse
from ledger import bounds
from ledger import errors as ledger_errors
from ledger import services as ledger
from ledger.models import Account, AccountType, Fund, FundSource, Leg, Restriction, from_minor
from ledger.services import Cr, Dr
from ledger.authority import require
from ledger.locking import Key, lock

from .. import chart
from ..errors import DonationError, DuplicateExternalId, RefundRefused
from ..roles import RECORD
from ..models import Channel, Donation, Donor, Receipt, ReceiptCounter, Refund, Trust
from ._common import account, check_date, check_external_id, check_fund, money_parts, translated, unique_or
from .links import _link_new
from .mail import receipt_mail_queue
from .receipts import _issue, receipt_void

NOTIFY = ("now", "queue", "off")

CHANNEL_ACCOUNTS = {
    Channel.BANK: chart.BANK,
    Channel.WECHAT: chart.WECHAT,
    Channel.ALIPAY: chart.ALIPAY,
    Channel.CASH: chart.CASH,
}
INCOME_ACCOUNTS = {
    Restriction.UNRESTRICTED: chart.DONATION_UNRESTRICTED,
    Restriction.RESTRICTED: chart.DONATION_RESTRICTED,
    Restriction.ENDOWMENT: chart.DONATION_ENDOWMENT,
}
IN_KIND_ACCOUNTS = {
    Restriction.UNRESTRICTED: chart.IN_KIND_UNRESTRICTED,
    Restriction.RESTRICTED: chart.IN_KIND_RESTRICTED,
    Restriction.ENDOWMENT: chart.IN_KIND_RESTRICTED,
}


def receiving_account(trust: Trust, channel: str, currency: str):
    """The account a gift arrives in: the channel's; for a bank transfer in a foreign currency, the trust's bank
    account in that currency (a 明细 of 1002 银行存款 with that currency: the chart has USD and HKD). The first
    transfer in another currency opens its account, coded after the last 明细 of 1002 (100204 银行存款—EUR户)."""
    if channel != Channel.BANK or currency == trust.base_currency:
        return account(trust, CHANNEL_ACCOUNTS[channel])
    cache = trust.__dict__.setdefault("_currency_accounts", {})
    if currency not in cache:
        bank = account(trust, chart.BANK_PARENT)
        found = Account.objects.filter(parent=bank, currency=currency).order_by("code").first()
        if found is None:
            codes = [int(c) for c in Account.objects.filter(parent=bank).values_list("code", flat=True) if c.isdigit()]
            found = ledger.account_create(
                book=trust.book, code=str(max(codes, default=int(bank.code) * 100) + 1), parent=bank,
                type=AccountType.ASSET, name=f"银行存款—{currency}户", name_en=f"Bank deposits – {currency} account",
                currency=currency,
            )
        cache[currency] = found
    return cache[currency]


def _rate(currency: str, fx_rate) -> Decimal | None:
    if fx_rate is not None and not isinstance(fx_rate, Decimal):
        if isinstance(fx_rate, float):
            raise DonationError("fx_rate must be a Decimal, not float", field="fx_rate")
        fx_rate = Decimal(str(fx_rate))
    if currency == "CNY":
        if fx_rate is not None and fx_rate != 1:
            raise DonationError(f"a CNY gift has no exchange rate other than 1 (got {fx_rate})", field="fx_rate")
        return None
    if fx_rate is None:
        raise DonationError(f"a gift in {currency} needs fx_rate (CNY per unit)", field="fx_rate")
    if not fx_rate.is_finite() or fx_rate <= 0:
        raise DonationError(f"fx_rate {fx_rate} must be above zero", field="fx_rate")
    return bounds.check_rate(fx_rate, error=DonationError)


def donation_key(external_id: str) -> str:
    """The idempotency key of a gift's entry in the ledger."""
    return f"donation:{external_id}"


def _same_donation(d: Donation, **want) -> bool:
    return (
        d.date == want["date"] and d.donor_id == (want["donor"].pk if want["donor"] else None)
        and d.amount.amount == want["amount"] and d.amount.currency.code == want["currency"]
        and (d.fx_rate or None) == (want["fx_rate"] or None) and d.channel == want["channel"]
        and d.fund_id == want["fund"].pk and d.item == want["item"] and d.quantity == want["quantity"]
        and d.description == want["description"] and d.order_id == want["order_id"]
    )


def donation_record(
    *, trust: Trust, external_id: str, date: dt.date, amount, fund: Fund, channel: str, user,
    donor: Donor | None = None, currency: str | None = None, fx_rate=None, item: str = "",
    quantity: int | None = None, description: str = "", unrecorded: bool = False, posting=None,
    notify: str = "now", order_id: str = "",
) -> tuple[Donation, bool]:
    """Record and post a gift and issue its receipt: ``(donation, created)``, as ``get_or_create`` answers.
    Idempotent on ``external_id``: the same gift again returns the first record (``created`` False) and writes
    nothing; the same id with different content is refused.

    ``unrecorded=True`` says the caller has already looked ``external_id`` up and found no donation (an import
    looks up the whole file in one query), so the lookup is skipped; a donation recorded in between is still
    caught, by the entry's idempotency key or by the unique constraint.

    Every new gift gets its link (``GiftLink``, the QR code on the receipt). ``notify`` says what becomes of the
    receipt e-mail of a donor with an address (``charity.mail``): ``now`` sent when the transaction commits,
    ``queue`` left for the queue's worker (a bulk import), ``off`` none (``import_csv --no-email``).

    ``order_id`` is the payment platform's order id (商户订单号), unique per trust and channel when given: a
    platform statement's line is matched to the gift by it."""
    require(user, RECORD, trust.book)
    if notify not in NOTIFY:
        raise DonationError(f"notify {notify!r} is not one of {', '.join(NOTIFY)}", field="notify")
    external_id = check_external_id(external_id)
    date = check_date(date)
    amount, currency = money_parts(amount, currency)
    rate = _rate(currency, fx_rate)
    if rate is not None and ledger.round_cny(amount * rate) == 0:
        # The ledger takes an entry worth nothing in CNY, but a gift is recorded at its CNY value (above zero).
        raise DonationError(f"amount {amount} {currency} rounds to 0.00 CNY at rate {rate}", field="amount")
    check_fund(trust, fund)
    if channel not in Channel.values:
        raise DonationError(f"channel {channel!r} is not one of {', '.join(Channel.values)}", field="channel")
    if donor is not None and donor.trust_id != trust.pk:
        raise DonationError("the donor belongs to another trust", field="donor")
    item = (item or "").strip()
    description = (description or "").strip()
    if len(description) > 2000:
        raise DonationError("a description is at most 2000 characters", field="description")
    bounds.check_text(description, field="description", error=DonationError)
    bounds.check_text(item, field="item", error=DonationError)
    if channel == Channel.IN_KIND:
        if not item or len(item) > 64:
            raise DonationError("a gift in kind names its item (1 to 64 characters)", field="item")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
            raise DonationError("a gift in kind has a quantity: a whole number above zero", field="quantity")
    elif item or quantity is not None:
        raise DonationError("item and quantity are for gifts in kind only", field="item")
    order_id = (order_id or "").strip()
    if order_id:
        if len(order_id) > 100:
            raise DonationError("an order id is at most 100 characters", field="order_id")
        bounds.check_text(order_id, field="order_id", error=DonationError)
        if channel == Channel.IN_KIND:
            raise DonationError("a gift in kind has no payment order id", field="order_id")
    want = dict(date=date, donor=donor, amount=amount, currency=currency, fx_rate=rate, channel=channel,
                fund=fund, item=item, quantity=quantity, description=description, order_id=order_id)

    existing = None if unrecorded else Donation.objects.filter(trust=trust, external_id=external_id).first()
    if existing is not None:
        if _same_donation(existing, **want):
            return existing, False
        raise DuplicateExternalId(
            f"donation {external_id} was already recorded with different content", field="external_id"
        )
    if order_id:
        taken = Donation.objects.filter(trust=trust, channel=channel, order_id=order_id).first()
        if taken is not None:
            raise DuplicateExternalId(f"order id {order_id} of {channel} is already gift {taken.external_id}'s",
                                      field="order_id")
    key, source = donation_key(external_id), ("donation", external_id)
    memo = f"收到捐赠 Donation {external_id}" + (f": {description}" if description else "")
    with unique_or(f"donation {external_id} is being recorded twice"), ledger.posting_batch(posting) as posting, \
            translated(DonationError):
        if channel == Channel.IN_KIND:
            income = account(trust, IN_KIND_ACCOUNTS[fund.restriction])
            stock_item = stock_item_create(user=user,
                book=trust.book, code=item, name=item, inventory_account=account(trust, chart.INVENTORY_DONATED)
            )
            entry = stock_receive(
                item=stock_item, fund=fund, quantity=quantity, value=amount, income_account=income, date=date,
                user=user, memo=memo, source=source, idempotency_key=key, currency=currency, fx_rate=rate,
                posting=posting,
            ).entry
            amount_cny = None
        else:
            income = account(trust, INCOME_ACCOUNTS[fund.restriction])
            pay = receiving_account(trust, channel, currency)
            entry = posting.post(
                book=trust.book, date=date, memo=memo, user=user, idempotency_key=key, source=source, fx_rate=rate,
                legs=[Dr(pay, fund, amount, currency), Cr(income, fund, amount, currency)],
            )
            amount_cny = entry.posted_legs[0].debit_cny  # in fen, as posted
        if entry.replayed or amount_cny is None:
            replay = Donation.objects.filter(entry=entry).first()
            if replay is not None:  # a concurrent identical request got there first
                return replay, False
            amount_cny = sum(leg.debit_cny for leg in entry.posted_legs)
        donation = Donation.objects.create(
            trust=trust, external_id=external_id, donor=donor, date=date, amount=amount, amount_currency=currency,
            fx_rate=rate, amount_cny=from_minor(amount_cny), channel=channel, fund=fund, item=item,
            quantity=quantity, description=description, order_id=order_id, entry=entry, created_by=user,
        )
        _issue(donation=donation, user=user, amount=amount, amount_cny=donation.amount_cny)
        _link_new(donation)
        if notify != "off":
            receipt_mail_queue(donation=donation, send_now=notify == "now")
    return donation, True


@contextmanager
def refusal_explained(explain):
    """Replace the ledger's refusal to give income back by one that names the gift's own figures. (When the fund
    itself no longer holds the money, its gifts have been spent: the same answer.)"""
    try:
        yield
    except (ledger_errors.AllocatedSource, ledger_errors.InsufficientFunds) as exc:
        raise explain(exc) from exc


def income_leg(donation: Donation) -> Leg:
    """The donation's credit to income: the ledger's source for everything spent from this gift."""
    return donation.entry.legs.select_related("account", "fund").get(account__type=AccountType.INCOME, credit__gt=0)


def donation_unspent(donation: Donation) -> Decimal:
    """CNY of the gift that is neither allocated to spending nor refunded."""
    remaining = FundSource.objects.filter(leg__entry_id=donation.entry_id).aggregate(r=Sum("remaining"))["r"]
    return from_minor(remaining or 0)


def _same_refund(r: Refund, *, donation, date, amount, reason) -> bool:
    return (r.donation_id == donation.pk and r.date == date and r.reason == reason
            and (amount is None or r.amount.amount == amount))


def donation_refund(
    *, donation: Donation, external_id: str, date: dt.date, user, reason: str, amount=None, posting=None,
) -> Refund:
    """Give back a gift, or part of it (``amount`` in the gift's currency; ``None``: all that is left of it).

    Refused, naming the figures, for what has already been allocated to spending: only the unspent part can go
    back. A gift in kind goes back whole (its goods leave the inventory). The gift's receipt is voided; after a
    partial refund a replacement receipt is issued for what the trust keeps.
    """
    require(user, RECORD, donation.trust.book)
    external_id = check_external_id(external_id)
    date = check_date(date)
    reason = (reason or "").strip()
    if not reason:
        raise DonationError("a refund needs a reason", field="reason")
    trust = donation.trust
    if amount is not None:
        amount, _ = money_parts(amount, donation.amount.currency.code)
    existing = Refund.objects.filter(trust=trust, external_id=external_id).first()
    if existing is not None:
        if _same_refund(existing, donation=donation, date=date, amount=amount, reason=reason):
            return existing
        raise DuplicateExternalId(
            f"refund {external_id} was already recorded with different content", field="external_id"
        )
    if date < donation.date:
        raise DonationError(
            f"a refund cannot be dated {date.isoformat()}, before the gift ({donation.date.isoformat()})",
            field="date",
        )
    with ledger.posting_batch(posting) as posting:
        # ledger.locking: the book, the fund and the stock balance the refund posts to, the receipt counter (a
        # partial refund issues a new receipt), then the gift itself, so the posting path's locks come first.
        goods = (StockMove.objects.filter(entry_id=donation.entry_id).values_list("item_id", flat=True).first()
                 if donation.in_kind else None)
        lock(trust.book, donation.fund,
             Key(StockBalance, item_id=goods, fund=donation.fund) if goods else None,
             Key(ReceiptCounter, trust=trust, year=donation.date.year), donation)
        donation = Donation.objects.select_related("entry", "fund", "trust").get(pk=donation.pk)
        posting.flush()  # the gift's sources are read below: the database holds what this batch posted
        refunded = donation.refunds.aggregate(a=Sum("amount"), c=Sum("amount_cny"))
        refunded_amount = refunded["a"] or Decimal(0)
        left = donation.amount.amount - refunded_amount
        currency = donation.amount.currency.code
        if left <= 0:
            raise RefundRefused(f"donation {donation.external_id} has already been refunded in full", field="amount")
        if amount is None:
            amount = left
        if amount > left:
            raise RefundRefused(
                f"donation {donation.external_id}: {amount} {currency} asked but only {left} {currency} of the gift "
                f"has not been refunded", field="amount",
            )
        whole = refunded_amount == 0 and amount == donation.amount.amount
        if donation.in_kind and not whole:
            raise RefundRefused("goods given in kind go back whole, never in part", field="amount")
        wanted_cny = donation.amount_cny if whole else ledger.round_cny(amount * (donation.fx_rate or 1))
        # What is unspent is judged as of the refund's date by the ledger (spending dated later moves to the
        # fund's other gifts); when the ledger refuses, say it with this gift's figures.
        unspent = donation_unspent(donation)

        def refused(exc):
            spent = donation.amount_cny - (refunded["c"] or Decimal(0)) - unspent
            return RefundRefused(
                f"donation {donation.external_id} ({donation.amount_cny} CNY to fund {donation.fund.code}): "
                f"{spent} CNY has already been allocated to spending and {(refunded['c'] or Decimal(0)):.2f} CNY "
                f"refunded; only the unspent {unspent} CNY can go back, not {wanted_cny} CNY",
                field="amount",
            )

        key, source = f"refund:{external_id}", ("refund", external_id)
        with translated(RefundRefused), refusal_explained(refused):
            if donation.in_kind:
                move = StockMove.objects.get(entry=donation.entry)
                entry = stock_reverse(move=move, date=date, reason=f"refund {external_id}: {reason}", user=user,
                                      posting=posting).entry
            elif whole:
                entry = ledger.entry_reverse(
                    entry=donation.entry, date=date, reason=f"refund {external_id}: {reason}", user=user,
                    idempotency_key=key, batch=posting,
                )
            else:
                source_leg = income_leg(donation)
                pay = donation.entry.legs.get(debit__gt=0).account  # the money goes back from where it came
                entry = posting.post(
                    book=trust.book, date=date, memo=f"退还捐赠 Refund {external_id} of donation "
                    f"{donation.external_id}: {reason}", user=user, idempotency_key=key, source=source, fx_rate=donation.fx_rate,
                    legs=[
                        Dr(source_leg.account, donation.fund, amount, currency, reduces=source_leg),
                        Cr(pay, donation.fund, amount, currency),
                    ],
                )
        amount_cny = sum(leg.debit_cny for leg in entry.posted_legs if leg.account.type == AccountType.INCOME)
        refund = Refund.objects.create(
            trust=trust, external_id=external_id, donation=donation, date=date, amount=amount,
            amount_currency=currency, amount_cny=from_minor(amount_cny), reason=reason, entry=entry,
            created_by=user,
        )
        current = Receipt.objects.filter(donation=donation, voided_at__isnull=True).first()
        if current is not None:
            receipt_void(
                receipt=current, user=user, reason=f"refund {external_id}: {reason}", reissue=not whole and left > amount,
            )
    return refund
