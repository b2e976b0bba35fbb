from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from ledger import bounds
from ledger.authority import require
from ledger.locking import lock_one

from ..errors import DonorError
from ..idcodes import clean_id_code
from ..roles import RECORD
from ..models import Donor, DonorKind, Trust

EDITABLE = ("kind", "name", "anonymous", "email", "phone", "address", "id_code", "user", "language")


def _language(language: str) -> str:
    if language not in dict(settings.LANGUAGES):
        raise DonorError(f"language {language!r} is not one of {', '.join(dict(settings.LANGUAGES))}",
                         field="language")
    return language


def _clean(*, kind: str, name: str, email: str, phone: str, address: str, id_code: str = "") -> dict:
    for field, value in (("name", name), ("email", email), ("phone", phone), ("address", address)):
        bounds.check_text(value, field=field, error=DonorError, what=f"the donor's {field}")
    if kind not in DonorKind.values:
        raise DonorError(f"donor kind {kind!r} is not one of {', '.join(DonorKind.values)}", field="kind")
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise DonorError(f"a donor's name is 1 to 200 characters (got {len(name)})", field="name")
    email = (email or "").strip()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise DonorError(f"{email!r} is not an email address", field="email") from None
    phone = (phone or "").strip()
    if len(phone) > 32:
        raise DonorError("a phone number is at most 32 characters", field="phone")
    if len(address or "") > 1000:
        raise DonorError("an address is at most 1000 characters", field="address")
    bounds.check_text(id_code, field="id_code", error=DonorError, what="the donor's identity or credit code")
    return {"kind": kind, "name": name, "email": email, "phone": phone, "address": (address or "").strip(),
            "id_code": clean_id_code(id_code, kind=kind)}


@transaction.atomic
def donor_create(
    *, trust: Trust, kind: str, name: str, external_id: str = "", anonymous: bool = False, email: str = "",
    phone: str = "", address: str = "", id_code: str = "", user=None, by, language: str = "zh-hans",
) -> Donor:
    """A donor of ``trust``; ``user`` is the donor's own sign-in account (if any), ``by`` the acting user.
    ``id_code``: an individual's resident identity number or an organisation's unified social credit code
    (``charity.idcodes``), optional."""
    require(by, RECORD, trust.book)
    fields = _clean(kind=kind, name=name, email=email, phone=phone, address=address, id_code=id_code)
    external_id = (external_id or "").strip()
    if len(external_id) > 64:
        raise DonorError("an external id is at most 64 characters", field="external_id")
    if external_id and Donor.objects.filter(trust=trust, external_id=external_id).exists():
        raise DonorError(f"donor {external_id} already exists", field="external_id")
    if user is not None and Donor.objects.filter(user=user).exists():
        raise DonorError(f"user {user.username} is already linked to a donor", field="user")
    try:
        with transaction.atomic():
            return Donor.objects.create(
                trust=trust, external_id=external_id, anonymous=bool(anonymous), user=user,
                language=_language(language), **fields
            )
    except IntegrityError:
        raise DonorError(f"donor {external_id} already exists", field="external_id") from None


@transaction.atomic
def donor_update(*, donor: Donor, by, **changes) -> Donor:
    """Change a donor's details (``by``: the acting user). Receipts already issued keep the name and address they
    were issued with."""
    require(by, RECORD, donor.trust.book)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise DonorError(f"cannot change {', '.join(sorted(unknown))} of a donor", field=sorted(unknown)[0])
    donor = lock_one(donor)
    current = {f: getattr(donor, f) for f in EDITABLE}
    current.update(changes)
    fields = _clean(**{k: current[k] for k in ("kind", "name", "email", "phone", "address", "id_code")})
    user = current["user"]
    if user is not None and Donor.objects.filter(user=user).exclude(pk=donor.pk).exists():
        raise DonorError(f"user {user.username} is already linked to a donor", field="user")
    for key, value in fields.items():
        setattr(donor, key, value)
    donor.anonymous = bool(current["anonymous"])
    donor.user = user
    donor.language = _language(current["language"])
    donor.save()
    return donor
