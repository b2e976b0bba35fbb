"""The one mapping from a prepared entry to the rows the ledger stores (entry, legs), to its hash, and to the
model instances a post returns. Posting, reversal and the benchmarks build their rows here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection

from ..hashing import entry_hash
from ..models import Allocation, Book, DailyBalance, EntryStatus, Fund, FundSource, JournalEntry, Leg
from .legs import Prepared

T_BOOK = Book._meta.db_table
T_FUND = Fund._meta.db_table
T_ENTRY = JournalEntry._meta.db_table
T_LEG = Leg._meta.db_table
T_DAILY = DailyBalance._meta.db_table
T_SOURCE = FundSource._meta.db_table
T_ALLOCATION = Allocation._meta.db_table

ENTRY_COLUMNS = (
    "id", "book_id", "sequence", "date", "memo", "status", "source_type", "source_id", "created_by_id",
    "approved_by_id", "created_at", "idempotency_key", "payload_hash", "fx_rate", "reverses_id", "previous_hash",
    "hash",
)
LEG_COLUMNS = ("id", "entry_id", "position", "account_id", "fund_id", "currency", "debit", "credit", "debit_cny",
               "credit_cny", "date")
SOURCE_COLUMNS = ("leg_id", "fund_id", "date", "sequence", "amount", "remaining")
ALLOCATION_COLUMNS = ("source_id", "leg_id", "kind", "amount")
DAILY_COLUMNS = ("book_id", "account_id", "fund_id", "date", "debit", "credit")


@dataclass(frozen=True, slots=True)
class Placed:
    """Where a prepared entry goes in its book: its ids, its place in the chain, its hash."""

    entry_id: int
    leg_ids: tuple[int, ...]
    sequence: int
    previous_hash: str
    hash: str
    created_at: dt.datetime


def chain(prepared: Prepared, *, sequence: int, previous_hash: str) -> str:
    """The entry's hash, linked to ``previous_hash``."""
    p = prepared
    return entry_hash(
        previous_hash, book_id=p.book.pk, sequence=sequence, date=p.date, memo=p.memo, source_type=p.source_type,
        source_id=p.source_id, idempotency_key=p.idempotency_key,
        reverses_sequence=p.reverses.sequence if p.reverses is not None else None, fx_rate=p.fx_rate,
        created_by_id=p.user.pk, approved_by_id=p.approved_by.pk if p.approved_by is not None else None,
        legs=[leg.hash_tuple() for leg in p.legs],
    )


def entry_row(p: Prepared, placed: Placed) -> tuple:
    """The entry's row (``ENTRY_COLUMNS``), written as a draft: the database checks the balance when it turns
    posted."""
    fx_rate = None if p.fx_rate is None else connection.ops.adapt_decimalfield_value(p.fx_rate, 18, 8)
    return (
        placed.entry_id, p.book.pk, placed.sequence, p.date, p.memo, EntryStatus.DRAFT, p.source_type, p.source_id,
        p.user.pk, p.approved_by.pk if p.approved_by is not None else None,
        connection.ops.adapt_datetimefield_value(placed.created_at), p.idempotency_key, p.payload_hash, fx_rate,
        p.reverses.pk if p.reverses is not None else None, placed.previous_hash, placed.hash,
    )


def leg_rows(p: Prepared, placed: Placed) -> list[tuple]:
    """The legs' rows (``LEG_COLUMNS``)."""
    return [
        (leg_id, placed.entry_id, *leg.hash_tuple(), p.date)
        for leg, leg_id in zip(p.legs, placed.leg_ids)
    ]


def posted_entry(p: Prepared, placed: Placed) -> JournalEntry:
    """The posted entry as a model instance, with ``posted_legs``."""
    entry = JournalEntry(
        id=placed.entry_id, book=p.book, sequence=placed.sequence, date=p.date, memo=p.memo,
        status=EntryStatus.POSTED, source_type=p.source_type, source_id=p.source_id, created_by=p.user,
        approved_by=p.approved_by, created_at=placed.created_at, idempotency_key=p.idempotency_key,
        payload_hash=p.payload_hash, fx_rate=p.fx_rate, reverses=p.reverses, previous_hash=placed.previous_hash,
        hash=placed.hash,
    )
    entry.posted_legs = [
        Leg(id=leg_id, entry=entry, position=leg.position, account=leg.account, fund=leg.fund,
            currency=leg.currency, debit=leg.minor if leg.is_debit else 0, credit=0 if leg.is_debit else leg.minor,
            debit_cny=leg.cny if leg.is_debit else 0, credit_cny=0 if leg.is_debit else leg.cny, date=p.date)
        for leg, leg_id in zip(p.legs, placed.leg_ids)
    ]
    return entry
