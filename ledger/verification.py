"""Recomputes a book from its legs: the hash chain, the balance of every entry, and every running total.

Used by ``verify_ledger``. It reads entries and legs in sequence order through two streaming cursors, so it
runs in constant memory however long the book is.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Sum

from .hashing import GENESIS, entry_hash
from .models import NET_ASSET_TYPES, Account, Allocation, Book, DailyBalance, Fund, FundSource, JournalEntry, Leg

@dataclass
class Verdict:
    book: Book
    ok: bool
    count: int
    head: str
    problem: str = ""

    def line(self) -> str:
        if self.ok:
            return f"OK {self.count} {self.head} {self.book.code}"
        return f"FAIL {self.book.code} {self.problem}"

def verify_book(book: Book) -> Verdict:
    account_types = dict(Account.objects.filter(book=book).values_list("pk", "type"))
    entries = (
        JournalEntry.objects.filter(book=book)
        .order_by("sequence")
        .values_list(
            "pk", "sequence", "date", "memo", "status", "source_type", "source_id", "idempotency_key",
            "reverses__sequence", "fx_rate", "created_by_id", "approved_by_id", "previous_hash", "hash", "closing",
        )
        .iterator(chunk_size=2000)
    )
    legs = (
        Leg.objects.filter(entry__book=book)
        .order_by("entry__sequence", "position")
        .values_list(
            "entry_id", "position", "account_id", "fund_id", "currency", "debit", "credit", "debit_cny",
            "credit_cny", "date",
        )
        .iterator(chunk_size=5000)
    )
    pending = next(legs, None)
    previous = GENESIS
    count = 0
    daily: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    fund_net: dict[int, int] = defaultdict(int)
    for (pk, sequence, date, memo, status, s_type, s_id, key, rev_seq, fx, by, approved, prev, digest,
         closing) in entries:
        count += 1
        where = f"entry #{sequence}"
        if sequence != count:
            return Verdict(book, False, count, previous, f"{where}: sequence gap, expected #{count}")
        if status != "posted":
            return Verdict(book, False, count, previous, f"{where}: left as a draft")
        entry_legs = []
        while pending is not None and pending[0] == pk:
            entry_legs.append(pending)
            pending = next(legs, None)
        if len(entry_legs) < 2:
            return Verdict(book, False, count, previous, f"{where}: has fewer than two legs")
        per_currency: dict[tuple, int] = defaultdict(int)
        per_fund: dict[int, int] = defaultdict(int)
        for (_, _, account_id, fund_id, currency, debit, credit, debit_cny, credit_cny, leg_date) in entry_legs:
            per_currency[(fund_id, currency)] += debit - credit
            per_fund[fund_id] += debit_cny - credit_cny
            bucket = daily[(account_id, fund_id, leg_date)]
            bucket[0] += debit_cny
            bucket[1] += credit_cny
            if account_types.get(account_id) in NET_ASSET_TYPES:
                fund_net[fund_id] += credit_cny - debit_cny
            if closing and account_types.get(account_id) not in NET_ASSET_TYPES:
                return Verdict(book, False, count, previous, f"{where}: a closing entry moves an asset or liability")
            if leg_date != date:
                return Verdict(book, False, count, previous, f"{where}: a leg is dated apart from its entry")
        if any(per_currency.values()) or any(per_fund.values()):
            return Verdict(book, False, count, previous, f"{where}: legs do not balance")
        if prev != previous:
            return Verdict(book, False, count, previous, f"{where}: previous hash does not match the chain")
        recomputed = entry_hash(
            previous, book_id=book.pk, sequence=sequence, date=date, memo=memo, source_type=s_type, source_id=s_id,
            idempotency_key=key, reverses_sequence=rev_seq, fx_rate=fx, created_by_id=by, approved_by_id=approved,
            legs=[leg[1:9] for leg in entry_legs], closing=closing,
        )
        if recomputed != digest:
            return Verdict(book, False, count, previous, f"{where}: hash does not match its contents (altered)")
        previous = digest
    if pending is not None:
        return Verdict(book, False, count, previous, f"a leg (entry id {pending[0]}) belongs to no entry in order")
    head = previous if count else "-"
    book.refresh_from_db()
    if count != book.last_sequence or (count and book.head_hash != head):
        return Verdict(book, False, count, head, "the book's recorded head does not match its last entry")
    stored = {
        (a, f, d): [dr, cr]
        for a, f, d, dr, cr in DailyBalance.objects.filter(book=book).values_list(
            "account_id", "fund_id", "date", "debit", "credit"
        )
        if dr or cr
    }
    if stored != {k: v for k, v in daily.items() if v[0] or v[1]}:
        return Verdict(book, False, count, head, "running daily balances differ from the sum of legs")
    for fund_id, net in Fund.objects.filter(book=book).values_list("pk", "net_assets"):
        if net != fund_net.get(fund_id, 0):
            code = Fund.objects.get(pk=fund_id).code
            return Verdict(book, False, count, head, f"fund {code}: recorded net assets differ from the legs")
    allocated = dict(
        Allocation.objects.filter(source__fund__book=book)
        .values("source_id")
        .annotate(total=Sum("amount"))
        .values_list("source_id", "total")
    )
    for leg_id, amount, remaining in FundSource.objects.filter(fund__book=book).values_list(
        "leg_id", "amount", "remaining"
    ):
        used = allocated.get(leg_id, 0)
        if used < 0 or used > amount or remaining != amount - used:
            return Verdict(book, False, count, head, f"source leg {leg_id}: allocations exceed or miss its amount")
    return Verdict(book, True, count, head)
