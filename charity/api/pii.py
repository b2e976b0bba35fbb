"""Identity numbers and phones in responses: never serialized from the model fields. Each response is given the
``beneficiaries.privacy.Pii`` of every person it shows. For users without ``beneficiaries.view_pii`` those are
masked; for users with it they are full and every person shown is written to ``PiiAccessLog`` (one insert per
page for lists, ``beneficiary_pii`` for a single record)."""

from __future__ import annotations

from django.db import transaction
from rest_framework import serializers

from beneficiaries.models import PiiAccessLog
from beneficiaries.privacy import Pii, can_view_pii, full_pii, masked_pii


def pii_of(people, *, user, purpose: str) -> dict[int, Pii]:
    """The Pii of each beneficiary as ``user`` may see it; unmasked views are logged in one insert."""
    people = [p for p in people if p is not None]
    if not can_view_pii(user):
        return {p.pk: masked_pii(p) for p in people}
    if people:
        with transaction.atomic():
            PiiAccessLog.objects.bulk_create(
                [PiiAccessLog(beneficiary=p, user=user, fields="id_number,phone", purpose=purpose[:200])
                 for p in people]
            )
    return {p.pk: full_pii(p) for p in people}


class PiiFieldsMixin(serializers.Serializer):
    """``id_number``, ``phone`` and ``birth_date`` from ``context["pii"]``; masked when the context does not hold
    the person (``beneficiaries.privacy``)."""

    id_number = serializers.SerializerMethodField(help_text="masked unless the user may see identity numbers")
    phone = serializers.SerializerMethodField(help_text="masked unless the user may see phone numbers")
    birth_date = serializers.SerializerMethodField(
        help_text="YYYY-MM-DD for a user who may see identity numbers; otherwise the birth year (YYYY), or "
        "YYYY-YYYY for someone born this year or last")
    pii_masked = serializers.SerializerMethodField()

    def _pii(self, person) -> Pii:
        return self.context.get("pii", {}).get(person.pk) or masked_pii(person)

    def get_birth_date(self, person) -> str:
        return self._pii(person).birth

    def get_id_number(self, person) -> str:
        return self._pii(person).id_number

    def get_phone(self, person) -> str:
        return self._pii(person).phone

    def get_pii_masked(self, person) -> bool:
        return self._pii(person).masked
