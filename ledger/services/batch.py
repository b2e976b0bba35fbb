"""Posting: the one way an entry reaches the books.

A ``PostingBatch`` posts entries inside one transaction. For each entry it reads what it does not hold yet (the
book's head under a row lock, which serialises sequence numbers and the hash chain per book; the funds the entry
changes, locked in id order; whether its idempotency key is used; a page of a spent fund's open sources),
checks it against the books as they stand (closed periods, a restricted fund going below zero), links it into the
chain, allocates its spending first in first out, and keeps its rows and the running totals (the book's head,
the funds' net assets, the day balances) in memory. ``flush`` writes them; closing the batch flushes and
commits. The database's own guards check every row as it is written.

A single ``entry_post`` is a batch of one. A caller that posts many (an import, a disbursement batch) holds the
batch (``with posting_batch() as batch: batch.post(...)``) and hands it to the services it calls (``batch=``).
Inside a batch, ledger rows posted earlier reach the database when the batch is flushed: a caller reads the
entry that ``post`` returns (with its ``posted_legs``), ``find`` and ``net_assets``, or flushes first.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from contextlib import contextmanager
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from .. import errors, signals
from ..authority import POST_ENTRIES, require
from ..hashing import GENESIS
from ..models import AllocationKind, Book, Fund, JournalEntry, Restriction, from_minor
from . import rows
from .fifo import FifoQueue, Source
from .legs import LegSpec, Prepared, prepare, prepare_legs
from .writer import Need, Pending, Totals, Writer, writer_for


def check_open(date: dt.date, closed_through) -> None:
    if closed_through is not None and date <= closed_through:
        raise errors.ClosedPeriod(
            f"date {date.isoformat()} falls in a closed period (closed through {closed_through.isoformat()})",
            field="date",
        )


class PostingBatch:
    """Entries posted in one transaction; see the module's docstring. Made by ``posting_batch``."""

    def __init__(self, writer: Writer):
        self.writer = writer
        self.books: dict[int, list] = {}  # book id -> [last sequence, head hash, closed through], locked
        self.funds: dict[int, list] = {}  # fund id -> [net assets, restriction, code], locked
        self.daily: dict[tuple, list[int]] = {}  # (book, account, fund, date) -> [debit, credit] not written yet
        self.moved_books: set[int] = set()
        self.moved_funds: set[int] = set()
        self.posted: set[tuple[int, str]] = set()  # (book, idempotency key) of the entries posted in the batch
        self.unused_keys: dict[int, set[str]] = {}  # book id -> keys known to be unused
        self.queues: dict[int, FifoQueue] = {}  # fund id -> its open sources
        self.pending = Pending()
        self.callers_books: dict[int, Book] = {}  # the callers' Book objects, moved on when the batch commits
        self.entries_posted = 0  # new entries (not replays), for ledger.signals.entries_posted

    # -- what callers use --------------------------------------------------------------------------------------
    def post(self, *, book: Book, date: dt.date, memo: str, legs: list[LegSpec], user,
             idempotency_key: str | None = None, source: tuple[str, str] | None = None, fx_rate=None,
             approved_by=None, closing: bool = False) -> JournalEntry:
        """Post a balanced entry (see ``entry_post``)."""
        require(user, POST_ENTRIES, book)
        if any(spec.reduces is not None for spec in legs):
            self.flush()  # whether the leg given back is a source of its fund is read from the database
        return self.post_prepared(prepare(
            book=book, date=date, memo=memo, legs=legs, user=user, idempotency_key=idempotency_key, source=source,
            fx_rate=fx_rate, approved_by=approved_by, closing=closing,
        ))

    def expect_keys(self, book: Book, keys) -> None:
        """Say which idempotency keys are about to be posted in ``book`` (an import knows them all): one query
        finds those already used, and the others are then posted without a lookup each. The book is locked
        first, so nobody else can use one of them until the batch commits."""
        self._hold_book(book)
        keys = [k for k in dict.fromkeys(keys) if k is not None and (book.pk, k) not in self.posted]
        used = self.writer.keys_used(book.pk, keys)
        self.unused_keys.setdefault(book.pk, set()).update(k for k in keys if k not in used)

    def find(self, book: Book, key: str) -> JournalEntry | None:
        """The entry posted in ``book`` under idempotency key ``key``, in this batch or before it, or None."""
        if (book.pk, key) in self.posted:
            self.flush()
        elif key in self.unused_keys.get(book.pk, ()):
            return None
        return JournalEntry.objects.filter(book=book, idempotency_key=key).first()

    def net_assets(self, fund: Fund) -> Decimal:
        """The fund's net assets in CNY now, counting what this batch posted."""
        held = self.funds.get(fund.pk)
        if held is not None:
            return from_minor(held[0])
        return from_minor(Fund.objects.values_list("net_assets", flat=True).get(pk=fund.pk))

    def flush(self) -> None:
        """Write every row and running total the batch holds. Afterwards the database shows all it posted."""
        totals = Totals(
            books=[(book_id, *self.books[book_id][:2]) for book_id in sorted(self.moved_books)],
            funds=[(fund_id, self.funds[fund_id][0]) for fund_id in sorted(self.moved_funds)],
            daily=[(*key, debit, credit) for key, (debit, credit) in self.daily.items()],
        )
        if self.pending or totals:
            self.writer.write(self.pending, totals)
        self.pending = Pending()
        self.moved_books.clear()
        self.moved_funds.clear()
        self.daily.clear()
        self.queues.clear()  # re-read from the database when next needed

    # -- posting -----------------------------------------------------------------------------------------------
    def committed(self) -> None:
        """Move the callers' ``Book`` objects to the heads the batch wrote (once it has committed)."""
        for book in self.callers_books.values():
            book.last_sequence, book.head_hash = self.books[book.pk][0:2]

    def _hold_book(self, book: Book) -> list:
        if book.pk not in self.books:
            need = Need(book_id=book.pk)
            self.writer.load(need)
            self.books[book.pk] = need.book
        return self.books[book.pk]

    def _queue(self, fund_id: int) -> FifoQueue:
        queue = self.queues.get(fund_id)
        if queue is None:
            queue = self.queues[fund_id] = FifoQueue(fund_id)
            for row in self.pending.sources:  # posted in this batch, not in the database yet
                if row[1] == fund_id:
                    queue.add(row[5])
        return queue

    def _pages_needed(self, p: Prepared) -> list[FifoQueue]:
        """The queues of the funds the entry spends from that have run out of pages read."""
        pages = []
        if p.simple and not p.closing:
            for leg in p.legs:
                if leg.is_use:
                    queue = self._queue(leg.fund_id)
                    if queue.needs_page and queue not in pages:
                        pages.append(queue)
        return pages

    def post_prepared(self, p: Prepared) -> JournalEntry:
        """Post an entry that ``legs.prepare`` accepted: read what is missing, check, chain, allocate, keep."""
        book, key = p.book, p.idempotency_key
        if key is not None and (book.pk, key) in self.posted:
            return self._replay(p, self.find(book, key))
        deltas = p.fund_deltas()
        # What is missing, read in one go (in a long batch, usually nothing).
        need = Need(
            book_id=None if book.pk in self.books else book.pk,
            key=None if key is None or key in self.unused_keys.get(book.pk, ()) else key, key_book_id=book.pk,
            fund_ids=sorted(fund_id for fund_id in deltas if fund_id not in self.funds),
            pages=self._pages_needed(p),
            ids={table: missing for table, missing in (
                (rows.T_ENTRY, self.writer.ids_missing(rows.T_ENTRY, 1)),
                (rows.T_LEG, self.writer.ids_missing(rows.T_LEG, len(p.legs))),
            ) if missing},
        )
        if need:
            self.writer.load(need)
            if need.book is not None:
                self.books[book.pk] = need.book
            self.funds.update(need.funds)
            if need.key is not None:
                if need.key_used:
                    return self._replay(p, JournalEntry.objects.get(book=book, idempotency_key=key))
                self.unused_keys.setdefault(book.pk, set()).add(key)
        last, head, closed_through = self.books[book.pk]
        check_open(p.date, closed_through)
        for fund_id in sorted(deltas):
            net_assets, restriction, code = self.funds[fund_id]
            if deltas[fund_id] < 0 and restriction != Restriction.UNRESTRICTED and net_assets + deltas[fund_id] < 0:
                raise errors.InsufficientFunds(
                    f"fund {code} has {from_minor(net_assets)} CNY; this entry needs {from_minor(-deltas[fund_id])} CNY",
                    field="fund",
                )
        sequence, previous = last + 1, head or GENESIS
        placed = rows.Placed(
            entry_id=self.writer.take_ids(rows.T_ENTRY, 1)[0], leg_ids=self.writer.take_ids(rows.T_LEG, len(p.legs)),
            sequence=sequence, previous_hash=previous, hash=rows.chain(p, sequence=sequence, previous_hash=previous),
            created_at=timezone.now(),
        )
        if p.simple:
            self._allocate(p, placed)
        else:
            from .reversal import trace

            # A reversal or a give-back reads and moves allocations that earlier entries made: the database must
            # hold them. In a savepoint, so that a refusal leaves the database and the batch as they were.
            self.flush()
            with transaction.atomic():
                traced = trace(p, placed, self.writer.read_page)
        # Nothing below refuses: the entry joins the batch.
        self.entries_posted += 1
        if not p.simple:
            self.pending.allocations += traced.allocations
            self.pending.sources += traced.sources
        self.pending.entries.append(rows.entry_row(p, placed, self.writer.db.ops))
        self.pending.legs += rows.leg_rows(p, placed)
        for fund_id, delta in deltas.items():
            self.funds[fund_id][0] += delta
            self.moved_funds.add(fund_id)
        for leg in p.legs:
            bucket = self.daily.setdefault((book.pk, leg.account_id, leg.fund_id, p.date), [0, 0])
            bucket[0 if leg.is_debit else 1] += leg.cny
        self.books[book.pk][0:2] = [sequence, placed.hash]
        self.moved_books.add(book.pk)
        entry = rows.posted_entry(p, placed, self.writer.db.alias)
        if key is not None:
            self.posted.add((book.pk, key))
            if book.pk in self.unused_keys:
                self.unused_keys[book.pk].discard(key)
        if not p.simple:
            self.flush()
        self.callers_books[id(book)] = book
        return entry

    def _allocate(self, p: Prepared, placed: rows.Placed) -> None:
        """Spending takes from its fund's queue, oldest first; then the entry's new income joins the queue. A
        closing entry moves balances to net assets: it neither receives nor spends, so it takes no part."""
        if p.closing:
            return
        new = []
        for leg, leg_id in zip(p.legs, placed.leg_ids):
            if leg.is_source:
                source = Source(leg_id, p.date, placed.sequence, leg.cny, True)
                self.pending.sources.append((leg_id, leg.fund_id, p.date, placed.sequence, leg.cny, source))
                new.append((leg.fund_id, source))
            elif leg.is_use:
                for source, take in self._queue(leg.fund_id).allocate(leg.cny, self.writer.read_page):
                    self.pending.allocations.append((source.leg_id, leg_id, AllocationKind.USE, take))
                    if not source.new:
                        self.pending.source_remaining[source.leg_id] = source
        for fund_id, source in new:
            if fund_id in self.queues:
                self.queues[fund_id].add(source)

    @staticmethod
    def _replay(p: Prepared, entry: JournalEntry) -> JournalEntry:
        """The entry already posted under the key (read from the database): the same request again returns it,
        marked ``replayed``; another one is refused."""
        if entry.payload_hash != p.payload_hash:
            raise errors.IdempotencyConflict(
                f"idempotency key {p.idempotency_key!r} was already used for entry #{entry.sequence} with a "
                "different payload",
                field="idempotency_key",
            )
        entry.replayed = True
        entry.posted_legs = list(entry.legs.select_related("account", "fund").order_by("position"))
        return entry


_open = threading.local()


@contextmanager
def posting_batch(batch: PostingBatch | None = None):
    """A posting batch: ``batch`` itself when a caller hands one on, else a new one in a transaction of its own
    that is flushed and committed when the block ends (rolled back, with everything in it, on an exception).

    One batch at a time per thread: a second would read book heads the first has moved in memory only, so
    opening one inside another is refused (hand the outer one on instead)."""
    if batch is not None:
        yield batch
        return
    if getattr(_open, "batch", None) is not None:
        raise RuntimeError("a posting batch is already open: pass it on (batch=) instead of opening another")
    batch = PostingBatch(writer_for())
    _open.batch = batch
    started = time.perf_counter()
    try:
        with transaction.atomic():
            yield batch
            batch.flush()
            if batch.entries_posted:
                count, seconds = batch.entries_posted, time.perf_counter() - started
                # robust: a listener's failure must not turn a committed post into an error for its caller
                transaction.on_commit(lambda: signals.entries_posted.send_robust(PostingBatch, count=count,
                                                                                 seconds=seconds), robust=True)
        batch.committed()
    finally:
        _open.batch = None


def entry_post(*, book: Book, date: dt.date, memo: str, legs: list[LegSpec], user,
               idempotency_key: str | None = None, source: tuple[str, str] | None = None, fx_rate=None,
               approved_by=None, batch: PostingBatch | None = None, closing: bool = False) -> JournalEntry:
    """Post a balanced entry and return it with its ``posted_legs``; in ``batch`` when given, else on its own.

    Refuses with a ``LedgerError`` subclass, writing nothing, when it cannot, and with ``PermissionDenied`` when
    ``user`` may not post to ``book``. An idempotency key already used returns the entry it posted (marked
    ``replayed``) when the request is the same, and is refused otherwise. ``closing`` marks a closing entry
    (``JournalEntry.closing``): only income, expense and net asset legs, outside the FIFO of fund sources."""
    post = dict(book=book, date=date, memo=memo, legs=legs, user=user, idempotency_key=idempotency_key,
                source=source, fx_rate=fx_rate, approved_by=approved_by, closing=closing)
    if batch is not None:
        return batch.post(**post)
    with posting_batch() as posting:
        return posting.post(**post)


def entry_check(*, book: Book, date: dt.date, legs: list[LegSpec], fx_rate=None) -> None:
    """Refuse, as ``entry_post`` would, an entry that cannot be posted as it stands (amounts, currencies, balance
    per fund, purposes, the date); writes nothing. For an entry drafted now and posted later by someone else: the
    post checks again, against the books as they are then."""
    prepare_legs(book=book, date=date, legs=legs, fx_rate=fx_rate)
    check_open(date, Book.objects.filter(pk=book.pk).values_list("closed_through", flat=True).get())
