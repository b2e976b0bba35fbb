"""The journal and the general ledger stream: memory stays flat however many legs the period holds."""

import tracemalloc
import types
from decimal import Decimal

import pytest

from charity.reports import REPORTS, render_report, resolve_params
from ledger.services import Cr, Dr

from .conftest import D


class Sink:
    """A binary stream that keeps only a byte count (the output itself is not what we measure)."""

    def __init__(self):
        self.size = 0
        self.lines = 0

    def write(self, data):
        self.size += len(data)
        self.lines += bytes(data).count(b"\n")
        return len(data)

    def writable(self):
        return True

    def readable(self):
        return False

    def seekable(self):
        return False

    def flush(self):
        pass

    closed = False


def post_legs(b, *, entries: int, per_entry: int, month: int):
    """Cash moved between the bank and WeChat clearing in many small legs (no income: quick to post)."""
    for n in range(entries):
        # Nearly all legs on one account, so that the general ledger's stream of 1002 is as long as the journal.
        legs = [Dr(b.a["100201"], b.f["GEN"], Decimal("1.01")) for _ in range(per_entry - 1)]
        legs.append(Cr(b.a["100901"], b.f["GEN"], Decimal("1.01") * (per_entry - 1)))
        b.post(D(2026, month, 1 + n % 28), f"batch {n}", *legs)


def peak(b, name):
    cls = REPORTS[name]
    params = resolve_params(cls, b.book, date_from=D(2026, 1, 1), date_to=D(2026, 11, 29))
    sink = Sink()
    tracemalloc.start()
    try:
        render_report(book=b.book, report=cls, params=params, fmt="csv", out=sink)
        _, top = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return top, sink


def test_general_ledger_and_journal_are_generators(books):
    post_legs(books, entries=3, per_entry=200, month=3)
    for name in ("general-ledger", "journal"):
        cls = REPORTS[name]
        report = cls(book=books.book, params=resolve_params(cls, books.book, year=2026))
        data = report.build()
        assert isinstance(data.rows, types.GeneratorType), name
        assert sum(1 for _ in data.rows) == 600 + (2 * 2 if name == "general-ledger" else 0)
        assert data.totals()[0][-3 if name == "general-ledger" else -4] == Decimal("1.01") * 199 * 3


@pytest.mark.slow
def test_general_ledger_and_journal_stream_in_constant_memory(books):
    post_legs(books, entries=14, per_entry=300, month=1)  # 4,200 legs: two full chunks and more
    small_gl, sink = peak(books, "general-ledger")
    assert sink.lines == 4200 + 2 * 2 + 2  # legs, opening and closing of two accounts, header, total
    small_journal, _ = peak(books, "journal")
    post_legs(books, entries=14, per_entry=300, month=2)  # 8,400 legs in all
    large_gl, sink = peak(books, "general-ledger")
    assert sink.lines == 8400 + 2 * 2 + 2
    large_journal, sink = peak(books, "journal")
    assert sink.lines == 8400 + 2
    # Twice the legs, not twice the memory: legs are read in chunks of 2,000 (two chunks may be alive at
    # once while the next is fetched, hence a first book of more than two chunks).
    assert large_gl < 1.5 * small_gl, (small_gl, large_gl)
    assert large_journal < 1.5 * small_journal, (small_journal, large_journal)
