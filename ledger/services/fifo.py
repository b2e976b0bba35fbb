"""First in, first out: spending in a fund is allocated to the fund's oldest income that is not used up yet.

Each fund's open sources form a queue in FIFO order (date, sequence, leg). The database feeds the queue a page
at a time (the first page small, as most spending takes from one or two sources); sources posted in the
current batch and not yet written join it in order.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import deque
from collections.abc import Callable


class Source:
    """An open fund source: the income leg's id, its FIFO place and what is left of it (fen)."""

    __slots__ = ("leg_id", "date", "sequence", "remaining", "new")

    def __init__(self, leg_id: int, date: dt.date, sequence: int, remaining: int, new: bool):
        self.leg_id, self.date, self.sequence, self.remaining, self.new = leg_id, date, sequence, remaining, new

    @property
    def key(self) -> tuple:
        return (self.date, self.sequence, self.leg_id)


#: Reads one page of a fund's open sources after a FIFO key: (fund id, key or None, size) -> rows of
#: (leg id, date, sequence, remaining).
PageReader = Callable[[int, tuple | None, int], list]


class FifoQueue:
    """One fund's open sources: pages read from the database merged with the sources posted but not written."""

    FIRST_PAGE = 20
    LARGEST_PAGE = 500

    def __init__(self, fund_id: int):
        self.fund_id = fund_id
        self.page_size = self.FIRST_PAGE
        self.stored: deque[Source] = deque()
        self.stored_done = False
        self.after: tuple | None = None  # FIFO key of the last stored source read
        self.new: list[Source] = []  # sources posted in the batch and not written yet, in FIFO order

    @property
    def needs_page(self) -> bool:
        while self.stored and self.stored[0].remaining == 0:
            self.stored.popleft()
        return not self.stored and not self.stored_done

    def next_page(self) -> tuple[tuple | None, int]:
        """Where the next page starts and how many rows it asks for (the page after it is larger)."""
        size = min(self.page_size, self.LARGEST_PAGE)
        self.page_size = size * 4
        return self.after, size

    def take_page(self, rows, size: int) -> None:
        for leg_id, date, sequence, remaining in rows:
            if isinstance(date, str):  # SQLite hands dates back as text on a raw cursor
                date = dt.date.fromisoformat(date)
            self.stored.append(Source(leg_id, date, sequence, remaining, False))
        if rows:
            self.after = self.stored[-1].key
        self.stored_done = len(rows) < size

    def add(self, source: Source) -> None:
        bisect.insort(self.new, source, key=lambda s: s.key)

    def allocate(self, need: int, read_page: PageReader) -> list[tuple[Source, int]]:
        """Take ``need`` fen from the oldest sources: [(source, amount taken)]. What no source covers stays
        unfunded. Moves the sources' remainders; the caller records the allocations."""
        taken = []
        while need > 0:
            while self.needs_page:
                after, size = self.next_page()
                self.take_page(read_page(self.fund_id, after, size), size)
            while self.new and self.new[0].remaining == 0:
                self.new.pop(0)
            heads = [s for s in (self.stored[0] if self.stored else None, self.new[0] if self.new else None) if s]
            if not heads:
                break
            source = min(heads, key=lambda s: s.key)
            take = min(need, source.remaining)
            source.remaining -= take
            need -= take
            taken.append((source, take))
        return taken
