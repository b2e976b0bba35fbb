"""The registry's write path: registering, changing and exiting beneficiaries; households.

Every write checks the whole record again (identity number against birth date and gender, the guardian of a
minor, consent, uniqueness per trust) and appends a ``BeneficiaryHistory`` row in the same transaction. History
and error messages carry identity numbers and phones masked: they are read by more people than the record.
"""

from __future__ import annotations

import datetime as dt
import re

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ledger import bounds
from ledger.locking import lock, lock_one
from ledger.models import Book
from ledger.authority import require

from ..authority import REGISTER
from ..errors import DuplicateBeneficiary, GuardianRequired, RegistryError
from ..idnumber import validate_id_number
from ..models import Beneficiary, BeneficiaryHistory, BeneficiaryStatus, HistoryAction, Household
from ..privacy import duplicate_identity, keeps_identity_match_logs, mask_id_number, mask_phone, shown_birth

ADULT_AGE = 18
PHONE_RE = re.compile(r"^\+?\d[\d-]{4,19}$")
EDITABLE = (
    "name", "id_number", "birth_date", "gender", "household", "guardian", "district", "community", "phone",
    "consent_date", "consent_given_by",
)
_PII = {"id_number": mask_id_number, "phone": mask_phone, "birth_date": shown_birth}


def age_on(birth_date: dt.date, day: dt.date) -> int:
    years = day.year - birth_date.year
    if (day.month, day.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def _text(value, *, field: str, max_length: int, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise RegistryError(f"{field.replace('_', ' ')} is required", field=field)
    if len(value) > max_length:
        raise RegistryError(f"{field.replace('_', ' ')} is longer than {max_length} characters", field=field)
    return bounds.check_text(value, field=field, error=RegistryError)


def _check(book: Book, data: dict, *, instance: Beneficiary | None, today: dt.date, user=None,
           purpose: str = "registry") -> dict:
    """Validate a complete record (``data`` holds every EDITABLE field); return it normalised."""
    data["name"] = _text(data["name"], field="name", max_length=100, required=True)
    data["district"] = _text(data["district"], field="district", max_length=100)
    data["community"] = _text(data["community"], field="community", max_length=200)
    data["consent_given_by"] = _text(data["consent_given_by"], field="consent_given_by", max_length=100)
    birth_date = data["birth_date"]
    if not isinstance(birth_date, dt.date):
        raise RegistryError("birth date is required", field="birth_date")
    gender = (data["gender"] or "").strip().upper()
    if gender and gender not in ("F", "M"):
        raise RegistryError(f"gender {gender!r} is not F or M", field="gender")
    info = validate_id_number(data["id_number"], birth_date=birth_date, gender=gender or None, today=today)
    data["id_number"] = info.number
    data["gender"] = info.gender
    phone = (data["phone"] or "").strip().replace(" ", "")
    if phone and not PHONE_RE.match(phone):
        raise RegistryError("phone must be digits (an optional leading + and dashes allowed)", field="phone")
    data["phone"] = phone

    others = Beneficiary.objects.filter(book=book)
    if instance is not None:
        others = others.exclude(pk=instance.pk)
    clash = others.filter(id_number=info.number).only("pk", "external_id").first()
    if clash is not None:  # logged; named only to a user who may see PII
        raise duplicate_identity(existing=clash, user=user, purpose=purpose)

    household = data["household"]
    if household is not None and household.book_id != book.pk:
        raise RegistryError("the household belongs to another trust", field="household")
    guardian = data["guardian"]
    minor = age_on(birth_date, today) < ADULT_AGE
    if guardian is not None:
        if guardian.book_id != book.pk:
            raise RegistryError("the guardian belongs to another trust", field="guardian")
        if instance is not None and guardian.pk == instance.pk:
            raise RegistryError("a beneficiary cannot be her own guardian", field="guardian")
        if age_on(guardian.birth_date, today) < ADULT_AGE:
            raise RegistryError(f"guardian {guardian.external_id} is a minor herself", field="guardian")
    elif minor:
        raise GuardianRequired(
            f"a minor (aged {age_on(birth_date, today)}) needs a guardian in the registry", field="guardian"
        )

    consent_date = data["consent_date"]
    if consent_date is None:
        if data["consent_given_by"]:
            raise RegistryError("consent needs the date it was given", field="consent_date")
    else:
        if consent_date > today:
            raise RegistryError(f"consent date {consent_date.isoformat()} is after today", field="consent_date")
        if minor:
            if not data["consent_given_by"]:
                data["consent_given_by"] = guardian.name
            elif data["consent_given_by"] != guardian.name:
                raise RegistryError(
                    f"for a child, consent is given by the guardian ({guardian.external_id})", field="consent_given_by"
                )
        elif not data["consent_given_by"]:
            data["consent_given_by"] = data["name"]
    return data


@keeps_identity_match_logs
def validate_beneficiary(*, book: Book, data: dict, instance: Beneficiary | None = None, user=None) -> dict:
    """The registry's checks without writing (for forms): ``data`` holds every field of ``EDITABLE``."""
    return _check(book, dict(data), instance=instance, today=timezone.localdate(), user=user, purpose="form")


def _shown(name: str, value) -> object:
    if name in _PII:
        return _PII[name](value or "")
    if isinstance(value, (Household, Beneficiary)):
        return value.external_id
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _snapshot(beneficiary: Beneficiary) -> dict:
    return {name: getattr(beneficiary, name) for name in EDITABLE}


def _maybe_mother(household: Household | None, beneficiary: Beneficiary, today: dt.date) -> None:
    """The first adult woman without a guardian to join a household without a mother is its mother."""
    if household is None or beneficiary.gender != "F" or beneficiary.guardian_id is not None:
        return
    if age_on(beneficiary.birth_date, today) < ADULT_AGE:
        return
    if Household.objects.filter(pk=household.pk, mother__isnull=True).update(mother=beneficiary):
        household.mother = beneficiary


@keeps_identity_match_logs
@transaction.atomic
def beneficiary_register(
    *,
    book: Book,
    external_id: str,
    name: str,
    id_number: str,
    birth_date: dt.date,
    user,
    gender: str = "",
    household: Household | None = None,
    guardian: Beneficiary | None = None,
    district: str = "",
    community: str = "",
    phone: str = "",
    consent_date: dt.date | None = None,
    consent_given_by: str = "",
) -> Beneficiary:
    """Register a person. Refuses a bad identity number, a minor without a guardian and a person already here."""
    require(user, REGISTER, book)
    today = timezone.localdate()
    external_id = _text(external_id, field="external_id", max_length=64, required=True)
    if Beneficiary.objects.filter(book=book, external_id=external_id).exists():
        raise DuplicateBeneficiary(f"beneficiary {external_id} already exists", field="external_id")
    data = _check(
        book,
        {
            "name": name, "id_number": id_number, "birth_date": birth_date, "gender": gender,
            "household": household, "guardian": guardian, "district": district, "community": community,
            "phone": phone, "consent_date": consent_date, "consent_given_by": consent_given_by,
        },
        instance=None,
        today=today,
        user=user,
        purpose="registration",
    )
    beneficiary = Beneficiary.objects.create(book=book, external_id=external_id, created_by=user, **data)
    _maybe_mother(household, beneficiary, today)
    BeneficiaryHistory.objects.create(
        beneficiary=beneficiary, action=HistoryAction.CREATED, changed_by=user,
        changes={name: [None, _shown(name, value)] for name, value in data.items() if value not in (None, "")},
    )
    return beneficiary


@keeps_identity_match_logs
@transaction.atomic
def beneficiary_update(*, beneficiary: Beneficiary, user, **changes: object) -> Beneficiary:
    """Change any of ``EDITABLE``; the whole record is checked again and the change is kept in its history."""
    require(user, REGISTER, beneficiary.book)
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise RegistryError(f"cannot change {', '.join(unknown)} of a beneficiary", field=unknown[0])
    locked = lock_one(beneficiary)
    before = _snapshot(locked)
    data = _check(locked.book, {**before, **changes}, instance=locked, today=timezone.localdate(), user=user,
                  purpose="change")
    diff = {
        name: [_shown(name, before[name]), _shown(name, data[name])]
        for name in EDITABLE
        if before[name] != data[name]
    }
    if not diff:
        return locked
    for name, value in data.items():
        setattr(locked, name, value)
    locked.save()
    _maybe_mother(locked.household, locked, timezone.localdate())
    if IDENTITY & set(diff):
        voided = _void_approvals(locked)
        if voided:
            diff["approvals_voided"] = [None, voided]
    BeneficiaryHistory.objects.create(beneficiary=locked, action=HistoryAction.UPDATED, changed_by=user, changes=diff)
    return locked


# What names the person aid is paid to: an approval was given for her, and changing any of these after it voids it.
IDENTITY = {"name", "id_number", "birth_date", "phone"}


def _void_approvals(beneficiary: Beneficiary) -> list[str]:
    """An approval binds to whom it approved: approved, unposted aid to ``beneficiary`` goes back to draft (and so
    does an approved batch holding some, with all its members), for an approver to look at again."""
    from ..models import BatchStatus, Disbursement, DisbursementBatch, DisbursementStatus

    approved = [d for d in lock(*Disbursement.objects.filter(beneficiary=beneficiary, status=DisbursementStatus.APPROVED))
                if d.status == DisbursementStatus.APPROVED]
    batch_ids = {d.batch_id for d in approved if d.batch_id is not None}
    members = Disbursement.objects.filter(
        Q(pk__in=[d.pk for d in approved]) | Q(batch_id__in=batch_ids, status=DisbursementStatus.APPROVED))
    voided = sorted(members.values_list("external_id", flat=True))
    members.update(status=DisbursementStatus.DRAFT, approved_by=None, approved_at=None, approved_outside=False)
    DisbursementBatch.objects.filter(pk__in=batch_ids, status=BatchStatus.APPROVED).update(
        status=BatchStatus.DRAFT, approved_by=None, approved_at=None, approved_outside=False)
    return voided


@transaction.atomic
def beneficiary_exit(*, beneficiary: Beneficiary, user, date: dt.date, reason: str = "") -> Beneficiary:
    """The person leaves the programs. The record stays (aid given to her stays traceable)."""
    require(user, REGISTER, beneficiary.book)
    locked = lock_one(beneficiary)
    if locked.status == BeneficiaryStatus.EXITED:
        raise RegistryError(f"beneficiary {locked.external_id} has already exited", field="status")
    if date > timezone.localdate():
        raise RegistryError(f"exit date {date.isoformat()} is after today", field="date")
    locked.status, locked.exited_on = BeneficiaryStatus.EXITED, date
    locked.save(update_fields=["status", "exited_on", "updated_at"])
    BeneficiaryHistory.objects.create(
        beneficiary=locked, action=HistoryAction.EXITED, changed_by=user,
        changes={"status": ["active", "exited"], "exited_on": [None, date.isoformat()], "reason": reason[:500]},
    )
    return locked


@transaction.atomic
def household_create(*, book: Book, external_id: str, user) -> Household:
    require(user, REGISTER, book)
    external_id = _text(external_id, field="household_id", max_length=64, required=True)
    if Household.objects.filter(book=book, external_id=external_id).exists():
        raise RegistryError(f"household {external_id} already exists", field="household_id")
    return Household.objects.create(book=book, external_id=external_id)


@transaction.atomic
def household_get_or_create(*, book: Book, external_id: str, user) -> Household:
    require(user, REGISTER, book)
    external_id = _text(external_id, field="household_id", max_length=64, required=True)
    household, _ = Household.objects.get_or_create(book=book, external_id=external_id)
    return household


@transaction.atomic
def household_set_mother(*, household: Household, mother: Beneficiary, user) -> Household:
    """Name the household's mother: an adult woman among its members."""
    require(user, REGISTER, household.book)
    if mother.household_id != household.pk:
        raise RegistryError(f"beneficiary {mother.external_id} is not a member of household {household}", field="mother")
    if mother.gender != "F" or age_on(mother.birth_date, timezone.localdate()) < ADULT_AGE:
        raise RegistryError(f"beneficiary {mother.external_id} is not an adult woman", field="mother")
    Household.objects.filter(pk=household.pk).update(mother=mother)
    household.mother = mother
    return household
