"""Receipts: issued with every donation, numbered without gaps per trust and year, voided but never deleted.

Lock order (the same everywhere, so no two paths deadlock): the ledger's book (taken by ``entry_post`` when the
donation posts) before the receipt counter of (trust, year).
"""

from __future__ import annotations

from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone
from ledger.authority import require

from ..errors import ReceiptError
from ..roles import RECORD
from ..models import Donation, Receipt, ReceiptCounter, Trust


def _next_number(*, trust: Trust, year: int, pause=None) -> int:
    """Take the next receipt number of (trust, year): one ``UPDATE ... RETURNING`` takes the counter's row lock
    (held until the transaction ends, so a second officer's statement waits for it) and says the number it wrote.
    Raw SQL because Django's ``update()`` cannot return the row: it spares a second statement on every gift.

    ``pause`` (called while the lock is held) exists only so that the concurrency test can hold it.
    """
    sql = (f"UPDATE {ReceiptCounter._meta.db_table} SET last_number = last_number + 1 "
           "WHERE trust_id = %s AND year = %s RETURNING last_number")
    with connection.cursor() as cursor:
        cursor.execute(sql, [trust.pk, year])
        found = cursor.fetchone()
        if found is None:  # the year's first receipt; a concurrent creator makes get_or_create wait
            ReceiptCounter.objects.get_or_create(trust=trust, year=year)
            cursor.execute(sql, [trust.pk, year])
            found = cursor.fetchone()
    if pause is not None:
        pause()
    return found[0]


def _net(donation: Donation) -> tuple[Decimal, Decimal]:
    """What is left of a gift after its refunds: (amount in its currency, amount in CNY)."""
    refunded = donation.refunds.aggregate(a=Sum("amount"), c=Sum("amount_cny"))
    return (
        donation.amount.amount - (refunded["a"] or Decimal(0)),
        donation.amount_cny - (refunded["c"] or Decimal(0)),
    )


def _officer(user) -> str:
    return (user.get_full_name() or user.get_username())[:200]


@transaction.atomic
def receipt_issue(*, donation: Donation, user, note: str = "") -> Receipt:
    """Issue the receipt of a donation (``donation_record`` calls this). At most one valid receipt per gift."""
    require(user, RECORD, donation.trust.book)
    if Receipt.objects.filter(donation=donation, voided_at__isnull=True).exists():
        raise ReceiptError(f"donation {donation.external_id} already has a valid receipt", field="donation")
    amount, amount_cny = _net(donation)
    if amount <= 0:
        raise ReceiptError(f"donation {donation.external_id} has been refunded in full", field="donation")
    return _issue(donation=donation, user=user, amount=amount, amount_cny=amount_cny, note=note)


def _issue(*, donation: Donation, user, amount: Decimal, amount_cny: Decimal, note: str = "") -> Receipt:
    trust, donor, fund = donation.trust, donation.donor, donation.fund
    year = donation.date.year
    number = _next_number(trust=trust, year=year)
    return Receipt.objects.create(
        trust=trust, year=year, number=number, donation=donation, date=donation.date, issued_at=timezone.now(),
        issued_by=user, officer_name=_officer(user),
        donor_name=donor.name if donor else "", donor_address=donor.address if donor else "",
        donor_anonymous=donor.anonymous if donor else True,
        amount=amount, amount_currency=donation.amount.currency.code, fx_rate=donation.fx_rate,
        amount_cny=amount_cny, channel=donation.channel, item=donation.item, quantity=donation.quantity,
        fund_code=fund.code, fund_name=fund.name, trust_name=trust.name, trust_name_en=trust.name_en,
        note=note[:300],
    )


@transaction.atomic
def receipt_void(*, receipt: Receipt, user, reason: str, reissue: bool = False) -> Receipt | None:
    """Void a receipt (the number stays, with reason, who and when). With ``reissue`` a new receipt is issued
    for the same gift, copying the donor's details as they are now (e.g. after a misspelt name is corrected).
    Returns the new receipt when one is issued."""
    require(user, RECORD, receipt.trust.book)
    reason = (reason or "").strip()
    if not reason:
        raise ReceiptError("a void needs a reason", field="reason")
    locked = Receipt.objects.select_for_update().get(pk=receipt.pk)
    if locked.voided_at is not None:
        raise ReceiptError(f"receipt {locked.label} was already voided on {locked.voided_at:%Y-%m-%d}", field="receipt")
    now = timezone.now()
    Receipt.objects.filter(pk=locked.pk).update(voided_at=now, voided_by=user, void_reason=reason[:2000])
    receipt.voided_at, receipt.voided_by, receipt.void_reason = now, user, reason[:2000]
    if reissue:
        return receipt_issue(donation=locked.donation, user=user, note=f"replaces {locked.label}")
    return None
