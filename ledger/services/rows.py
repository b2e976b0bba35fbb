"""The one mapping from a prepared entry to the rows the ledger stores (entry, legs), to its hash, and to the
model instances a post returns. Posting, reversal and the benchmarks build their rows here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple

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
    "hash", "closing",
)
LEG_COLUMNS = ("id", "entry_id", "position", "account_id", "fund_id", "currency", "debit", "credit", "debit_cny",
               "credit_cny", "date")
SOURCE_COLUMNS = ("leg_id", "fund_id", "date", "sequence", "amount", "remaining")
ALLOCATION_COLUMNS = ("source_id", "leg_id", "kind", "amount")
DAILY_COLUMNS = ("book_id", "account_id", "fund_id", "date", "debit", "credit")


class Placed(NamedTuple):
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
        legs=[leg.row for leg in p.legs], closing=p.closing,
    )


def entry_row(p: Prepared, placed: Placed, ops) -> tuple:
    """The entry's row (``ENTRY_COLUMNS``), written as a draft: the database checks the balance when it turns
    posted."""
    fx_rate = None if p.fx_rate is None else ops.adapt_decimalfield_value(p.fx_rate, 18, 8)
    return (
        placed.entry_id, p.book.pk, placed.sequence, p.date, p.memo, EntryStatus.DRAFT, p.source_type, p.source_id,
        p.user.pk, p.approved_by.pk if p.approved_by is not None else None,
        ops.adapt_datetimefield_value(placed.created_at), p.idempotency_key, p.payload_hash, fx_rate,
        p.reverses.pk if p.reverses is not None else None, placed.previous_hash, placed.hash, p.closing,
    )


def leg_rows(p: Prepared, placed: Placed) -> list[tuple]:
    """The legs' rows (``LEG_COLUMNS``)."""
    return [
        (leg_id, placed.entry_id, *leg.row, p.date)
        for leg, leg_id in zip(p.legs, placed.leg_ids)
    ]


class PostedLegs(Sequence):
    """The legs of an entry just posted, as ``Leg`` instances in position order. Made when first read: most
    callers (an import, a batch of grants) never read them."""

    __slots__ = ("_prepared", "_placed", "_alias", "_legs")

    def __init__(self, prepared: Prepared, placed: Placed, alias: str):
        self._prepared, self._placed, self._alias, self._legs = prepared, placed, alias, None

    def _made(self) -> list[Leg]:
        if self._legs is None:
            alias, entry_id, date = self._alias, self._placed.entry_id, self._prepared.date
            self._legs = []
            for leg, leg_id in zip(self._prepared.legs, self._placed.leg_ids):
                row = Leg.from_db(alias, LEG_COLUMNS, (leg_id, entry_id, *leg.row, date))
                row.account = leg.account
                self._legs.append(row)
        return self._legs

    def __getitem__(self, index):
        return self._made()[index]

    def __len__(self) -> int:
        return len(self._prepared.legs)


def posted_entry(p: Prepared, placed: Placed, alias: str) -> JournalEntry:
    """The posted entry as a model instance, with ``posted_legs``: made as the ORM makes instances of rows it
    reads (``Model.from_db``), since these are the rows as stored, and linked to the book the caller gave."""
    entry = JournalEntry.from_db(alias, ENTRY_COLUMNS, (
        placed.entry_id, p.book.pk, placed.sequence, p.date, p.memo, EntryStatus.POSTED, p.source_type, p.source_id,
        p.user.pk, p.approved_by.pk if p.approved_by is not None else None, placed.created_at, p.idempotency_key,
        p.payload_hash, p.fx_rate, p.reverses.pk if p.reverses is not None else None, placed.previous_hash,
        placed.hash, p.closing,
    ))
    entry.book = p.book
    entry.posted_legs = PostedLegs(p, placed, alias)
    return entry
