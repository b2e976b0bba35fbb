"""Receipts: the trust's acknowledgement (捐赠确认书), issued with every donation, numbered without gaps per trust
and year, voided but never deleted; and the official donation receipt (公益事业捐赠票据) that the co-trustee
issues, recorded against the gift (``official_receipt_record``).

Lock order (``ledger.locking``): the ledger's book and the gift's fund (taken by ``entry_post`` when the donation
posts), then the receipt counter of (trust, year), then the gift and its receipts (own rows). Voiding with a
reissue locks the counter before the receipt.
"""

from __future__ import annotations

from decimal import Decimal

import datetime as dt
import re

from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.utils import timezone
from ledger.authority import require
from ledger.locking import Key, lock, lock_one

from ..errors import ReceiptError
from ..roles import RECORD
from ..models import Donation, OfficialReceipt, Receipt, ReceiptCounter, Trust


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
        if found is None:  # the year's first receipt: created (INSERT ... ON CONFLICT DO NOTHING) and locked
            lock(Key(ReceiptCounter, trust=trust, year=year))
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
        trustee_name=trust.trustee, co_trustee_name=trust.co_trustee,
        donor_kind=donor.kind if donor else "", donor_id_code=donor.id_code if donor else "",
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
    counter = Key(ReceiptCounter, trust_id=receipt.trust_id, year=receipt.year) if reissue else None
    _counter, locked = lock(counter, receipt)
    if locked.voided_at is not None:
        raise ReceiptError(f"receipt {locked.label} was already voided on {locked.voided_at:%Y-%m-%d}", field="receipt")
    now = timezone.now()
    Receipt.objects.filter(pk=locked.pk).update(voided_at=now, voided_by=user, void_reason=reason[:2000])
    receipt.voided_at, receipt.voided_by, receipt.void_reason = now, user, reason[:2000]
    if reissue:
        return receipt_issue(donation=locked.donation, user=user, note=f"replaces {locked.label}")
    return None


RECEIPT_CODE = re.compile(r"^\d{8}$", re.ASCII)
RECEIPT_NUMBER = re.compile(r"^\d{10}$", re.ASCII)
CHECK_CODE = re.compile(r"^[0-9A-Za-z]{6}$", re.ASCII)


def official_receipt_check(*, receipt_code: str, receipt_number: str, check_code: str) -> tuple[str, str, str]:
    """The shape of a fiscal e-receipt's identifiers: 票据代码 8 digits, 票据号码 10 digits, 校验码 6 letters or
    digits. Returns them stripped (the check code upper-cased)."""
    code, number, check = ((v or "").strip() for v in (receipt_code, receipt_number, check_code))
    if not RECEIPT_CODE.match(code):
        raise ReceiptError("a receipt code (票据代码) is 8 digits", field="receipt_code")
    if not RECEIPT_NUMBER.match(number):
        raise ReceiptError("a receipt number (票据号码) is 10 digits", field="receipt_number")
    if not CHECK_CODE.match(check):
        raise ReceiptError("a check code (校验码) is 6 letters or digits", field="check_code")
    return code, number, check.upper()


@transaction.atomic
def official_receipt_record(
    *, donation: Donation, receipt_code: str, receipt_number: str, check_code: str, issued_on: dt.date,
    issuer: str = "", user, channel: str = "service",
) -> OfficialReceipt:
    """Record the official donation receipt (公益事业捐赠票据) the co-trustee issued for ``donation``. One per gift;
    a (code, number) pair once per trust; never for a gift refunded in full; issued on or after the gift and
    not after today. ``issuer`` defaults to the trust's co-trustee. Writes an audit-log event with the change."""
    from ..audit import audit

    trust = donation.trust
    require(user, RECORD, trust.book)
    code, number, check = official_receipt_check(receipt_code=receipt_code, receipt_number=receipt_number,
                                                 check_code=check_code)
    issuer = (issuer or "").strip() or trust.co_trustee
    if not issuer:
        raise ReceiptError("name the issuer (the trust has no co-trustee on record)", field="issuer")
    if len(issuer) > 200 or "\x00" in issuer:
        raise ReceiptError("an issuer's name is at most 200 characters", field="issuer")
    if not isinstance(issued_on, dt.date):
        raise ReceiptError("the date of issue is a date (YYYY-MM-DD)", field="issued_on")
    if issued_on < donation.date:
        raise ReceiptError(f"issued on {issued_on.isoformat()}, before the gift ({donation.date.isoformat()})",
                           field="issued_on")
    if issued_on > timezone.localdate():
        raise ReceiptError(f"issued on {issued_on.isoformat()}, which is after today", field="issued_on")
    lock_one(donation)  # one recorder per gift at a time
    if OfficialReceipt.objects.filter(donation=donation).exists():
        raise ReceiptError(f"donation {donation.external_id} already has an official receipt", field="donation")
    amount, _cny = _net(donation)
    if amount <= 0:
        raise ReceiptError(f"donation {donation.external_id} has been refunded in full", field="donation")
    if OfficialReceipt.objects.filter(trust=trust, receipt_code=code, receipt_number=number).exists():
        raise ReceiptError(f"official receipt {code}-{number} is already recorded for another gift",
                           field="receipt_number")
    try:
        with transaction.atomic():
            official = OfficialReceipt.objects.create(
                trust=trust, donation=donation, receipt_code=code, receipt_number=number, check_code=check,
                issued_on=issued_on, issuer=issuer, recorded_by=user)
    except IntegrityError:  # a concurrent recorder of the same gift or number
        raise ReceiptError(f"official receipt {code}-{number} or one for donation {donation.external_id} is "
                           "already recorded", field="receipt_number") from None
    audit(user=user, action=f"official_receipt_record {donation.external_id} {official.label}", channel=channel,
          trust=trust, strict=True,
          detail={"donation": donation.external_id, "receipt_code": code, "receipt_number": number,
                  "issued_on": issued_on.isoformat(), "issuer": issuer})
    return official
