"""Reads of the aid side that need care: households with their members, the registry as a user may see it, and
the trace from a donation to the programs and beneficiaries it reached (through the ledger's allocations)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Prefetch, QuerySet, Sum

from ledger.models import Allocation, AllocationKind, Book, JournalEntry, from_minor
from ledger.selectors import allocations_of

from .models import POSTED_STATUSES, Beneficiary, Disbursement, Household, PiiAccessLog
from .privacy import can_view_pii, full_pii, masked_pii


def household_list(*, book: Book) -> QuerySet[Household]:
    """Households of the trust with their members (mother first, then by birth date), two queries in all."""
    members = Beneficiary.objects.order_by("birth_date", "external_id")
    return (
        Household.objects.filter(book=book)
        .select_related("mother")
        .prefetch_related(Prefetch("members", queryset=members))
        .order_by("external_id")
    )


def registry_rows(*, book: Book, user, purpose: str = "registry list") -> list[dict]:
    """Every beneficiary as ``user`` may see her: PII masked unless ``user`` has ``beneficiaries.view_pii``,
    in which case each record shown unmasked is logged (one log row per record, written in one insert)."""
    unmasked = can_view_pii(user)
    rows = []
    people = list(
        Beneficiary.objects.filter(book=book).select_related("household", "guardian").order_by("external_id")
    )
    for b in people:
        pii = full_pii(b) if unmasked else masked_pii(b)
        rows.append(
            {
                "external_id": b.external_id,
                "name": b.name,
                "id_number": pii.id_number,
                "birth_date": b.birth_date if unmasked else pii.birth,
                "gender": b.gender,
                "household_id": b.household.external_id if b.household else "",
                "guardian_external_id": b.guardian.external_id if b.guardian else "",
                "district": b.district,
                "community": b.community,
                "phone": pii.phone,
                "status": b.status,
            }
        )
    if unmasked and people:
        with transaction.atomic():
            PiiAccessLog.objects.bulk_create(
                [PiiAccessLog(beneficiary=b, user=user, fields="id_number,phone", purpose=purpose[:200]) for b in people]
            )
    return rows


def disbursement_allocations(*, disbursement: Disbursement) -> list[Allocation]:
    """Which donations (sources) paid for a posted disbursement, as the ledger allocated it (FIFO)."""
    if disbursement.entry_id is None:
        return []
    return [a for a in allocations_of(disbursement.entry) if a.kind == AllocationKind.USE]


@dataclass(frozen=True)
class ProgramReach:
    program_code: str
    amount: Decimal
    disbursements: int
    beneficiaries: int


def reach_of_source(*, entry: JournalEntry) -> list[ProgramReach]:
    """For a donation's entry: what of it was spent on which program, in how many disbursements, reaching how
    many distinct beneficiaries. Reversed disbursements are left out (their allocations were released)."""
    rows = (
        Allocation.objects.filter(
            source__leg__entry=entry, kind=AllocationKind.USE, leg__entry__disbursement__status__in=POSTED_STATUSES
        )
        .values("leg__entry__disbursement__program__code")
        .annotate(
            fen=Sum("amount"),
            n=Count("leg__entry__disbursement", distinct=True),
            people=Count("leg__entry__disbursement__beneficiary", distinct=True),
        )
        .order_by("leg__entry__disbursement__program__code")
    )
    return [
        ProgramReach(
            program_code=row["leg__entry__disbursement__program__code"], amount=from_minor(row["fen"]),
            disbursements=row["n"], beneficiaries=row["people"],
        )
        for row in rows
    ]
