"""The only write path into the books.

``entry_post`` validates everything it can before it writes anything, then, inside one transaction and under
a row lock on the book (which serialises sequence numbers and the hash chain per book, never globally) and on
each fund it touches, writes the entry as a draft, its legs, flips it to posted (the database checks the
balance at that moment) and updates the running totals, the fund's net assets and the FIFO allocations.
"""

from __future__ import annotations

import bisect
import calendar
import copy
import datetime as dt
import threading
from contextlib import contextmanager
import hashlib
import json
from collections import defaultdict, deque
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

import moneyed
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from . import bounds, errors
from .authority import CLOSE_PERIODS, MANAGE_FUNDS, POST_ENTRIES, require
from .hashing import GENESIS, canonical, chain_hash, fx_text
from .models import (
    Account,
    AccountType,
    Allocation,
    AllocationKind,
    BalanceCheckpoint,
    Book,
    DailyBalance,
    EntryStatus,
    Fund,
    FundSource,
    JournalEntry,
    Leg,
    Period,
    Restriction,
    from_minor,
    to_minor,
)

CENT = Decimal("0.01")
# Amounts are kept as integer fen in 64-bit columns, and running totals add them up: one leg may carry at most
# this (in its currency and in CNY), which leaves room for tens of thousands of such legs in any sum.
MAX_AMOUNT = Decimal("999999999999.99")
# JournalEntry.fx_rate is DECIMAL(18, 8): a rate is used (and hashed) only as it will be stored.
RATE_PLACES = Decimal("0.00000001")
MAX_RATE = Decimal("9999999999.99999999")
NET_ASSET_TYPES = frozenset({AccountType.INCOME, AccountType.EXPENSE, AccountType.NET_ASSETS})


@dataclass
class LegSpec:
    """What a caller asks for: one debit or one credit on an account in a fund.

    ``amount`` may be a ``Decimal`` (with ``currency``, default CNY) or a ``moneyed.Money`` (its currency wins).
    ``reduces`` names the source leg (a credit to income) that a debit to income gives back, e.g. a refund.
    """

    account: Account
    fund: Fund
    debit: object = None
    credit: object = None
    currency: str | None = None
    reduces: Leg | None = None
    # Filled in by validation:
    side: str = field(default="", init=False)
    amount: Decimal = field(default=Decimal(0), init=False)
    minor: int = field(default=0, init=False)
    cny: int = field(default=0, init=False)
    position: int = field(default=0, init=False)
    account_id: int = field(default=0, init=False)
    fund_id: int = field(default=0, init=False)


def Dr(account: Account, fund: Fund, amount, currency: str | None = None, **kw) -> LegSpec:
    return LegSpec(account=account, fund=fund, debit=amount, currency=currency, **kw)


def Cr(account: Account, fund: Fund, amount, currency: str | None = None, **kw) -> LegSpec:
    return LegSpec(account=account, fund=fund, credit=amount, currency=currency, **kw)


def system_user():
    """The built-in user recorded on what commands write when no ``--user`` is given.

    The operator at the shell: a superuser that cannot sign in (no usable password, no token). Whoever runs a
    command without ``--user`` already holds the database; the audit log records the command as ``system``."""
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        username="system", defaults={"is_active": True, "is_superuser": True, "first_name": "system"}
    )
    if created or not (user.is_active and user.is_superuser):
        user.set_unusable_password()
        user.is_active, user.is_superuser = True, True
        user.save(update_fields=["password", "is_active", "is_superuser"])
    return user


def round_cny(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def _decimal(value, *, what: str) -> Decimal:
    if isinstance(value, moneyed.Money):
        value = value.amount
    if isinstance(value, float):
        raise errors.InvalidAmount(f"{what}: amounts must be Decimal, not float", field="amount")
    try:
        amount = Decimal(value) if not isinstance(value, Decimal) else value
    except (InvalidOperation, TypeError, ValueError):
        raise errors.InvalidAmount(f"{what}: {value!r} is not a decimal amount", field="amount") from None
    if not amount.is_finite():
        raise errors.InvalidAmount(f"{what}: {value!r} is not a finite amount", field="amount")
    return amount


def _currency(spec: LegSpec, raw) -> str:
    code = spec.currency
    if isinstance(raw, moneyed.Money):
        code = raw.currency.code
    return bounds.check_currency(code)


def _validate(*, book: Book, date: dt.date, legs: list[LegSpec], fx_rate) -> Decimal | None:
    bounds.check_date(date)
    if len(legs) < 2:
        raise errors.TooFewLegs(f"an entry needs at least two legs, got {len(legs)}", field="legs")
    if date > timezone.localdate():
        raise errors.FutureDate(f"date {date.isoformat()} is after today", field="date")
    rate = None
    if fx_rate is not None:
        rate = _decimal(fx_rate, what="fx_rate")
        if rate <= 0:
            raise errors.InvalidAmount(f"fx_rate {rate} must be above zero", field="fx_rate")
        if rate > MAX_RATE or rate != rate.quantize(RATE_PLACES):
            # Stored as DECIMAL(18, 8), a longer rate would be rounded on save: the CNY amounts and the hash would
            # then disagree with the stored rate, and verify_ledger would report the entry as altered.
            raise errors.InvalidAmount(
                f"fx_rate {rate} has more than 8 decimal places or 10 digits before the point", field="fx_rate"
            )
    book_id = book.pk
    for index, spec in enumerate(legs, start=1):
        where = f"leg {index}"
        spec.account_id, spec.fund_id = spec.account.pk, spec.fund.pk
        if spec.account.book_id != book_id:
            raise errors.ForeignBook(f"{where}: account {spec.account.code} belongs to another book", field="account")
        if spec.fund.book_id != book_id:
            raise errors.ForeignBook(f"{where}: fund {spec.fund.code} belongs to another book", field="fund")
        if (spec.debit is None) == (spec.credit is None):
            raise errors.InvalidAmount(f"{where}: give exactly one of debit and credit", field="amount")
        raw = spec.debit if spec.debit is not None else spec.credit
        spec.side = "debit" if spec.debit is not None else "credit"
        amount = _decimal(raw, what=where)
        if amount <= 0:
            raise errors.InvalidAmount(f"{where}: amount {amount} must be above zero", field="amount")
        if amount > MAX_AMOUNT:
            raise errors.InvalidAmount(f"{where}: amount {amount} is above the largest, {MAX_AMOUNT}", field="amount")
        if amount.as_tuple().exponent < -2 and amount != amount.quantize(CENT):
            raise errors.InvalidAmount(f"{where}: amount {amount} has more than two decimal places", field="amount")
        spec.amount = amount.quantize(CENT)
        spec.currency = _currency(spec, raw)
        spec.minor = to_minor(spec.amount)
        if spec.currency == "CNY":
            spec.cny = spec.minor
        else:
            if rate is None:
                raise errors.MissingRate(
                    f"{where}: currency {spec.currency} needs fx_rate (CNY per unit)", field="fx_rate"
                )
            cny = round_cny(spec.amount * rate)
            if cny > MAX_AMOUNT:
                raise errors.InvalidAmount(
                    f"{where}: {spec.amount} {spec.currency} is {cny} CNY, above the largest, {MAX_AMOUNT}",
                    field="amount",
                )
            spec.cny = to_minor(cny)
        if spec.reduces is not None and not (
            spec.side == "debit" and spec.account.type == AccountType.INCOME
        ):
            raise errors.LedgerError(f"{where}: only a debit to income can give back a source", field="legs")
        if spec.reduces is not None and not FundSource.objects.filter(leg=spec.reduces, fund=spec.fund).exists():
            # Without this, a give-back in one fund (or book) would eat into a gift held by another.
            raise errors.LedgerError(
                f"{where}: the leg it gives back is not a source (income received) of fund {spec.fund.code}",
                field="legs",
            )
    _balance(legs)
    _purpose(legs)
    return rate


def _balance(legs: list[LegSpec]) -> None:
    per_currency: dict[tuple[str, str], int] = defaultdict(int)
    per_fund_cny: dict[str, int] = defaultdict(int)
    for spec in legs:
        sign = 1 if spec.side == "debit" else -1
        per_currency[(spec.fund.code, spec.currency)] += sign * spec.minor
        per_fund_cny[spec.fund.code] += sign * spec.cny
    for (fund_code, currency), total in sorted(per_currency.items()):
        if total:
            raise errors.Unbalanced(
                f"legs in fund {fund_code} do not balance in {currency}: debits exceed credits by "
                f"{from_minor(total)}",
                field="legs",
            )
    # Each leg is rounded to the fen on its own, so legs that balance in their currency may miss by a fen or
    # two in CNY; the difference goes to the largest foreign leg on the short side.
    for fund_code, total in per_fund_cny.items():
        if not total:
            continue
        foreign = [s for s in legs if s.fund.code == fund_code and s.currency != "CNY"]
        if abs(total) > len(foreign):
            raise errors.Unbalanced(f"legs in fund {fund_code} do not balance in CNY", field="legs")
        short_side = "credit" if total > 0 else "debit"
        candidates = [s for s in foreign if s.side == short_side]
        target = max(candidates, key=lambda s: s.cny)
        target.cny += abs(total)


def _purpose(legs: list[LegSpec]) -> None:
    for spec in legs:
        if spec.side != "debit" or spec.account.type != AccountType.EXPENSE:
            continue
        fund, account = spec.fund, spec.account
        if fund.restriction == Restriction.ENDOWMENT:
            raise errors.PurposeViolation(
                f"fund {fund.code} is an endowment: its principal is never spent (account {account.code})",
                field="fund",
            )
        if fund.restriction == Restriction.RESTRICTED and (not account.purpose or account.purpose != fund.purpose):
            what = f"purpose {account.purpose}" if account.purpose else "general purposes"
            raise errors.PurposeViolation(
                f"fund {fund.code} is restricted to {fund.purpose or 'its purpose'}; account {account.code} "
                f"({account.name_en or account.name}) is for {what}",
                field="fund",
            )


def _payload_hash(*, date, memo, legs, fx_rate, source) -> str:
    payload = {
        "date": date.isoformat(),
        "memo": memo,
        "fx": fx_text(fx_rate),
        "source": list(source) if source else ["", ""],
        "legs": [
            [s.account.code, s.fund.code, s.side, str(s.amount), s.currency, s.reduces.pk if s.reduces else None]
            for s in legs
        ],
    }
    return hashlib.sha256(_PAYLOAD_JSON.encode(payload).encode()).hexdigest()


_PAYLOAD_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False)  # json.dumps(sort_keys=True, ensure_ascii=False)


def _replay(book: Book, key: str, payload_hash: str) -> JournalEntry | None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, payload_hash, sequence FROM {JournalEntry._meta.db_table} "
            "WHERE book_id = %s AND idempotency_key = %s",
            [book.pk, key],
        )
        found = cursor.fetchone()
    if found is None:
        return None
    pk, stored_hash, sequence = found
    if stored_hash != payload_hash:
        raise errors.IdempotencyConflict(
            f"idempotency key {key!r} was already used for entry #{sequence} with a different payload",
            field="idempotency_key",
        )
    entry = JournalEntry.objects.get(pk=pk)
    entry.replayed = True
    return entry


def entry_post(
    *,
    book: Book,
    date: dt.date,
    memo: str,
    legs: list[LegSpec],
    user,
    idempotency_key: str | None = None,
    source: tuple[str, str] | None = None,
    fx_rate=None,
    approved_by=None,
) -> JournalEntry:
    """Post a balanced entry. Refuses with a ``LedgerError`` subclass, writing nothing, when it cannot, and with
    ``PermissionDenied`` when ``user`` may not post to ``book``."""
    require(user, POST_ENTRIES, book)
    legs = list(legs)
    if "\x00" in (memo or ""):  # PostgreSQL refuses NUL in text (a DataError); SQLite would store it
        raise errors.LedgerError("a memo cannot contain a NUL character", field="memo")
    rate = _validate(book=book, date=date, legs=legs, fx_rate=fx_rate)
    return _post(
        book=book,
        date=date,
        memo=memo,
        legs=legs,
        user=user,
        idempotency_key=idempotency_key,
        source=source,
        fx_rate=rate,
        approved_by=approved_by,
    )


def entry_check(*, book: Book, date: dt.date, legs: list[LegSpec], fx_rate=None) -> None:
    """Refuse, as ``entry_post`` would, an entry that cannot be posted as it stands (amounts, currencies, balance
    per fund, purposes, the date); writes nothing and leaves ``legs`` as they were. For an entry drafted now and
    posted later by someone else: the post checks again, against the books as they are then."""
    entry_legs = [LegSpec(account=s.account, fund=s.fund, debit=s.debit, credit=s.credit, currency=s.currency,
                          reduces=s.reduces) for s in legs]
    _validate(book=book, date=date, legs=entry_legs, fx_rate=fx_rate)
    _check_open(date, Book.objects.filter(pk=book.pk).values_list("closed_through", flat=True).get())


class _Source:
    """An open fund source as a posting batch sees it (FIFO order: date, sequence, leg)."""

    __slots__ = ("leg_id", "date", "sequence", "remaining", "new")

    def __init__(self, leg_id, date, sequence, remaining, new):
        self.leg_id, self.date, self.sequence, self.remaining, self.new = leg_id, date, sequence, remaining, new

    @property
    def key(self):
        return (self.date, self.sequence, self.leg_id)


class _Fifo:
    """One fund's open sources during a batch: pages read from the database in FIFO order, merged with the sources
    the batch has posted but not yet written."""

    PAGE = 500  # the largest page; the first is small, as most uses take from one or two sources

    def __init__(self, fund_id: int):
        self.fund_id = fund_id
        self.page = 20
        self.stored: deque[_Source] = deque()
        self.stored_done = False
        self.after = None  # FIFO key of the last stored source read
        self.new: list[_Source] = []  # kept sorted by key

    def page_query(self) -> tuple[str, list, int]:
        """The next page's statement, its parameters and its size (the page after that is larger)."""
        sql = f"SELECT leg_id, date, sequence, remaining FROM {_T_SOURCE} WHERE fund_id = %s AND remaining > 0"
        params = [self.fund_id]
        if self.after is not None:
            sql += " AND (date, sequence, leg_id) > (%s, %s, %s)"
            params += list(self.after)
        page = min(self.page, self.PAGE)
        self.page = page * 4
        return sql + f" ORDER BY date, sequence, leg_id LIMIT {page}", params, page

    def _read_page(self, cursor) -> None:
        sql, params, page = self.page_query()
        cursor.execute(sql, params)
        self.take_page(cursor.fetchall(), page)

    def take_page(self, rows, page: int) -> None:
        for leg_id, date, sequence, remaining in rows:
            if isinstance(date, str):  # SQLite hands dates back as text on a raw cursor
                date = dt.date.fromisoformat(date)
            self.stored.append(_Source(leg_id, date, sequence, remaining, False))
        if rows:
            self.after = self.stored[-1].key
        self.stored_done = len(rows) < page

    def head(self, cursor) -> _Source | None:
        while True:
            while self.stored and self.stored[0].remaining == 0:
                self.stored.popleft()
            if self.stored or self.stored_done:
                break
            self._read_page(cursor)
        while self.new and self.new[0].remaining == 0:
            self.new.pop(0)
        candidates = [s for s in (self.stored[0] if self.stored else None, self.new[0] if self.new else None) if s]
        return min(candidates, key=lambda s: s.key) if candidates else None


class _Batch:
    """Running totals and unwritten rows kept in memory while many entries post in one transaction (see
    ``posting_batch``).

    Posting updates the same few rows for every entry: the book's head, each fund's net assets, the day's
    running balance. Inside one PostgreSQL transaction every such UPDATE leaves another version of the row that
    later lookups walk past, so a long batch slows down quadratically. In a batch those rows are locked and read
    once, kept here, and written once when the batch ends, still inside the transaction.

    Plain entries (no reversal, no income given back) are not even written one by one: their entry, legs, fund
    sources and FIFO allocations are computed here, with ids taken in advance, and written in a few multi-row
    statements (``flush_rows``) just before the connection runs any other statement and when the batch ends.
    So whatever else the caller reads or writes in between sees every entry posted before it.
    """

    ROWS = 500  # entries per multi-row INSERT
    IDS = 1000  # ids reserved at a time

    def __init__(self):
        self.books: dict[int, list] = {}  # book id -> [last sequence, head hash, closed through]
        self.funds: dict[int, list] = {}  # fund id -> [net assets, restriction, code]
        self.daily: dict[tuple, list[int]] = {}  # (book, account, fund, date) -> [debit, credit]
        self.touched_books: set[int] = set()
        self.touched_funds: set[int] = set()
        # Idempotency keys: posted in this batch (-> (entry, payload hash)), and known to be unused (expect_keys).
        self.keys: dict[tuple[int, str], tuple] = {}
        self.unused_keys: dict[int, set[str]] = defaultdict(set)
        # Rows computed but not yet written.
        self.entries: list[list] = []
        self.legs: list[list] = []
        self.sources: list[tuple[list, _Source]] = []
        self.allocations: list[tuple] = []
        self.source_updates: dict[int, _Source] = {}
        self.fifo: dict[int, _Fifo] = {}
        self.ids: dict[str, deque] = defaultdict(deque)
        self.ids_high: dict[str, int] = {}  # SQLite: the highest id reserved per table
        self.quiet = 0

    # -- state a caller can roll back to after a savepoint -----------------------------------------------------
    def snapshot(self):
        return (
            {k: list(v) for k, v in self.books.items()},
            {k: list(v) for k, v in self.funds.items()},
            {k: list(v) for k, v in self.daily.items()},
            set(self.touched_books),
            set(self.touched_funds),
            dict(self.keys),
            {k: set(v) for k, v in self.unused_keys.items()},
        )

    def restore(self, state) -> None:
        books, funds, daily, touched_books, touched_funds, keys, unused = state
        self.books, self.funds, self.daily, self.touched_books, self.touched_funds = (
            books, funds, daily, touched_books, touched_funds
        )
        self.keys, self.unused_keys = keys, defaultdict(set, unused)

    # -- the connection hook -----------------------------------------------------------------------------------
    @contextmanager
    def quietly(self):
        """Statements of the batch itself: they neither write the pending rows first nor forget the caches."""
        self.quiet += 1
        try:
            yield
        finally:
            self.quiet -= 1

    def before_statement(self, execute, sql, params, many, context):
        if not self.quiet and not _blind_to_ledger(sql):
            if self.entries:
                with self.quietly(), connection.cursor() as cursor:
                    self.flush_rows(cursor)
            # Anything else may have moved sources or taken ids: read them again when next needed.
            self.fifo.clear()
            if connection.vendor != "postgresql":
                self.ids.clear()
                self.ids_high.clear()
        return execute(sql, params, many, context)

    def take_ids(self, cursor, table: str, count: int) -> list[int]:
        """Primary keys for rows written later. PostgreSQL: from the table's own sequence. SQLite: the batch holds
        the database's only write lock, and the reservation is forgotten whenever another statement runs."""
        free = self.ids[table]
        while len(free) < count:
            want = max(count - len(free), self.IDS)
            if connection.vendor == "postgresql":
                cursor.execute(
                    f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, %s)", [want]
                )
                free.extend(row[0] for row in cursor.fetchall())
            else:
                cursor.execute(
                    f"SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = %s), 0), "
                    f"COALESCE((SELECT MAX(id) FROM {table}), 0))",
                    [table],
                )
                # Ids handed out but not written yet are not in the table: start above them too.
                top = max(cursor.fetchone()[0], self.ids_high.get(table, 0))
                free.extend(range(top + 1, top + 1 + want))
                self.ids_high[table] = top + want
        return [free.popleft() for _ in range(count)]

    def fund_fifo(self, fund_id: int) -> _Fifo:
        fifo = self.fifo.get(fund_id)
        if fifo is None:
            fifo = self.fifo[fund_id] = _Fifo(fund_id)
            fifo.new = sorted((source for _row, source in self.sources if _row[1] == fund_id), key=lambda s: s.key)
        return fifo

    # -- writing -----------------------------------------------------------------------------------------------
    def flush_rows(self, cursor) -> None:
        """Write the entries computed so far: drafts, legs, one UPDATE to posted (checked by the database's
        guards per statement, and again at commit on PostgreSQL), sources and allocations."""
        if not self.entries:
            return
        ids = [row[0] for row in self.entries]
        sources = [row[:5] + [source.remaining] for row, source in self.sources]
        updates = sorted((leg_id, source.remaining) for leg_id, source in self.source_updates.items())
        if connection.vendor == "postgresql" and _few_rows(self.entries, self.legs, sources, self.allocations):
            # A few entries (a single post, a small import): their rows in one statement, then the UPDATE to
            # posted (a statement of its own: it must see the drafts).
            _insert_few(cursor, self.entries, self.legs, sources, self.allocations, updates)
            cursor.execute(f"UPDATE {_T_ENTRY} SET status = %s WHERE id IN ({', '.join(['%s'] * len(ids))})",
                           [EntryStatus.POSTED, *ids])
        elif connection.vendor == "postgresql":
            # COPY: psycopg sends the rows without composing a statement in Python (a 500-row INSERT with its
            # 8,500 parameters took longer to build than the server took to run it). Server-side parameters for
            # the arrays, for the same reason.
            import psycopg

            _copy_rows(cursor, _T_ENTRY, _ENTRY_COLUMNS, self.entries)
            _copy_rows(cursor, _T_LEG, _LEG_COLUMNS, self.legs)
            bound = psycopg.Cursor(cursor.connection)
            bound.execute(f"UPDATE {_T_ENTRY} SET status = %s WHERE id = ANY(%s)", [EntryStatus.POSTED, ids])
            _copy_rows(cursor, _T_SOURCE, _SOURCE_COLUMNS, sources)
            if updates:
                bound.execute(
                    f"UPDATE {_T_SOURCE} s SET remaining = u.remaining FROM unnest(%s::bigint[], %s::bigint[]) "
                    "AS u(leg_id, remaining) WHERE s.leg_id = u.leg_id",
                    [[leg_id for leg_id, _ in updates], [remaining for _, remaining in updates]],
                )
            _copy_rows(cursor, _T_ALLOCATION, _ALLOCATION_COLUMNS, self.allocations)
        else:
            for start in range(0, len(self.entries), self.ROWS):
                _insert_rows(cursor, _T_ENTRY, _ENTRY_COLUMNS, self.entries[start:start + self.ROWS])
            for start in range(0, len(self.legs), 2 * self.ROWS):
                _insert_rows(cursor, _T_LEG, _LEG_COLUMNS, self.legs[start:start + 2 * self.ROWS])
            for start in range(0, len(ids), 2 * self.ROWS):
                chunk = ids[start:start + 2 * self.ROWS]
                cursor.execute(
                    f"UPDATE {_T_ENTRY} SET status = %s WHERE id IN ({', '.join(['%s'] * len(chunk))})",
                    [EntryStatus.POSTED, *chunk],
                )
            for start in range(0, len(sources), 2 * self.ROWS):
                _insert_rows(cursor, _T_SOURCE, _SOURCE_COLUMNS, sources[start:start + 2 * self.ROWS])
            for start in range(0, len(updates), self.ROWS):
                chunk = updates[start:start + self.ROWS]
                cases = " ".join(["WHEN %s THEN %s"] * len(chunk))
                cursor.execute(
                    f"UPDATE {_T_SOURCE} SET remaining = CASE leg_id {cases} END "
                    f"WHERE leg_id IN ({', '.join(['%s'] * len(chunk))})",
                    [value for pair in chunk for value in pair] + [leg_id for leg_id, _ in chunk],
                )
            for start in range(0, len(self.allocations), 2 * self.ROWS):
                _insert_rows(cursor, _T_ALLOCATION, _ALLOCATION_COLUMNS, self.allocations[start:start + 2 * self.ROWS])
        self.entries, self.legs, self.sources, self.allocations = [], [], [], []
        self.source_updates = {}
        self.fifo.clear()

    def flush(self, cursor) -> None:
        self.flush_rows(cursor)
        books = [(book_id, *self.books[book_id][:2]) for book_id in sorted(self.touched_books)]
        funds = [(fund_id, self.funds[fund_id][0]) for fund_id in sorted(self.touched_funds)]
        daily = [(*key, dr, cr) for key, (dr, cr) in self.daily.items()]
        if connection.vendor == "postgresql":
            _write_totals(cursor, books, funds, daily)
        else:
            for book_id, last, head in books:
                cursor.execute(f"UPDATE {_T_BOOK} SET last_sequence = %s, head_hash = %s WHERE id = %s",
                               [last, head, book_id])
            for fund_id, net_assets in funds:
                cursor.execute(f"UPDATE {_T_FUND} SET net_assets = %s WHERE id = %s", [net_assets, fund_id])
            for start in range(0, len(daily), 500):
                _upsert_daily(cursor, daily[start:start + 500])
        self.touched_books.clear()
        self.touched_funds.clear()
        self.daily.clear()

    def expect_keys(self, book: Book, keys) -> None:
        """Tell the batch which idempotency keys are about to be posted in ``book`` (a CSV import knows them all).
        One query finds which are already used; for the others ``entry_post`` then skips its lookup. The book
        stays locked until the batch commits, so nobody else can use one of them in between."""
        keys = [k for k in dict.fromkeys(keys) if k is not None and (book.pk, k) not in self.keys]
        with self.quietly(), connection.cursor() as cursor:
            _book_state(cursor, self, book)
            for start in range(0, len(keys), 500):
                chunk = keys[start:start + 500]
                cursor.execute(
                    f"SELECT idempotency_key FROM {_T_ENTRY} WHERE book_id = %s "
                    f"AND idempotency_key IN ({', '.join(['%s'] * len(chunk))})",
                    [book.pk, *chunk],
                )
                used = {row[0] for row in cursor.fetchall()}
                self.unused_keys[book.pk].update(k for k in chunk if k not in used)


def _blind_to_ledger(sql: str) -> bool:
    """True for a statement that can neither see nor change the ledger's rows, so the batch need not write its
    pending rows first: plain DML whose text names no ledger table (a gift's donation and receipt rows, the
    receipt counter). It relies on two facts kept by the schema: no trigger outside the ledger reads the
    ledger's tables (``tests/ledger/test_posting_batch.py`` checks it), and a foreign key to them is checked at
    COMMIT, after the batch has written everything. Savepoints, SET CONSTRAINTS and everything else still
    write the pending rows first."""
    head = sql.lstrip()[:8].upper()
    if head.startswith("RELEASE "):
        # Releasing a savepoint keeps what was done inside it: pending rows posted there still belong to the
        # transaction, and a later rollback to an outer savepoint writes them first, so they roll back with it.
        return True
    return head[:7] in _BLIND_HEADS and "ledger_" not in sql


_BLIND_HEADS = frozenset({"INSERT ", "UPDATE ", "SELECT ", "DELETE "})


def key_known_unused(book: Book, key: str) -> bool:
    """True when the current posting batch was told (``expect_keys``) that ``key`` is unused in ``book``, so a
    caller's own lookup by that key can be skipped. False outside a batch: then nothing is known."""
    batch = current_batch()
    return batch is not None and key in batch.unused_keys.get(book.pk, ())


def batch_atomic():
    """``transaction.atomic()`` for a step of a service that may run inside a posting batch (an import): there
    without a savepoint, as a refusal rolls the whole batch back anyway, and a savepoint would make the batch
    write its pending rows first, entry by entry. Outside a batch, an ordinary savepoint when nested."""
    return transaction.atomic(savepoint=current_batch() is None)


_batch_state = threading.local()


def current_batch() -> _Batch | None:
    return getattr(_batch_state, "batch", None)


@contextmanager
def posting_batch():
    """Post many entries in one transaction, writing the running totals once at the end (imports, batches).

    Everything the service checks is still checked, entry by entry, against the totals kept in memory; the
    database's guards and CHECK constraints still see every row. Nested use joins the outer batch. Callers that
    roll a single entry back to a savepoint and carry on must ``restore`` a ``snapshot`` taken before it.
    """
    outer = current_batch()
    if outer is not None:
        yield outer
        return
    batch = _Batch()
    with transaction.atomic():
        _batch_state.batch = batch
        try:
            with connection.execute_wrapper(batch.before_statement):
                yield batch
                with batch.quietly(), connection.cursor() as cursor:
                    batch.flush(cursor)
        finally:
            _batch_state.batch = None


# The hot path below talks SQL through one cursor: the ORM's query building cost more than the database did.
_T_BOOK = Book._meta.db_table
_T_FUND = Fund._meta.db_table
_T_ENTRY = JournalEntry._meta.db_table
_T_LEG = Leg._meta.db_table
_T_DAILY = DailyBalance._meta.db_table
_T_SOURCE = FundSource._meta.db_table
_T_ALLOCATION = Allocation._meta.db_table
_ENTRY_COLUMNS = (
    "id, book_id, sequence, date, memo, status, source_type, source_id, created_by_id, approved_by_id, created_at, "
    "idempotency_key, payload_hash, fx_rate, reverses_id, previous_hash, hash"
)
_LEG_COLUMNS = "id, entry_id, position, account_id, fund_id, currency, debit, credit, debit_cny, credit_cny, date"
_SOURCE_COLUMNS = "leg_id, fund_id, date, sequence, amount, remaining"
_ALLOCATION_COLUMNS = "source_id, leg_id, kind, amount"


class _LazyCursor:
    """A cursor opened only if a statement is needed (in a batch most entries need none)."""

    __slots__ = ("_cursor",)

    def __init__(self):
        self._cursor = None

    def __getattr__(self, name):
        if self._cursor is None:
            self._cursor = connection.cursor()
        return getattr(self._cursor, name)

    def close(self) -> None:
        if self._cursor is not None:
            self._cursor.close()


def _copy_rows(cursor, table: str, columns: str, rows: list) -> None:
    """PostgreSQL: ``COPY ... FROM STDIN`` (the database's triggers and constraints run as for an INSERT). COPY
    costs two round trips, so a few rows (an entry flushed on its own) go in one INSERT instead, and so does
    everything in pipeline mode, where COPY cannot run."""
    raw = getattr(cursor, "cursor", cursor)  # Django's cursor wraps psycopg's
    if len(rows) < 50 or raw.connection.pgconn.pipeline_status:
        for start in range(0, len(rows), 1000):
            _insert_rows(cursor, table, columns, rows[start:start + 1000])
        return
    with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _insert_rows(cursor, table: str, columns: str, rows: list) -> None:
    if not rows:
        return
    params: list = []
    cursor.execute(_values(table, columns, rows, params), params)


def _few_rows(entries: list, legs: list, sources: list, allocations: list) -> bool:
    """Whether the rows go in one composed statement (a single post, a small import) rather than by COPY. Bounded
    so that the statement keeps well under PostgreSQL's 65,535 parameters; more rows in pipeline mode, where COPY
    cannot run, go by INSERTs of 1,000 rows (``_copy_rows``)."""
    return len(entries) < 25 and len(legs) + len(sources) + len(allocations) <= 1000


def _values(table: str, columns: str, rows: list, params: list) -> str:
    params += [value for row in rows for value in row]
    marks = "(" + ", ".join(["%s"] * len(rows[0])) + ")"
    return f"INSERT INTO {table} ({columns}) VALUES {', '.join([marks] * len(rows))}"


def _insert_few(cursor, entries: list, legs: list, sources: list, allocations: list, updates: list) -> None:
    """PostgreSQL: the drafts, their legs, the new sources, the allocations and the sources' new remainders in one
    statement (data-modifying WITH clauses), instead of one round trip and one execution each. The tables'
    statement-level guards run at its end, as for separate statements."""
    params: list = []
    parts = [_values(_T_ENTRY, _ENTRY_COLUMNS, entries, params)]
    for table, columns, rows in ((_T_LEG, _LEG_COLUMNS, legs), (_T_SOURCE, _SOURCE_COLUMNS, sources),
                                 (_T_ALLOCATION, _ALLOCATION_COLUMNS, allocations)):
        if rows:
            parts.append(_values(table, columns, rows, params))
    if updates:
        parts.append(
            f"UPDATE {_T_SOURCE} s SET remaining = u.remaining FROM (VALUES "
            + ", ".join(["(%s::bigint, %s::bigint)"] * len(updates)) + ") AS u(leg_id, remaining) "
            "WHERE s.leg_id = u.leg_id"
        )
        params += [value for pair in updates for value in pair]
    _one_statement(cursor, parts, params)


def _write_totals(cursor, books: list[tuple], funds: list[tuple], daily: list[tuple]) -> None:
    """PostgreSQL: the books' heads, the funds' net assets and the day totals in one statement. The rows are locked
    already: the books and the funds since the entries' checks; day totals belong to a book whose lock is held.
    Scalar parameters throughout: psycopg dumps an array parameter in Python, element by element."""
    parts, params = [], []
    if books:
        parts.append(
            f"UPDATE {_T_BOOK} b SET last_sequence = u.last, head_hash = u.head FROM (VALUES "
            + ", ".join(["(%s::bigint, %s::bigint, %s::text)"] * len(books))
            + ") AS u(id, last, head) WHERE b.id = u.id"
        )
        params += [value for row in books for value in row]
    if funds:
        parts.append(
            f"UPDATE {_T_FUND} f SET net_assets = u.net_assets FROM (VALUES "
            + ", ".join(["(%s::bigint, %s::bigint)"] * len(funds)) + ") AS u(id, net_assets) WHERE f.id = u.id"
        )
        params += [value for row in funds for value in row]
    # Day totals 500 rows to a statement (a year's import touches thousands): the first ones with the rest.
    for start in range(0, len(daily), 500):
        parts.append(_daily_upsert(daily[start:start + 500], params))
        _one_statement(cursor, parts, params)
        parts, params = [], []
    _one_statement(cursor, parts, params)


def _one_statement(cursor, parts: list[str], params: list) -> None:
    """Run data-modifying statements as one: all but the last in WITH clauses."""
    if not parts:
        return
    *first, last = parts
    head = ("WITH " + ", ".join(f"w{i} AS ({part})" for i, part in enumerate(first)) + " ") if first else ""
    cursor.execute(head + last, params)


def _lock(sql: str) -> str:
    return sql + (" FOR UPDATE" if connection.features.has_select_for_update else "")


def _book_state(cursor, batch: _Batch | None, book: Book) -> list:
    """[last sequence, head hash, closed through] of the book, locked (read once per batch)."""
    if batch is not None and book.pk in batch.books:
        return batch.books[book.pk]
    cursor.execute(_lock(f"SELECT last_sequence, head_hash, closed_through FROM {_T_BOOK} WHERE id = %s"), [book.pk])
    last, head, closed_through = cursor.fetchone()
    if isinstance(closed_through, str):  # SQLite hands dates back as text on a raw cursor
        closed_through = dt.date.fromisoformat(closed_through)
    state = [last, head, closed_through]
    if batch is not None:
        batch.books[book.pk] = state
    return state


def _lock_funds(cursor, batch: _Batch | None, deltas: dict[int, int]) -> tuple[list[int], dict[int, list]]:
    """Lock the funds whose net assets change (in id order) and refuse when a restricted one would go negative."""
    changing = sorted(fund_id for fund_id, delta in deltas.items() if delta)
    held = {}
    to_read = [fund_id for fund_id in changing if batch is None or fund_id not in batch.funds]
    if to_read:
        marks = ", ".join(["%s"] * len(to_read))
        cursor.execute(
            _lock(f"SELECT id, net_assets, restriction, code FROM {_T_FUND} WHERE id IN ({marks}) ORDER BY id"),
            to_read,
        )
        held = {row[0]: list(row[1:]) for row in cursor.fetchall()}
        if batch is not None:
            batch.funds.update(held)
    if batch is not None:
        held = {fund_id: batch.funds[fund_id] for fund_id in changing}
    for fund_id in changing:
        net_assets, restriction, code = held[fund_id]
        delta = deltas[fund_id]
        if delta < 0 and restriction != Restriction.UNRESTRICTED and net_assets + delta < 0:
            raise errors.InsufficientFunds(
                f"fund {code} has {from_minor(net_assets)} CNY; this entry needs {from_minor(-delta)} CNY",
                field="fund",
            )
    return changing, held


def _check_open(date: dt.date, closed_through) -> None:
    if closed_through is not None and date <= closed_through:
        raise errors.ClosedPeriod(
            f"date {date.isoformat()} falls in a closed period (closed through {closed_through.isoformat()})",
            field="date",
        )


def _known_entry(batch: _Batch | None, book: Book, key: str, payload_hash: str) -> JournalEntry | None:
    """The entry already posted under ``key`` (its payload must be the same), or None. In a batch, the keys it
    posted and the keys ``expect_keys`` found unused are answered without a query."""
    if batch is not None:
        known = batch.keys.get((book.pk, key))
        if known is not None:
            entry, stored_hash = known
            if stored_hash != payload_hash:
                raise errors.IdempotencyConflict(
                    f"idempotency key {key!r} was already used for entry #{entry.sequence} with a different payload",
                    field="idempotency_key",
                )
            replay = copy.copy(entry)  # the first caller's instance stays as it was
            replay.replayed = True
            return replay
        if key in batch.unused_keys.get(book.pk, ()):
            return None
    return _replay(book, key, payload_hash)


def _prepare(cursor, batch: _Batch | None, *, book, date, memo, legs, user, idempotency_key, source_type, source_id,
             fx_rate, approved_by, payload_hash, deltas, reverses):
    """What every post does first, in this order: lock the book, replay a known idempotency key, refuse a closed
    period, lock the funds (refusing an overdraft), link the chain. Returns ``(entry, None)`` for a replay, else
    ``(None, (changing funds, held funds, sequence, previous hash, hash))``."""
    last, head, closed_through = _book_state(cursor, batch, book)
    if idempotency_key is not None:
        existing = _known_entry(batch, book, idempotency_key, payload_hash)
        if existing is not None:
            return existing, None
    _check_open(date, closed_through)
    changing, held = _lock_funds(cursor, batch, deltas)
    sequence = last + 1
    previous = head or GENESIS
    digest = _digest(
        book=book, sequence=sequence, previous=previous, date=date, memo=memo, source_type=source_type,
        source_id=source_id, idempotency_key=idempotency_key, reverses=reverses, fx_rate=fx_rate, user=user,
        approved_by=approved_by, legs=legs,
    )
    return None, (changing, held, sequence, previous, digest)


def _can_buffer(legs: list[LegSpec], reverses) -> bool:
    """Plain entries only: a reversal, or income given back, reads and moves allocations in the database."""
    return reverses is None and not any(
        spec.account.type == AccountType.INCOME and spec.side == "debit" for spec in legs
    )


def _post(*, book, date, memo, legs, user, idempotency_key, source, fx_rate, approved_by, reverses=None):
    memo = memo or ""
    payload_hash = _payload_hash(date=date, memo=memo, legs=legs, fx_rate=fx_rate, source=source)
    source_type, source_id = source if source else ("", "")
    source_id = str(source_id)
    for position, spec in enumerate(legs, start=1):
        spec.position = position
    deltas = _fund_deltas(legs)
    batch = current_batch()
    post = dict(book=book, date=date, memo=memo, legs=legs, user=user, idempotency_key=idempotency_key,
                source_type=source_type, source_id=source_id, fx_rate=fx_rate, approved_by=approved_by,
                payload_hash=payload_hash, deltas=deltas)
    if _can_buffer(legs, reverses):
        if batch is not None:
            return _post_buffered(batch, **post)
        if connection.vendor == "postgresql":
            return _post_pipelined(**post)
    with transaction.atomic(), connection.cursor() as cursor:
        existing, prepared = _prepare(cursor, batch, **post, reverses=reverses)
        if existing is not None:
            return existing
        changing, held, sequence, previous, digest = prepared
        now = timezone.now()
        entry = JournalEntry(
            book_id=book.pk, sequence=sequence, date=date, memo=memo, status=EntryStatus.DRAFT,
            source_type=source_type, source_id=source_id, created_by=user, approved_by=approved_by,
            idempotency_key=idempotency_key, payload_hash=payload_hash, fx_rate=fx_rate, reverses=reverses,
            previous_hash=previous, hash=digest, created_at=now,
        )
        cursor.execute(
            f"INSERT INTO {_T_ENTRY} (book_id, sequence, date, memo, status, source_type, source_id, created_by_id, "
            "approved_by_id, created_at, idempotency_key, payload_hash, fx_rate, reverses_id, previous_hash, hash) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            [
                book.pk, sequence, date, memo, EntryStatus.DRAFT, source_type, source_id, user.pk,
                approved_by.pk if approved_by else None, _db_datetime(now), idempotency_key, payload_hash,
                _db_decimal(fx_rate), reverses.pk if reverses else None, previous, digest,
            ],
        )
        entry.pk = cursor.fetchone()[0]
        entry._state.adding = False
        entry._state.db = connection.alias
        values, params = [], []
        for s in legs:
            debit = s.side == "debit"
            values.append("(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)")
            params += [
                entry.pk, s.position, s.account.pk, s.fund.pk, s.currency, s.minor if debit else 0,
                0 if debit else s.minor, s.cny if debit else 0, 0 if debit else s.cny, date,
            ]
        cursor.execute(
            f"INSERT INTO {_T_LEG} (entry_id, position, account_id, fund_id, currency, debit, credit, debit_cny, "
            f"credit_cny, date) VALUES {', '.join(values)} RETURNING id, position",
            params,
        )
        leg_ids = dict((position, pk) for pk, position in cursor.fetchall())
        rows = [
            Leg(pk=leg_ids[s.position], entry=entry, position=s.position, account=s.account, fund=s.fund,
                currency=s.currency, debit=s.minor if s.side == "debit" else 0,
                credit=s.minor if s.side == "credit" else 0, debit_cny=s.cny if s.side == "debit" else 0,
                credit_cny=s.cny if s.side == "credit" else 0, date=date)
            for s in legs
        ]
        cursor.execute(f"UPDATE {_T_ENTRY} SET status = %s WHERE id = %s", [EntryStatus.POSTED, entry.pk])
        entry.status = EntryStatus.POSTED
        _trace(entry, legs, rows, reverses)
        # The running totals move last, when nothing can refuse any more (in a batch they live in memory, and a
        # refusal after they moved would leave them wrong for the entries that follow).
        if batch is None:
            for fund_id in changing:
                cursor.execute(f"UPDATE {_T_FUND} SET net_assets = %s WHERE id = %s",
                               [held[fund_id][0] + deltas[fund_id], fund_id])
            _add_daily(cursor, book.pk, date, legs)
            cursor.execute(f"UPDATE {_T_BOOK} SET last_sequence = %s, head_hash = %s WHERE id = %s",
                           [sequence, digest, book.pk])
        else:
            _batch_totals(batch, book, date, legs, deltas, changing, sequence, digest)
            if idempotency_key is not None:
                batch.unused_keys[book.pk].discard(idempotency_key)
    # Only now: _trace may still refuse (AllocatedSource), and then the caller's Book must not have moved on.
    book.last_sequence, book.head_hash = sequence, digest
    return entry


def _batch_totals(batch, book, date, legs, deltas, changing, sequence, digest) -> None:
    for fund_id in changing:
        batch.funds[fund_id][0] += deltas[fund_id]
        batch.touched_funds.add(fund_id)
    book_id = book.pk
    for spec in legs:
        bucket = batch.daily.setdefault((book_id, spec.account_id, spec.fund_id, date), [0, 0])
        bucket[0 if spec.side == "debit" else 1] += spec.cny
    batch.books[book_id][0:2] = [sequence, digest]
    batch.touched_books.add(book.pk)


def _digest(*, book, sequence, previous, date, memo, source_type, source_id, idempotency_key, reverses, fx_rate,
            user, approved_by, legs) -> str:
    return chain_hash(
        previous,
        canonical(
            book_id=book.pk,
            sequence=sequence,
            date=date.isoformat(),
            memo=memo,
            source_type=source_type,
            source_id=source_id,
            idempotency_key=idempotency_key,
            reverses_sequence=reverses.sequence if reverses else None,
            fx_rate=fx_text(fx_rate),
            created_by_id=user.pk,
            approved_by_id=approved_by.pk if approved_by else None,
            legs=[_leg_tuple(s) for s in legs],
        ),
    )


def _post_buffered(batch: _Batch, *, book, date, memo, legs, user, idempotency_key, source_type, source_id,
                   fx_rate, approved_by, payload_hash, deltas) -> JournalEntry:
    """``_post`` inside a posting batch for a plain entry: the same checks, in the same order, against the batch's
    state; the rows are kept for ``_Batch.flush_rows``. Nothing in the batch changes until nothing can refuse."""
    cursor = _LazyCursor()
    batch.quiet += 1
    try:
        existing, prepared = _prepare(
            cursor, batch, book=book, date=date, memo=memo, legs=legs, user=user, idempotency_key=idempotency_key,
            source_type=source_type, source_id=source_id, fx_rate=fx_rate, approved_by=approved_by,
            payload_hash=payload_hash, deltas=deltas, reverses=None,
        )
        if existing is not None:
            return existing
        changing, _held, sequence, previous, digest = prepared
        now = timezone.now()
        entry_id = batch.take_ids(cursor, _T_ENTRY, 1)[0]
        leg_ids = batch.take_ids(cursor, _T_LEG, len(legs))
        approved_id = approved_by.pk if approved_by is not None else None
        # Positional values in field order: the fast way to make a model instance (as the ORM does from a row).
        entry = JournalEntry.from_db(connection.alias, None, (
            entry_id, book.pk, sequence, date, memo, EntryStatus.POSTED, source_type, source_id, user.pk,
            approved_id, now, idempotency_key, payload_hash, fx_rate, None, previous, digest,
        ))
        entry._state.fields_cache.update(book=book, created_by=user)
        # FIFO: new sources join their fund's queue; uses take from it, oldest first.
        sources, allocations = [], []
        for spec, leg_id in zip(legs, leg_ids):
            kind = spec.account.type
            if kind == AccountType.INCOME and spec.side == "credit":
                sources.append(([leg_id, spec.fund_id, date, sequence, spec.cny],
                                _Source(leg_id, date, sequence, spec.cny, True)))
            elif kind == AccountType.EXPENSE and spec.side == "debit":
                fifo = batch.fund_fifo(spec.fund_id)
                need = spec.cny
                while need > 0:
                    source = fifo.head(cursor)
                    if source is None:
                        break  # what no source covers stays unfunded
                    take = min(need, source.remaining)
                    allocations.append((source, leg_id, take))
                    source.remaining -= take
                    need -= take
    finally:
        batch.quiet -= 1
        cursor.close()
    # Nothing below can refuse: the entry joins the batch.
    for source, leg_id, take in allocations:
        batch.allocations.append((source.leg_id, leg_id, AllocationKind.USE, take))
        if not source.new:
            batch.source_updates[source.leg_id] = source
    for row, source in sources:
        batch.sources.append((row, source))
        fifo = batch.fifo.get(row[1])
        if fifo is not None:
            bisect.insort(fifo.new, source, key=lambda s: s.key)
    batch.entries.append([
        entry_id, book.pk, sequence, date, memo, EntryStatus.DRAFT, source_type, source_id, user.pk,
        approved_id, _db_datetime(now), idempotency_key, payload_hash, _db_decimal(fx_rate), None, previous, digest,
    ])
    for spec, leg_id in zip(legs, leg_ids):
        debit = spec.side == "debit"
        batch.legs.append([
            leg_id, entry_id, spec.position, spec.account_id, spec.fund_id, spec.currency,
            spec.minor if debit else 0, 0 if debit else spec.minor, spec.cny if debit else 0,
            0 if debit else spec.cny, date,
        ])
    _batch_totals(batch, book, date, legs, deltas, changing, sequence, digest)
    if idempotency_key is not None:
        batch.keys[(book.pk, idempotency_key)] = (entry, payload_hash)
        batch.unused_keys[book.pk].discard(idempotency_key)
    book.last_sequence, book.head_hash = sequence, digest
    return entry


def _post_pipelined(**post) -> JournalEntry:
    """PostgreSQL, one plain entry outside a batch: posted as a batch of one, in two round trips instead of one
    per statement.

    psycopg's pipeline mode sends many statements and waits once. The first pipeline takes the book's lock and
    reads, in this order, what the checks need: the book's head and the new rows' ids, whether the idempotency key
    is used, the changing funds (locked), the spent funds' oldest open sources. ``_post_buffered`` then computes
    the entry exactly as in a batch (every check, the chain, the FIFO); the second pipeline writes it (draft, legs,
    sources and allocations; posted; running totals). The server runs the statements of a pipeline one after the
    other, so each still sees what the one before it locked or wrote, and the database's guards check the rows as
    they do on every other path.

    Outside any transaction the post is a transaction of its own: BEGIN goes with the first pipeline and COMMIT
    with the second, so committing costs no round trip of its own. Inside one (a request, an import of single
    posts) it is a savepoint, taken and released the same way. Either is undone on any failure.
    """
    from psycopg import Cursor

    book = post["book"]
    batch = _Batch()
    head = book.last_sequence, book.head_hash
    connection.ensure_connection()
    raw = connection.connection
    if connection.get_autocommit() and not connection.in_atomic_block:
        begin, end, undo = "BEGIN", "COMMIT", ["ROLLBACK"]
    else:
        begin, end = "SAVEPOINT ledger_post", "RELEASE SAVEPOINT ledger_post"
        undo = ["ROLLBACK TO SAVEPOINT ledger_post", "RELEASE SAVEPOINT ledger_post"]
    # Django turns psycopg's prepared statements off (they break behind a transaction-pooling PgBouncer older than
    # 1.21); these statements, the same for every entry, are prepared on their first use on a connection unless
    # settings.LEDGER_PREPARED_STATEMENTS is False.
    threshold = raw.prepare_threshold
    if getattr(settings, "LEDGER_PREPARED_STATEMENTS", True):
        raw.prepare_threshold = 0
    try:
        with connection.wrap_database_errors:
            try:
                _preload(raw, batch, book, post["legs"], post["deltas"], post["idempotency_key"], begin=begin)
                entry = _post_buffered(batch, **post)
                with raw.pipeline(), Cursor(raw) as cursor:
                    if batch.entries:  # else a replay: nothing to write
                        batch.flush(cursor)
                    cursor.execute(end, prepare=False)
            except BaseException:
                _undo(raw, undo)
                raise
    except BaseException:
        # The database may refuse the rows after _post_buffered moved the caller's Book on: it must not have.
        book.last_sequence, book.head_hash = head
        raise
    finally:
        raw.prepare_threshold = threshold
    return entry


def _undo(raw, statements: list[str]) -> None:
    """Roll back what ``_post_pipelined`` began, if anything of it is still open (a failed COMMIT has already
    ended its transaction). A statement that cannot run (the connection is gone, the caller's transaction had
    already failed) is left: the caller sees the first error, not this one."""
    import psycopg
    from psycopg.pq import TransactionStatus

    if raw.closed or raw.info.transaction_status == TransactionStatus.IDLE:
        return
    for sql in statements:
        try:
            raw.execute(sql, prepare=False)
        except psycopg.Error:
            return


def _preload(raw, batch: _Batch, book: Book, legs: list[LegSpec], deltas: dict[int, int], key: str | None, *,
             begin: str | None = None) -> None:
    """Fill a batch of one with what ``_post_buffered`` would otherwise ask for statement by statement (after
    ``begin``, BEGIN or SAVEPOINT, when given).

    Server-side binding (Django's own cursors bind on the client): psycopg prepares a statement it has run a few
    times, so the server stops parsing and planning the same statements for every entry."""
    from psycopg import Cursor

    changing = sorted(fund_id for fund_id, delta in deltas.items() if delta)
    spent = sorted({s.fund_id for s in legs if s.account.type == AccountType.EXPENSE and s.side == "debit"})
    fifos = {fund_id: _Fifo(fund_id) for fund_id in spent}
    with raw.pipeline():
        if begin is not None:
            Cursor(raw).execute(begin, prepare=False)
        # The book's lock comes first (then the funds', as everywhere), with the new ids. The key is looked up by
        # a statement of its own, after the lock: a statement sees what was committed before it started, and a
        # concurrent post of the same key commits while this one waits for the lock.
        book_cursor = Cursor(raw)
        book_cursor.execute(
            f"SELECT last_sequence, head_hash, closed_through, nextval(pg_get_serial_sequence('{_T_ENTRY}', 'id')), "
            f"ARRAY(SELECT nextval(pg_get_serial_sequence('{_T_LEG}', 'id')) FROM generate_series(1, %s)) "
            f"FROM {_T_BOOK} WHERE id = %s FOR UPDATE",
            [len(legs), book.pk],
        )
        if key is not None:
            key_cursor = Cursor(raw)
            key_cursor.execute(f"SELECT 1 FROM {_T_ENTRY} WHERE book_id = %s AND idempotency_key = %s", [book.pk, key])
        if changing:
            fund_cursor = Cursor(raw)
            fund_cursor.execute(
                f"SELECT id, net_assets, restriction, code FROM {_T_FUND} "
                f"WHERE id IN ({', '.join(['%s'] * len(changing))}) ORDER BY id FOR UPDATE",
                changing,
            )
        pages = []
        for fifo in fifos.values():
            sql, params, size = fifo.page_query()
            page_cursor = Cursor(raw)
            page_cursor.execute(sql, params)
            pages.append((fifo, page_cursor, size))
    last, head, closed_through, entry_id, leg_ids = book_cursor.fetchone()
    batch.books[book.pk] = [last, head, closed_through]
    if key is not None and key_cursor.fetchone() is None:
        batch.unused_keys[book.pk].add(key)
    if changing:
        batch.funds.update((row[0], list(row[1:])) for row in fund_cursor.fetchall())
    for fifo, page_cursor, size in pages:
        fifo.take_page(page_cursor.fetchall(), size)
    batch.fifo.update(fifos)
    batch.ids[_T_ENTRY].append(entry_id)
    batch.ids[_T_LEG].extend(leg_ids)


def _db_datetime(value):
    return connection.ops.adapt_datetimefield_value(value)


def _db_decimal(value):
    if value is None:
        return None
    return connection.ops.adapt_decimalfield_value(value, 18, 8)


def _leg_tuple(spec: LegSpec) -> tuple:
    debit = spec.side == "debit"
    return (
        spec.position,
        spec.account_id,
        spec.fund_id,
        spec.currency,
        spec.minor if debit else 0,
        0 if debit else spec.minor,
        spec.cny if debit else 0,
        0 if debit else spec.cny,
    )


def _fund_deltas(legs: list[LegSpec]) -> dict[int, int]:
    deltas: dict[int, int] = defaultdict(int)
    for spec in legs:
        if spec.account.type in NET_ASSET_TYPES:
            deltas[spec.fund_id] += spec.cny if spec.side == "credit" else -spec.cny
    return deltas


def _add_daily(cursor, book_id: int, date: dt.date, legs: list[LegSpec]) -> None:
    totals: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    for spec in legs:
        totals[(spec.account.pk, spec.fund.pk)][0 if spec.side == "debit" else 1] += spec.cny
    _upsert_daily(cursor, [(book_id, a, f, date, d, c) for (a, f), (d, c) in totals.items()])


def _upsert_daily(cursor, rows: list[tuple]) -> None:
    """One upsert for many (book, account, fund, date, debit, credit) rows, each key once (ON CONFLICT may not hit
    a row twice in one statement)."""
    if not rows:
        return
    params: list = []
    cursor.execute(_daily_upsert(rows, params), params)


def _daily_upsert(rows: list[tuple], params: list) -> str:
    """The upsert statement of ``_upsert_daily`` (its values appended to ``params``)."""
    return _values(_T_DAILY, "book_id, account_id, fund_id, date, debit, credit", rows, params) + (
        f" ON CONFLICT (account_id, fund_id, date) DO UPDATE SET debit = {_T_DAILY}.debit + excluded.debit, "
        f"credit = {_T_DAILY}.credit + excluded.credit"
    )


def _trace(entry: JournalEntry, legs: list[LegSpec], rows: list[Leg], reverses: JournalEntry | None) -> None:
    """Keep the FIFO links between income (sources) and spending (uses) of each fund."""
    originals = {}
    if reverses is not None:
        originals = {leg.position: leg for leg in reverses.legs.all()}
    new_sources = []
    allocations: list[Allocation] = []
    # Releases first: a reversal hands back everything its original's legs took before any of its legs gives
    # income back or spends, so that the result does not depend on the order of the legs.
    for spec, row in zip(legs, rows):
        original = originals.get(spec.position)
        if original is not None:
            allocations += _release(original, row)
    for spec, row in zip(legs, rows):
        kind = spec.account.type
        original = originals.get(spec.position)
        if original is not None:
            if kind == AccountType.INCOME and spec.side == "debit":
                # Giving income back again. The original leg is the source itself, or, when the entry reversed is
                # itself a reversal (of a give-back), the leg whose allocations put money back into sources: those
                # sources are the ones to reduce (FundSource.objects.filter(leg=original) alone finds none there).
                sources = (
                    FundSource.objects.filter(Q(leg=original) | Q(allocations__leg=original))
                    .distinct()
                    .order_by("date", "sequence", "pk")
                )
                allocations += _reduce(row, spec, sources)
            elif kind == AccountType.EXPENSE and spec.side == "debit":
                # Spending again what a reversal had undone (the reversal of a reversal of a use): a use like any
                # other, allocated FIFO; otherwise it would stay unallocated however much income the fund holds.
                allocations += _consume(row, spec)
            continue
        if kind == AccountType.INCOME and spec.side == "credit":
            new_sources.append(
                FundSource(
                    leg=row, fund=spec.fund, date=entry.date, sequence=entry.sequence, amount=spec.cny,
                    remaining=spec.cny,
                )
            )
        elif kind == AccountType.INCOME and spec.side == "debit":
            if spec.reduces is not None:
                candidates = FundSource.objects.filter(leg=spec.reduces)
            else:
                candidates = FundSource.objects.filter(fund=spec.fund, remaining__gt=0).order_by("-date", "-sequence")
            allocations += _reduce(row, spec, candidates)
        elif kind == AccountType.EXPENSE and spec.side == "debit":
            allocations += _consume(row, spec)
    with connection.cursor() as cursor:
        _insert_rows(cursor, _T_SOURCE, _SOURCE_COLUMNS, [
            [s.leg_id, s.fund_id, s.date, s.sequence, s.amount, s.remaining] for s in new_sources
        ])
        _insert_rows(cursor, _T_ALLOCATION, _ALLOCATION_COLUMNS, [
            [a.source_id, a.leg_id, a.kind, a.amount] for a in allocations
        ])


def _consume(row: Leg, spec: LegSpec) -> list[Allocation]:
    """Allocate a use to the fund's oldest sources with anything left (what no source covers stays unfunded)."""
    need = spec.cny
    made = []
    with connection.cursor() as cursor:
        while need > 0:
            cursor.execute(
                f"SELECT leg_id, remaining FROM {_T_SOURCE} WHERE fund_id = %s AND remaining > 0 "
                "ORDER BY date, sequence, leg_id LIMIT 20",
                [spec.fund_id],
            )
            batch = cursor.fetchall()
            if not batch:
                break
            for source_id, remaining in batch:
                take = min(need, remaining)
                cursor.execute(f"UPDATE {_T_SOURCE} SET remaining = %s WHERE leg_id = %s", [remaining - take, source_id])
                made.append(Allocation(source_id=source_id, leg=row, kind=AllocationKind.USE, amount=take))
                need -= take
                if need == 0:
                    break
    return made


def _reduce(row: Leg, spec: LegSpec, candidates) -> list[Allocation]:
    """Give back income: only what was still unallocated of the named (or newest) sources on the give-back's date.

    Spending dated after the give-back was allocated to a source that, in time, was already given back when the
    spending happened (entries can be posted in any order within an open period: a year imported file by file
    posts August's grants before May's refund). Such later spending is moved to the fund's other sources, first
    in first out, before the give-back is refused for lack of unallocated income.
    """
    need = spec.cny
    made = []
    for source in candidates:
        if need <= 0:
            break
        if source.remaining < need:
            made += _move_later_uses(source, after=row.date, wanted=need - source.remaining)
            source.refresh_from_db(fields=["remaining"])
        take = min(need, source.remaining)
        if take <= 0:
            continue
        FundSource.objects.filter(pk=source.pk).update(remaining=source.remaining - take)
        made.append(Allocation(source=source, leg=row, kind=AllocationKind.REFUND, amount=take))
        need -= take
    if need > 0:
        available = spec.cny - need
        raise errors.AllocatedSource(
            f"only {from_minor(available)} CNY of that income in fund {spec.fund.code} is still unspent; "
            f"{from_minor(spec.cny)} CNY cannot be given back",
            field="amount",
        )
    return made


def _move_later_uses(source: FundSource, *, after: dt.date, wanted: int) -> list[Allocation]:
    """Re-allocate up to ``wanted`` fen of uses dated after ``after`` from ``source`` to the fund's other sources
    (oldest first). Written as new allocation rows: a release from ``source`` and a take from each other one."""
    held: dict[int, int] = defaultdict(int)
    legs = {}
    for allocation in Allocation.objects.filter(source=source, kind=AllocationKind.USE, leg__date__gt=after).select_related("leg"):
        held[allocation.leg_id] += allocation.amount
        legs[allocation.leg_id] = allocation.leg
    moves = []
    for leg_id in sorted(held, key=lambda pk: (legs[pk].date, pk), reverse=True):  # latest spending moves first
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
            moves.append(Allocation(source=other, leg=legs[leg_id], kind=AllocationKind.USE, amount=take))
            moved += take
            if moved == amount:
                break
        if moved:
            FundSource.objects.filter(pk=source.pk).update(remaining=F("remaining") + moved)
            moves.append(Allocation(source=source, leg=legs[leg_id], kind=AllocationKind.USE, amount=-moved))
            wanted -= moved
        if moved < amount:
            break  # the fund's other sources are exhausted
    return moves


def _release(original: Leg, row: Leg) -> list[Allocation]:
    """A reversal hands back whatever the original leg took from sources."""
    made = []
    taken: dict[tuple[int, str], int] = defaultdict(int)
    for allocation in original.allocations.all():
        taken[(allocation.source_id, allocation.kind)] += allocation.amount
    for (source_id, kind), amount in taken.items():
        if amount <= 0:
            continue
        source = FundSource.objects.get(pk=source_id)
        FundSource.objects.filter(pk=source_id).update(remaining=source.remaining + amount)
        made.append(Allocation(source_id=source_id, leg=row, kind=kind, amount=-amount))
    return made


def entry_reverse(*, entry: JournalEntry, date: dt.date, reason: str, user, idempotency_key: str | None = None):
    """Post the mirror image of ``entry`` (every leg swapped) that points at it. An entry is reversed once."""
    require(user, POST_ENTRIES, entry.book)
    if not reason or not reason.strip():
        raise errors.LedgerError("a reversal needs a reason", field="reason")
    if "\x00" in reason:
        raise errors.LedgerError("a reason cannot contain a NUL character", field="reason")
    if entry.status != EntryStatus.POSTED:
        raise errors.LedgerError(f"entry #{entry.sequence} is not posted", field="entry")
    # A retried reversal (its idempotency key already used) goes on to _post, which returns the first reversal
    # when the payload is the same and refuses a different one; only a new request can be a second reversal.
    replay = idempotency_key is not None and JournalEntry.objects.filter(
        book_id=entry.book_id, idempotency_key=idempotency_key
    ).exists()
    if not replay and JournalEntry.objects.filter(reverses=entry).exists():
        raise errors.AlreadyReversed(f"entry #{entry.sequence} has already been reversed", field="entry")
    if date < entry.date:
        raise errors.LedgerError(
            f"a reversal cannot be dated {date.isoformat()}, before the entry it reverses ({entry.date})",
            field="date",
        )
    legs = []
    for leg in entry.legs.select_related("account", "fund").order_by("position"):
        amount = from_minor(leg.debit or leg.credit)
        spec = LegSpec(account=leg.account, fund=leg.fund, currency=leg.currency)
        if leg.debit:
            spec.credit = amount
        else:
            spec.debit = amount
        legs.append(spec)
    rate = _validate(book=entry.book, date=date, legs=legs, fx_rate=entry.fx_rate)
    # Keep the original's CNY figures exactly, whatever rounding would give today.
    for spec, leg in zip(legs, entry.legs.order_by("position")):
        spec.cny = leg.debit_cny or leg.credit_cny
    try:
        return _post(
            book=entry.book,
            date=date,
            memo=f"Reversal of #{entry.sequence}: {reason.strip()}",
            legs=legs,
            user=user,
            idempotency_key=idempotency_key,
            source=(entry.source_type, entry.source_id) if entry.source_type else ("reversal", str(entry.sequence)),
            fx_rate=rate,
            approved_by=None,
            reverses=entry,
        )
    except errors.AllocatedSource as exc:
        raise errors.AllocatedSource(f"entry #{entry.sequence} cannot be reversed: {exc.message}", field="entry")


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    try:
        first = dt.datetime.strptime(month, "%Y-%m").date()
    except ValueError:
        raise errors.PeriodError(f"month {month!r} is not of the form YYYY-MM", field="month") from None
    bounds.check_date(first, field="month")
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    return first, last


def period_close(*, book: Book, month: str, user) -> Period:
    """Close ``month`` (YYYY-MM) and every month before it; snapshot balances as a checkpoint."""
    require(user, CLOSE_PERIODS, book)
    first, last = month_bounds(month)
    if first > timezone.localdate():
        raise errors.PeriodError(f"month {month} has not begun yet", field="month")
    with transaction.atomic():
        locked = Book.objects.select_for_update().get(pk=book.pk)
        if locked.closed_through is not None and last <= locked.closed_through:
            raise errors.PeriodError(
                f"month {month} is already closed (closed through {locked.closed_through.isoformat()})",
                field="month",
            )
        period = Period.objects.create(book=locked, month=first, closed_at=timezone.now(), closed_by=user)
        Book.objects.filter(pk=locked.pk).update(closed_through=last)
        book.closed_through = last
        from django.db.models import Sum

        totals = (
            DailyBalance.objects.filter(book=locked, date__lte=last)
            .values("account_id", "fund_id")
            .annotate(debit=Sum("debit"), credit=Sum("credit"))
        )
        BalanceCheckpoint.objects.bulk_create(
            [
                BalanceCheckpoint(
                    period=period,
                    account_id=row["account_id"],
                    fund_id=row["fund_id"],
                    through=last,
                    debit=row["debit"],
                    credit=row["credit"],
                )
                for row in totals
            ]
        )
    return period


def book_create(*, code: str, name: str) -> Book:
    if not code or len(code) > 32:
        raise errors.LedgerError("a book code is 1 to 32 characters", field="code")
    if Book.objects.filter(code=code).exists():
        raise errors.LedgerError(f"a book with code {code!r} already exists", field="code")
    return Book.objects.create(code=code, name=name)


def account_create(
    *, book: Book, code: str, name: str, type: str, name_en: str = "", parent: Account | None = None,
    purpose: str = "", restriction: str = "",
) -> Account:
    if type not in AccountType.values:
        raise errors.LedgerError(f"account type {type!r} is not one of {', '.join(AccountType.values)}", field="type")
    if Account.objects.filter(book=book, code=code).exists():
        raise errors.LedgerError(f"account {code} already exists in this book", field="code")
    if parent is not None and parent.book_id != book.pk:
        raise errors.ForeignBook("the parent account belongs to another book", field="parent")
    return Account.objects.create(
        book=book, code=code, name=name, name_en=name_en, type=type, parent=parent, purpose=purpose,
        restriction=restriction,
    )


def fund_create(
    *, book: Book, code: str, name: str, restriction: str, user, name_en: str = "", purpose: str = "",
    description: str = "",
) -> Fund:
    require(user, MANAGE_FUNDS, book)
    if restriction not in Restriction.values:
        raise errors.LedgerError(
            f"restriction {restriction!r} is not one of {', '.join(Restriction.values)}", field="restriction"
        )
    if not code or len(code) > 32:
        raise errors.LedgerError("a fund code is 1 to 32 characters", field="code")
    if len(name) > 200:
        raise errors.LedgerError("a fund name is at most 200 characters", field="name")
    if Fund.objects.filter(book=book, code=code).exists():
        raise errors.LedgerError(f"fund {code} already exists in this book", field="code")
    return Fund.objects.create(
        book=book, code=code, name=name, name_en=name_en, restriction=restriction, purpose=purpose,
        description=description,
    )
