"""Reversals, and income given back: the entries that undo or reduce what earlier entries allocated.

A reversal posts the mirror image of an entry (every leg swapped, the original's CNY figures kept) and hands
back whatever the original's legs took from fund sources. Income given back (a refund: a debit to income)
reduces the source it names, or the fund's newest sources, by what is still unallocated of them. Both read and
move allocations in the database, so a batch writes what it holds before it traces one of them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db.models import F, Q

from .. import bounds, errors
from ..authority import POST_ENTRIES, require
from ..models import Allocation, AllocationKind, EntryStatus, FundSource, JournalEntry, Leg, from_minor
from .batch import PostingBatch, posting_batch
from .fifo import FifoQueue, PageReader, Source
from .legs import LegSpec, Prepared, prepare
from .rows import Placed
from .writer import Pending


def entry_reverse(*, entry: JournalEntry, date: dt.date, reason: str, user, idempotency_key: str | None = None,
                  batch: PostingBatch | None = None) -> JournalEntry:
    """Post the mirror image of ``entry`` (every leg swapped) that points at it. An entry is reversed once."""
    require(user, POST_ENTRIES, entry.book)
    if not reason or not reason.strip():
        raise errors.LedgerError("a reversal needs a reason", field="reason")
    bounds.check_text(reason, field="reason")
    if entry.status != EntryStatus.POSTED:
        raise errors.LedgerError(f"entry #{entry.sequence} is not posted", field="entry")
    if entry.closing:
        raise errors.LedgerError(f"entry #{entry.sequence} is a closing entry: it is never reversed", field="entry")
    if date < entry.date:
        raise errors.LedgerError(
            f"a reversal cannot be dated {date.isoformat()}, before the entry it reverses ({entry.date})",
            field="date",
        )
    with posting_batch(batch) as posting:
        posting.flush()  # the original and what it allocated are read from the database
        # A retried reversal (its idempotency key already used) goes on to the post, which returns the first
        # reversal when the payload is the same and refuses a different one; only a new request is refused here.
        replay = idempotency_key is not None and posting.find(entry.book, idempotency_key) is not None
        if not replay and JournalEntry.objects.filter(reverses=entry).exists():
            raise errors.AlreadyReversed(f"entry #{entry.sequence} has already been reversed", field="entry")
        originals = list(entry.legs.select_related("account", "fund").order_by("position"))
        legs = []
        for leg in originals:
            amount = from_minor(leg.debit or leg.credit)
            if leg.debit:
                legs.append(LegSpec(account=leg.account, fund=leg.fund, currency=leg.currency, credit=amount))
            else:
                legs.append(LegSpec(account=leg.account, fund=leg.fund, currency=leg.currency, debit=amount))
        prepared = prepare(
            book=entry.book, date=date, memo=f"冲销 Reversal of #{entry.sequence}: {reason.strip()}", legs=legs,
            user=user, idempotency_key=idempotency_key,
            source=(entry.source_type, entry.source_id) if entry.source_type else ("reversal", str(entry.sequence)),
            fx_rate=entry.fx_rate, reverses=entry,
            cny=[leg.debit_cny or leg.credit_cny for leg in originals],  # the original's CNY figures, exactly
        )
        try:
            return posting.post_prepared(prepared)
        except errors.AllocatedSource as exc:
            raise errors.AllocatedSource(f"entry #{entry.sequence} cannot be reversed: {exc.message}", field="entry")


def trace(p: Prepared, placed: Placed, read_page: PageReader) -> Pending:
    """The FIFO links of a reversal or a give-back: sources reduced and released in the database now, the
    entry's new sources and its allocations returned for the batch to write with the entry."""
    out = Pending()
    originals: dict[int, Leg] = {}
    if p.reverses is not None:
        originals = {leg.position: leg for leg in p.reverses.legs.all()}
    # Releases first: a reversal hands back everything its original's legs took before any of its legs gives
    # income back or spends, so that the result does not depend on the order of the legs.
    for leg, leg_id in zip(p.legs, placed.leg_ids):
        original = originals.get(leg.position)
        if original is not None:
            out.allocations += _release(original, leg_id)
    queues: dict[int, FifoQueue] = {}
    for leg, leg_id in zip(p.legs, placed.leg_ids):
        original = originals.get(leg.position)
        if original is not None:
            if leg.is_give_back:
                # Giving income back again. The original leg is the source itself, or, when the entry reversed is
                # itself a reversal (of a give-back), the leg whose allocations put money back into sources:
                # those sources are the ones to reduce.
                sources = (
                    FundSource.objects.filter(Q(leg=original) | Q(allocations__leg=original))
                    .distinct()
                    .order_by("date", "sequence", "pk")
                )
                out.allocations += _reduce(leg, leg_id, p.date, sources)
                queues.pop(leg.fund_id, None)  # the fund's sources moved in the database: read them afresh
            elif leg.is_use:
                # Spending again what a reversal had undone (the reversal of a reversal of a use): a use like any
                # other; otherwise it would stay unallocated however much income the fund holds.
                out.allocations += _use(leg, leg_id, queues, read_page)
            continue
        if leg.is_source:
            source = Source(leg_id, p.date, placed.sequence, leg.cny, True)
            out.sources.append((leg_id, leg.fund_id, p.date, placed.sequence, leg.cny, source))
        elif leg.is_give_back:
            if leg.reduces is not None:
                candidates = FundSource.objects.filter(leg=leg.reduces)
            else:
                candidates = FundSource.objects.filter(fund=leg.fund, remaining__gt=0).order_by("-date", "-sequence")
            out.allocations += _reduce(leg, leg_id, p.date, candidates)
            queues.pop(leg.fund_id, None)  # the fund's sources moved in the database: read them afresh
        elif leg.is_use:
            out.allocations += _use(leg, leg_id, queues, read_page)
    return out


def _use(leg, leg_id: int, queues: dict[int, FifoQueue], read_page: PageReader) -> list[tuple]:
    """Allocate a use FIFO (the one allocator posting uses) and write the sources' remainders now: a later leg of
    the same entry reads them."""
    queue = queues.setdefault(leg.fund_id, FifoQueue(leg.fund_id))
    made = []
    for source, take in queue.allocate(leg.cny, read_page):
        FundSource.objects.filter(pk=source.leg_id).update(remaining=source.remaining)
        made.append((source.leg_id, leg_id, AllocationKind.USE, take))
    return made


def _reduce(leg, leg_id: int, date: dt.date, candidates) -> list[tuple]:
    """Give back income: only what was still unallocated of the named (or newest) sources on the give-back's date.

    Spending dated after the give-back was allocated to a source that, in time, was already given back when the
    spending happened (entries can be posted in any order within an open period: a year imported file by file
    posts August's grants before May's refund). Such later spending is moved to the fund's other sources, first
    in first out, before the give-back is refused for lack of unallocated income.
    """
    need = leg.cny
    made = []
    for source in candidates:
        if need <= 0:
            break
        if source.remaining < need:
            made += _move_later_uses(source, after=date, wanted=need - source.remaining)
            source.refresh_from_db(fields=["remaining"])
        take = min(need, source.remaining)
        if take <= 0:
            continue
        FundSource.objects.filter(pk=source.pk).update(remaining=source.remaining - take)
        made.append((source.pk, leg_id, AllocationKind.REFUND, take))
        need -= take
    if need > 0:
        raise errors.AllocatedSource(
            f"only {from_minor(leg.cny - need)} CNY of that income in fund {leg.fund.code} is still unspent; "
            f"{from_minor(leg.cny)} CNY cannot be given back",
            field="amount",
        )
    return made


def _move_later_uses(source: FundSource, *, after: dt.date, wanted: int) -> list[tuple]:
    """Re-allocate up to ``wanted`` fen of uses dated after ``after`` from ``source`` to the fund's other sources
    (oldest first). Written as new allocation rows: a release from ``source`` and a take from each other one."""
    held: dict[int, int] = defaultdict(int)
    dates = {}
    for allocation in Allocation.objects.filter(source=source, kind=AllocationKind.USE, leg__date__gt=after).select_related("leg"):
        held[allocation.leg_id] += allocation.amount
        dates[allocation.leg_id] = allocation.leg.date
    moves = []
    for leg_id in sorted(held, key=lambda pk: (dates[pk], pk), reverse=True):  # latest spending moves first
        if wanted <= 0:
            break
        amount = min(held[leg_id], wanted)
        if amount <= 0:
            continue
        others = (
            FundSource.objects.filter(fund_id=source.fund_id, remaining__gt=0)
            .exclude(pk=source.pk)
            .order_by("date", "sequence")
        )
        moved = 0
        for other in others:
            take = min(other.remaining, amount - moved)
            FundSource.objects.filter(pk=other.pk).update(remaining=other.remaining - take)
            moves.append((other.pk, leg_id, AllocationKind.USE, take))
            moved += take
            if moved == amount:
                break
        if moved:
            FundSource.objects.filter(pk=source.pk).update(remaining=F("remaining") + moved)
            moves.append((source.pk, leg_id, AllocationKind.USE, -moved))
            wanted -= moved
        if moved < amount:
            break  # the fund's other sources are exhausted
    return moves


def _release(original: Leg, leg_id: int) -> list[tuple]:
    """A reversal hands back whatever the original leg took from sources."""
    made = []
    taken: dict[tuple[int, str], int] = defaultdict(int)
    for allocation in original.allocations.all():
        taken[(allocation.source_id, allocation.kind)] += allocation.amount
    for (source_id, kind), amount in taken.items():
        if amount <= 0:
            continue
        FundSource.objects.filter(pk=source_id).update(remaining=F("remaining") + amount)
        made.append((source_id, leg_id, kind, -amount))
    return made
