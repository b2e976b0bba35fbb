"""Who sees a beneficiary's identity number and phone.

Only users with ``beneficiaries.view_pii`` see them in full; everyone else sees them masked. Every unmasked
view is written to ``PiiAccessLog`` (who, when, which record, which fields) in the same transaction as the read.
Masked values are what may appear anywhere else: lists, history, error messages, exports.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

PII_PERMISSION = "beneficiaries.view_pii"


def mask_id_number(number: str) -> str:
    """``320582199001011234`` -> ``3205**********1234``: the first 4 and last 4 characters are kept."""
    number = (number or "").strip()
    if len(number) <= 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_phone(phone: str) -> str:
    """``13812345678`` -> ``138****5678``: the first 3 and last 4 digits are kept."""
    phone = (phone or "").strip()
    if not phone:
        return ""
    if len(phone) <= 7:
        return "*" * (len(phone) - 2) + phone[-2:] if len(phone) > 2 else "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def can_view_pii(user) -> bool:
    return bool(user is not None and user.is_active and user.has_perm(PII_PERMISSION))


@dataclass(frozen=True)
class Pii:
    id_number: str
    phone: str
    masked: bool


def beneficiary_pii(*, beneficiary, user, purpose: str = "") -> Pii:
    """The beneficiary's identity number and phone as ``user`` may see them; an unmasked view is logged."""
    from .models import PiiAccessLog

    if not can_view_pii(user):
        return Pii(mask_id_number(beneficiary.id_number), mask_phone(beneficiary.phone), masked=True)
    with transaction.atomic():
        PiiAccessLog.objects.create(
            beneficiary=beneficiary, user=user, fields="id_number,phone", purpose=purpose[:200]
        )
    return Pii(beneficiary.id_number, beneficiary.phone, masked=False)

# Donor-facing and public output never gives a count of beneficiaries below this exactly ("fewer than 5"), so
# that a small group cannot be recognised. The one threshold for the portal, the API and the reports.
MIN_SHOWN_COUNT = 5
