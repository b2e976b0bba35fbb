"""The posting path's reads and writes, the one place that knows the database engine.

A ``Writer`` serves one posting batch. ``load`` reads, in one go, what the next entry needs that the batch does
not hold yet (the book's head, locked; whether its idempotency key is used; the funds it changes, locked; a page
of a fund's open sources; ids for its rows). ``write`` stores the rows and running totals the batch computed.
Every engine gets the same calls in the same order; only how they travel differs:

- ``Writer`` (SQLite, and any engine): one statement at a time, multi-row INSERTs.
- ``PostgresWriter``: the reads of ``load`` and the writes of a small flush go in one pipeline each (psycopg's
  pipeline mode sends the statements and waits once; the server still runs them in order, so each sees what the
  one before it locked or wrote), with server-side binding so that the server can keep them prepared. Large
  flushes go by COPY.

``writer_for`` chooses between them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict, deque
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

from ..locking import SQL_LOCK
from ..models import EntryStatus
from .rows import (
    ALLOCATION_COLUMNS, DAILY_COLUMNS, ENTRY_COLUMNS, LEG_COLUMNS, SOURCE_COLUMNS, T_ALLOCATION, T_BOOK, T_DAILY,
    T_ENTRY, T_FUND, T_LEG, T_SOURCE,
)

ROWS = 500  # rows per multi-row statement


@dataclass
class Need:
    """What one entry needs read before it can be checked, and, once ``load`` ran, the answers."""

    book_id: int | None = None  # lock the book, read [last sequence, head hash, closed through]
    key: str | None = None  # is this idempotency key used in the book? (needs book_id or the book held)
    key_book_id: int | None = None
    fund_ids: list[int] = field(default_factory=list)  # lock the funds, read [net assets, restriction, code]
    pages: list = field(default_factory=list)  # FifoQueue objects that need their next page
    ids: dict[str, int] = field(default_factory=dict)  # table -> how many new ids
    # answers
    book: list | None = None
    key_used: bool = False
    funds: dict[int, list] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.book_id or self.key or self.fund_ids or self.pages or self.ids)


@dataclass
class Pending:
    """Rows computed and not written yet."""

    entries: list[tuple] = field(default_factory=list)
    legs: list[tuple] = field(default_factory=list)
    sources: list[tuple] = field(default_factory=list)  # SOURCE_COLUMNS, the last a fifo.Source (its remaining)
    allocations: list[tuple] = field(default_factory=list)
    source_remaining: dict[int, object] = field(default_factory=dict)  # leg id -> fifo.Source (its remaining)

    def __bool__(self) -> bool:
        return bool(self.entries or self.allocations or self.source_remaining)


@dataclass
class Totals:
    """Running totals that moved: the books' heads, the funds' net assets, the day balances (fen)."""

    books: list[tuple] = field(default_factory=list)  # (id, last sequence, head hash)
    funds: list[tuple] = field(default_factory=list)  # (id, net assets)
    daily: list[tuple] = field(default_factory=list)  # DAILY_COLUMNS

    def __bool__(self) -> bool:
        return bool(self.books or self.funds or self.daily)


def _columns(columns: tuple) -> str:
    return ", ".join(columns)


def _values(table: str, columns: tuple, rows: list, params: list) -> str:
    params += [value for row in rows for value in row]
    marks = "(" + ", ".join(["%s"] * len(columns)) + ")"
    return f"INSERT INTO {table} ({_columns(columns)}) VALUES {', '.join([marks] * len(rows))}"


def _daily_upsert(rows: list, params: list) -> str:
    """Add to the day balances; each (account, fund, date) once per statement (ON CONFLICT may not hit a row
    twice in one statement)."""
    return _values(T_DAILY, DAILY_COLUMNS, rows, params) + (
        f" ON CONFLICT (account_id, fund_id, date) DO UPDATE SET debit = {T_DAILY}.debit + excluded.debit, "
        f"credit = {T_DAILY}.credit + excluded.credit"
    )


def _book_row(row) -> list:
    last, head, closed_through = row
    if isinstance(closed_through, str):  # SQLite hands dates back as text on a raw cursor
        closed_through = dt.date.fromisoformat(closed_through)
    return [last, head, closed_through]


class Writer:
    """SQLite, and the plain way for any engine: a statement at a time."""

    LOCK = ""  # SQLite locks the whole database for the transaction (BEGIN IMMEDIATE)

    def __init__(self, db):
        self.db = db  # the connection (Django's wrapper) the batch posts on
        self.free_ids: dict[str, deque] = defaultdict(deque)
        self.chunk: dict[str, int] = defaultdict(lambda: 1)
        self.high: dict[str, int] = {}  # SQLite: the highest id reserved per table

    # -- reads -------------------------------------------------------------------------------------------------
    def book_sql(self) -> str:
        return f"SELECT last_sequence, head_hash, closed_through FROM {T_BOOK} WHERE id = %s{self.LOCK}"

    def key_sql(self) -> str:
        return f"SELECT 1 FROM {T_ENTRY} WHERE book_id = %s AND idempotency_key = %s"

    def funds_sql(self, count: int) -> str:
        marks = ", ".join(["%s"] * count)
        return f"SELECT id, net_assets, restriction, code FROM {T_FUND} WHERE id IN ({marks}) ORDER BY id{self.LOCK}"

    def page_sql(self, after, size: int) -> str:
        """A page of a fund's open sources in FIFO order (the size written in: a few distinct statements, each
        planned for its own limit)."""
        sql = f"SELECT leg_id, date, sequence, remaining FROM {T_SOURCE} WHERE fund_id = %s AND remaining > 0"
        if after is not None:
            sql += " AND (date, sequence, leg_id) > (%s, %s, %s)"
        return sql + f" ORDER BY date, sequence, leg_id LIMIT {int(size)}"

    @staticmethod
    def page_params(queue, after) -> list:
        return [queue.fund_id, *(after or ())]

    def load(self, need: Need) -> None:
        """Answer ``need``, in this order: the book (locked), the key, the funds (locked, in id order), the
        pages, the ids. The key is read after the book's lock: a post of the same key elsewhere commits while
        this one waits for it. The statements go to the database in one go (``run``)."""
        statements = []
        if need.book_id is not None:
            statements.append((self.book_sql(), [need.book_id]))
        if need.key is not None:
            statements.append((self.key_sql(), [need.key_book_id, need.key]))
        if need.fund_ids:
            statements.append((self.funds_sql(len(need.fund_ids)), need.fund_ids))
        pages = [(queue, *queue.next_page()) for queue in need.pages]
        for queue, after, size in pages:
            statements.append((self.page_sql(after, size), self.page_params(queue, after)))
        reserved = {table: self._reserve_count(table, missing) for table, missing in need.ids.items()}
        if reserved:
            statements.append(self.ids_statement(list(reserved), list(reserved.values())))
        answers = iter(self.run(statements))
        if need.book_id is not None:
            need.book = _book_row(next(answers)[0])
        if need.key is not None:
            need.key_used = bool(next(answers))
        if need.fund_ids:
            need.funds = {row[0]: list(row[1:]) for row in next(answers)}
        for queue, _after, size in pages:
            queue.take_page(next(answers), size)
        if reserved:
            self.take_reserved(reserved, next(answers)[0])

    def run(self, statements: list[tuple[str, list]]) -> list[list]:
        """Run ``statements`` in order; answer each one's rows ([] for a statement that returns none)."""
        answers = []
        with self.db.cursor() as cursor:
            for sql, params in statements:
                cursor.execute(sql, params)
                answers.append(cursor.fetchall() if cursor.description else [])
        return answers

    def read_page(self, fund_id: int, after, size: int) -> list:
        with self.db.cursor() as cursor:
            cursor.execute(self.page_sql(after, size), [fund_id, *(after or ())])
            return cursor.fetchall()

    def keys_used(self, book_id: int, keys: list[str]) -> set[str]:
        used = set()
        with self.db.cursor() as cursor:
            for start in range(0, len(keys), ROWS):
                chunk = keys[start:start + ROWS]
                cursor.execute(
                    f"SELECT idempotency_key FROM {T_ENTRY} WHERE book_id = %s "
                    f"AND idempotency_key IN ({', '.join(['%s'] * len(chunk))})",
                    [book_id, *chunk],
                )
                used.update(row[0] for row in cursor.fetchall())
        return used

    # -- ids ---------------------------------------------------------------------------------------------------
    def ids_missing(self, table: str, count: int) -> int:
        return max(0, count - len(self.free_ids[table]))

    def take_ids(self, table: str, count: int) -> tuple[int, ...]:
        free = self.free_ids[table]
        return tuple(free.popleft() for _ in range(count))

    def _reserve_count(self, table: str, missing: int) -> int:
        """Reserve what is missing, and more each time (1, 2, 4, ... up to 1,000 rows): a batch of one takes
        only its own ids, a long batch few round trips."""
        want = max(missing, self.chunk[table])
        self.chunk[table] = min(self.chunk[table] * 2, 1000)
        return want

    def ids_statement(self, tables: list[str], counts: list[int]) -> tuple[str, list]:
        """SQLite: the highest id each table has used or handed out. The batch's transaction holds the
        database's only write lock (BEGIN IMMEDIATE), and every entry and leg of it is written by this batch."""
        return "SELECT " + ", ".join(
            f"MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = %s), 0), "
            f"COALESCE((SELECT MAX(id) FROM {table}), 0))" for table in tables
        ), list(tables)

    def take_reserved(self, reserved: dict[str, int], row) -> None:
        for (table, want), used in zip(reserved.items(), row):
            top = max(used, self.high.get(table, 0))
            self.free_ids[table].extend(range(top + 1, top + 1 + want))
            self.high[table] = top + want

    # -- writes ------------------------------------------------------------------------------------------------
    def write(self, pending: Pending, totals: Totals) -> None:
        with self.db.cursor() as cursor:
            self.write_rows(cursor, pending)
            self.write_totals(cursor, totals)

    @staticmethod
    def source_rows(pending: Pending) -> list[tuple]:
        return [(*row[:5], row[5].remaining) for row in pending.sources]

    @staticmethod
    def updates(pending: Pending) -> list[tuple[int, int]]:
        return sorted((leg_id, source.remaining) for leg_id, source in pending.source_remaining.items())

    def write_rows(self, cursor, pending: Pending) -> None:
        """Drafts, legs, one UPDATE to posted (the database checks each entry's balance then), sources, their
        remainders, allocations."""
        ids = [row[0] for row in pending.entries]
        for table, columns, rows in ((T_ENTRY, ENTRY_COLUMNS, pending.entries), (T_LEG, LEG_COLUMNS, pending.legs)):
            for start in range(0, len(rows), ROWS):
                params: list = []
                cursor.execute(_values(table, columns, rows[start:start + ROWS], params), params)
        for start in range(0, len(ids), ROWS):
            chunk = ids[start:start + ROWS]
            cursor.execute(f"UPDATE {T_ENTRY} SET status = %s WHERE id IN ({', '.join(['%s'] * len(chunk))})",
                           [EntryStatus.POSTED, *chunk])
        sources = self.source_rows(pending)
        for start in range(0, len(sources), ROWS):
            params = []
            cursor.execute(_values(T_SOURCE, SOURCE_COLUMNS, sources[start:start + ROWS], params), params)
        updates = self.updates(pending)
        for start in range(0, len(updates), ROWS):
            chunk = updates[start:start + ROWS]
            cases = " ".join(["WHEN %s THEN %s"] * len(chunk))
            cursor.execute(
                f"UPDATE {T_SOURCE} SET remaining = CASE leg_id {cases} END "
                f"WHERE leg_id IN ({', '.join(['%s'] * len(chunk))})",
                [value for pair in chunk for value in pair] + [leg_id for leg_id, _ in chunk],
            )
        for start in range(0, len(pending.allocations), ROWS):
            params = []
            cursor.execute(
                _values(T_ALLOCATION, ALLOCATION_COLUMNS, pending.allocations[start:start + ROWS], params), params
            )

    def write_totals(self, cursor, totals: Totals) -> None:
        for book_id, last, head in totals.books:
            cursor.execute(f"UPDATE {T_BOOK} SET last_sequence = %s, head_hash = %s WHERE id = %s",
                           [last, head, book_id])
        for fund_id, net_assets in totals.funds:
            cursor.execute(f"UPDATE {T_FUND} SET net_assets = %s WHERE id = %s", [net_assets, fund_id])
        for start in range(0, len(totals.daily), ROWS):
            params: list = []
            cursor.execute(_daily_upsert(totals.daily[start:start + ROWS], params), params)


class PostgresWriter(Writer):
    """PostgreSQL: a pipeline for the reads of ``load`` and for a small flush; COPY for a large one."""

    LOCK = SQL_LOCK  # FOR NO KEY UPDATE: the lock order of ledger.locking
    FEW_ENTRIES = 25  # fewer entries than this are written by one composed statement, more by COPY

    def __init__(self, db):
        super().__init__(db)
        # Django turns psycopg's prepared statements off (they break behind a transaction-pooling PgBouncer older
        # than 1.21); the posting statements, the same for every entry, are prepared on first use unless told not.
        self.prepare = getattr(settings, "LEDGER_PREPARED_STATEMENTS", True)

    def run(self, statements: list[tuple[str, list]]) -> list[list]:
        """Run ``statements`` in one pipeline, on psycopg's own cursors (server-side binding), errors turned into
        Django's; answer each one's rows."""
        import psycopg

        self.db.ensure_connection()
        raw = self.db.connection
        threshold = raw.prepare_threshold
        if self.prepare:
            raw.prepare_threshold = 0
        try:
            with self.db.wrap_database_errors, raw.pipeline():
                cursors = [psycopg.Cursor(raw) for _ in statements]
                for cursor, (sql, params) in zip(cursors, statements):
                    cursor.execute(sql, params)
        finally:
            raw.prepare_threshold = threshold
        with self.db.wrap_database_errors:
            return [cursor.fetchall() if cursor.description else [] for cursor in cursors]

    def ids_statement(self, tables: list[str], counts: list[int]) -> tuple[str, list]:
        """New ids from each table's own sequence, in one statement."""
        return "SELECT " + ", ".join(
            f"ARRAY(SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, %s))"
            for table in tables
        ), list(counts)

    def take_reserved(self, reserved: dict[str, int], row) -> None:
        for table, ids in zip(reserved, row):
            self.free_ids[table].extend(ids)

    def write(self, pending: Pending, totals: Totals) -> None:
        few_rows = len(pending.legs) + len(pending.sources) + len(pending.allocations) <= 1000
        if len(pending.entries) < self.FEW_ENTRIES and few_rows:
            self.run(self._few_statements(pending) + self._totals_statements(totals))
            return
        import psycopg

        with self.db.wrap_database_errors:
            raw = self.db.connection
            with psycopg.Cursor(raw) as cursor:
                self._copy(cursor, T_ENTRY, ENTRY_COLUMNS, pending.entries)
                self._copy(cursor, T_LEG, LEG_COLUMNS, pending.legs)
                cursor.execute(f"UPDATE {T_ENTRY} SET status = %s WHERE id = ANY(%s)",
                               [EntryStatus.POSTED, [row[0] for row in pending.entries]])
                self._copy(cursor, T_SOURCE, SOURCE_COLUMNS, self.source_rows(pending))
                updates = self.updates(pending)
                if updates:
                    cursor.execute(
                        f"UPDATE {T_SOURCE} s SET remaining = u.remaining FROM unnest(%s::bigint[], %s::bigint[]) "
                        "AS u(leg_id, remaining) WHERE s.leg_id = u.leg_id",
                        [[leg_id for leg_id, _ in updates], [remaining for _, remaining in updates]],
                    )
                self._copy(cursor, T_ALLOCATION, ALLOCATION_COLUMNS, pending.allocations)
                for sql, params in self._totals_statements(totals):
                    cursor.execute(sql, params)

    @staticmethod
    def _copy(cursor, table: str, columns: tuple, rows: list) -> None:
        """``COPY ... FROM STDIN``: the rows travel without a statement composed in Python; the table's triggers
        and constraints run as for an INSERT."""
        if not rows:
            return
        with cursor.copy(f"COPY {table} ({_columns(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def _few_statements(self, pending: Pending) -> list[tuple[str, list]]:
        """The drafts, their legs, the new sources, the allocations and the sources' new remainders in one
        statement (data-modifying WITH clauses), then the UPDATE to posted (a statement of its own: it must see
        the drafts). The tables' statement-level guards run at the end of each, as for separate statements."""
        if not pending:
            return []
        params: list = []
        parts = []
        for table, columns, rows in ((T_ENTRY, ENTRY_COLUMNS, pending.entries), (T_LEG, LEG_COLUMNS, pending.legs),
                                     (T_SOURCE, SOURCE_COLUMNS, self.source_rows(pending)),
                                     (T_ALLOCATION, ALLOCATION_COLUMNS, pending.allocations)):
            for start in range(0, len(rows), ROWS):
                parts.append(_values(table, columns, rows[start:start + ROWS], params))
        updates = self.updates(pending)
        if updates:
            parts.append(
                f"UPDATE {T_SOURCE} s SET remaining = u.remaining FROM (VALUES "
                + ", ".join(["(%s::bigint, %s::bigint)"] * len(updates)) + ") AS u(leg_id, remaining) "
                "WHERE s.leg_id = u.leg_id"
            )
            params += [value for pair in updates for value in pair]
        statements = [_one_statement(parts, params)]
        if pending.entries:
            ids = [row[0] for row in pending.entries]
            statements.append((f"UPDATE {T_ENTRY} SET status = %s WHERE id IN ({', '.join(['%s'] * len(ids))})",
                               [EntryStatus.POSTED, *ids]))
        return statements

    @staticmethod
    def _totals_statements(totals: Totals) -> list[tuple[str, list]]:
        """The books' heads, the funds' net assets and the day totals in one statement (day totals 500 rows to a
        statement). Scalar parameters throughout: psycopg dumps an array parameter element by element."""
        parts, params = [], []
        if totals.books:
            parts.append(
                f"UPDATE {T_BOOK} b SET last_sequence = u.last, head_hash = u.head FROM (VALUES "
                + ", ".join(["(%s::bigint, %s::bigint, %s::text)"] * len(totals.books))
                + ") AS u(id, last, head) WHERE b.id = u.id"
            )
            params += [value for row in totals.books for value in row]
        if totals.funds:
            parts.append(
                f"UPDATE {T_FUND} f SET net_assets = u.net_assets FROM (VALUES "
                + ", ".join(["(%s::bigint, %s::bigint)"] * len(totals.funds)) + ") AS u(id, net_assets) "
                "WHERE f.id = u.id"
            )
            params += [value for row in totals.funds for value in row]
        statements = []
        for start in range(0, len(totals.daily), ROWS):
            parts.append(_daily_upsert(totals.daily[start:start + ROWS], params))
            statements.append(_one_statement(parts, params))
            parts, params = [], []
        if parts:
            statements.append(_one_statement(parts, params))
        return statements


def _one_statement(parts: list[str], params: list) -> tuple[str, list]:
    """Data-modifying statements as one: all but the last in WITH clauses."""
    *first, last = parts
    head = ("WITH " + ", ".join(f"w{i} AS ({part})" for i, part in enumerate(first)) + " ") if first else ""
    return head + last, params


def writer_for() -> Writer:
    """The writer for the default connection, by its engine."""
    db = connections[DEFAULT_DB_ALIAS]
    return PostgresWriter(db) if db.vendor == "postgresql" else Writer(db)
