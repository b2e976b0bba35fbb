"""What each reader may learn about a beneficiary: the one place for the rule.

Only users with ``beneficiaries.view_pii`` see identity numbers, phones and birth dates in full; every
unmasked view is written to ``PiiAccessLog`` (who, when, which record, which fields) in the same transaction as
the read. Everyone else sees what ``masked_pii`` gives, and that is all any other output (lists, history,
error messages, registers, reports) may show.

Why these masks (the number is 6 digits of region, 8 of birth date, 3 of sequence whose last digit is the sex,
and a check character computed from the other 17). A reader without the permission may see, together, the
masked number, the birth as ``shown_birth`` gives it, the gender, the district and the community. Assume the
worst: the district names the 6-digit region exactly. What is left is

  birth dates in the shown birth year (365 or 366; "born in the last two years" leaves at least 366)
  x 500 sequences of the right sex (000-999, odd for a man, even for a woman)
  x 1 check character (determined)
  = at least 182,500 candidate numbers per person,

more than the 10,000 the design asks for (a month leaked as well would still leave 28 x 500 = 14,000).
``candidates`` counts them from what is shown (``tests/beneficiaries/test_privacy_masks.py``). The masked
number keeps only the province (2 digits), which the district gives away anyway, and nothing of the tail: the
last 4 characters were the end of the sequence, the sex digit and the check character, and with the full birth
date they left 100 candidates (all 200 of the demo's numbers were rebuilt that way).

Small counts of people are never shown where anyone may read without signing in, or to a donor: ``shown_count``.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

PII_PERMISSION = "beneficiaries.view_pii"
SHOWN_ID_PREFIX = 2  # the province


def mask_id_number(number: str) -> str:
    """``320582199001011234`` -> ``32****************``: the province only, nothing of the birth date or tail."""
    number = (number or "").strip()
    if len(number) <= SHOWN_ID_PREFIX * 4:
        return "*" * len(number)
    return number[:SHOWN_ID_PREFIX] + "*" * (len(number) - SHOWN_ID_PREFIX)


def mask_phone(phone: str) -> str:
    """``13812345678`` -> ``138****5678``: the first 3 and last 4 digits are kept."""
    phone = (phone or "").strip()
    if not phone:
        return ""
    if len(phone) <= 7:
        return "*" * (len(phone) - 2) + phone[-2:] if len(phone) > 2 else "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def shown_birth(birth_date: dt.date | None, *, today: dt.date | None = None) -> str:
    """The birth as a reader without the permission sees it: the year (``1990``), or for anyone born this year
    or last year the two years together (``2025-2026``), so that "born this year" on 3 January does not leave
    three days. It changes only on 1 January, so watching it day by day teaches nothing more."""
    if birth_date is None:
        return ""
    year = (today or timezone.localdate()).year
    if birth_date.year >= year - 1:
        return f"{year - 1}-{year}"
    return str(birth_date.year)


def birth_dates_shown_as(shown: str, *, today: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last birth date a reader can infer from ``shown_birth``'s text (valid numbers only:
    from 1900-01-01, never after today)."""
    first, _, last = shown.partition("-")
    start = max(dt.date(int(first), 1, 1), dt.date(1900, 1, 1))
    end = min(dt.date(int(last or first), 12, 31), today)
    return start, end


def candidates(*, masked_id_number: str, shown_birth_text: str, gender: str, today: dt.date,
               regions: int = 1) -> int:
    """How many valid identity numbers agree with what a reader without the permission sees: ``regions``
    6-digit region codes (1 when the district names it) x birth dates in the shown range x 3-digit sequences
    of the gender's parity; the check character adds nothing. Refuses a mask that shows more than the
    province, since the count would then be wrong."""
    visible = [i for i, c in enumerate(masked_id_number) if c != "*"]
    if any(i >= SHOWN_ID_PREFIX for i in visible):
        raise ValueError("the mask shows more than the province; count by enumeration instead")
    start, end = birth_dates_shown_as(shown_birth_text, today=today)
    days = (end - start).days + 1
    sequences = 500 if gender in ("F", "M") else 1000
    return regions * days * sequences


def can_view_pii(user) -> bool:
    return bool(user is not None and user.is_active and user.has_perm(PII_PERMISSION))


@dataclass(frozen=True)
class Pii:
    id_number: str
    phone: str
    masked: bool
    birth: str = ""  # the birth date (ISO) in full, or as ``shown_birth`` gives it


def masked_pii(beneficiary, *, today: dt.date | None = None) -> Pii:
    return Pii(mask_id_number(beneficiary.id_number), mask_phone(beneficiary.phone), masked=True,
               birth=shown_birth(beneficiary.birth_date, today=today))


def full_pii(beneficiary) -> Pii:
    return Pii(beneficiary.id_number, beneficiary.phone, masked=False, birth=beneficiary.birth_date.isoformat())


def beneficiary_pii(*, beneficiary, user, purpose: str = "") -> Pii:
    """The beneficiary's identity number and phone as ``user`` may see them; an unmasked view is logged."""
    from .models import PiiAccessLog

    if not can_view_pii(user):
        return masked_pii(beneficiary)
    with transaction.atomic():
        PiiAccessLog.objects.create(
            beneficiary=beneficiary, user=user, fields="id_number,phone", purpose=purpose[:200]
        )
    return full_pii(beneficiary)


# -- a duplicate identity number ------------------------------------------------------------------------------

IDENTITY_MATCH_FIELDS = "id_number match"


def duplicate_message(*, existing_external_id: str, user) -> str:
    """What a user is told when an identity number is already registered: who, only to a PII holder."""
    if can_view_pii(user):
        return f"this identity number is already registered as beneficiary {existing_external_id}"
    return "this identity number is already registered in this trust"


def log_identity_matches(*, beneficiary_ids, user, purpose: str) -> list:
    """One ``PiiAccessLog`` row per registered person an identity-number lookup matched (a dry run too): the
    lookup tells the user that this person is here, whether or not she is named."""
    from .models import PiiAccessLog

    ids = [pk for pk in beneficiary_ids if pk is not None]
    if not ids or getattr(user, "pk", None) is None:
        return []
    with transaction.atomic():
        return PiiAccessLog.objects.bulk_create(
            [PiiAccessLog(beneficiary_id=pk, user=user, fields=IDENTITY_MATCH_FIELDS, purpose=purpose[:200])
             for pk in ids]
        )


@dataclass
class IdentityMatch:
    """An identity-number lookup that found someone: carried by ``DuplicateBeneficiary`` so that the log row
    can be written again after the refused write's rollback (``ensure_match_logged``)."""

    beneficiary_id: int
    user: object
    purpose: str
    log_id: int | None = None


def duplicate_identity(*, existing, user, purpose: str, field: str = "id_number"):
    """The refusal for an identity number already registered as ``existing``: logged now, naming her only to
    a PII holder. Raise what it returns."""
    from .errors import DuplicateBeneficiary

    match = IdentityMatch(beneficiary_id=existing.pk, user=user, purpose=purpose)
    ensure_match_logged_for(match)
    return DuplicateBeneficiary(
        duplicate_message(existing_external_id=existing.external_id, user=user), field=field, match=match
    )


def ensure_match_logged_for(match: IdentityMatch | None) -> None:
    from .models import PiiAccessLog

    if match is None or getattr(match.user, "pk", None) is None:
        return
    if match.log_id is not None and PiiAccessLog.objects.filter(pk=match.log_id).exists():
        return
    with transaction.atomic():
        row = PiiAccessLog.objects.create(beneficiary_id=match.beneficiary_id, user=match.user,
                                          fields=IDENTITY_MATCH_FIELDS, purpose=match.purpose[:200])
    match.log_id = row.pk


def ensure_match_logged(error) -> None:
    """Write the log row of a ``DuplicateBeneficiary`` again if a rollback took it away (a refused write rolls
    back its transaction, and the row with it). Safe to call at every level that a rollback passes."""
    ensure_match_logged_for(getattr(error, "match", None))


def keeps_identity_match_logs(service):
    """For a registry service that may refuse a duplicate: its own transaction rolls back the lookup's log row
    with everything else, so the row is written again once that transaction is over."""
    from .errors import DuplicateBeneficiary

    @functools.wraps(service)
    def wrapper(*args, **kwargs):
        try:
            return service(*args, **kwargs)
        except DuplicateBeneficiary as exc:
            ensure_match_logged(exc)
            raise

    return wrapper


# -- small counts ---------------------------------------------------------------------------------------------

# Output readable without signing in, and donor-facing output, never gives a count of people from 1 to 4
# exactly, so that a small group cannot be recognised. The one threshold and the one rule.
MIN_SHOWN_COUNT = 5
FEWER_THAN_5 = "少于5人 fewer than 5"


def shown_count(n, *, fewer=FEWER_THAN_5, zero=0):
    """A count as the public or a donor may see it: ``zero`` for none, ``fewer`` from 1 to 4, else the number."""
    if not n or n <= 0:
        return zero
    if n < MIN_SHOWN_COUNT:
        return fewer
    return n


def people_reached(n: int, *, fewer: str = "fewer than 5") -> str:
    """How many beneficiaries a gift reached, as its donor is told (the API's trace, the donor portal, which
    passes ``fewer`` translated): "0", ``fewer`` from 1 to 4, else the number."""
    return str(shown_count(n, fewer=fewer, zero=0))
