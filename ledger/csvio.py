"""Reading tabular input (CSV) all-or-nothing, with row-and-column messages.

Generic plumbing for ``import_csv`` (docs/formats.md); the kinds themselves live in the apps that own the records.
An ``Importer`` declares its columns, parses every row (``check``) and then writes (``apply``). ``run_import``
reads the file, checks the header, runs ``check`` over every row and, only when no row is bad, runs ``apply``
inside one transaction; the first row a service refuses is reported and everything is rolled back (rows are
not wrapped in savepoints of their own: nothing of a refused file is kept, and on PostgreSQL a subtransaction
per row costs more than the row). ``--dry-run`` rolls back even when all rows pass.

Rows are numbered as a spreadsheet shows them: the header is row 1, the first data row is row 2.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection

from . import bounds
from .errors import LedgerError
from .services import posting_batch

AMOUNT_RE = re.compile(r"^\d{1,13}(\.\d{1,2})?$")
RATE_RE = re.compile(r"^\d{1,8}(\.\d{1,10})?$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_CELL = 2000
# A rejected file lists its first errors only, by row, and counts the rest: a 200,000-column header or a large
# file of bad rows would otherwise make an error listing many times the size of the file. A cell or column name
# echoed in a message is cut to a readable length for the same reason.
MAX_LISTED_ERRORS = 100
MAX_ERROR_TEXT = 300


class CellError(Exception):
    """A cell's value is unusable; the message says why (the runner adds row and column)."""

    def __init__(self, message: str, column: str | None = None):
        super().__init__(message)
        self.message = message
        self.column = column


@dataclass(frozen=True, order=True)
class RowError:
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column}: {self.message}"


@dataclass
class Row:
    number: int
    cells: dict[str, str]

    def get(self, name: str) -> str:
        return (self.cells.get(name) or "").strip()


@dataclass
class ImportResult:
    kind: str
    rows: int = 0
    created: int = 0
    skipped: int = 0
    #: the first ``MAX_LISTED_ERRORS`` errors, by row; ``error_count`` counts them all
    errors: list[RowError] = field(default_factory=list)
    dry_run: bool = False
    notes: list[str] = field(default_factory=list)
    error_count: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def more_errors(self) -> int:
        """How many errors were found beyond those listed."""
        return self.error_count - len(self.errors)

    @property
    def more_errors_number(self) -> str:
        return f"{self.more_errors:,}"

    @property
    def more_errors_line(self) -> str:
        """``... and 199,905 more errors`` after the listed ones, or an empty string when all are listed."""
        more = self.more_errors
        if more <= 0:
            return ""
        return f"... and {more:,} more error{'s' if more != 1 else ''}"

    def set_errors(self, errors: list[RowError]) -> None:
        """Keep the first errors by row, each cut to a readable length, and count them all."""
        self.error_count = len(errors)
        self.errors = [_clipped(error) for error in sorted(errors)[:MAX_LISTED_ERRORS]]


def _clip(text: str) -> str:
    return text if len(text) <= MAX_ERROR_TEXT else f"{text[:MAX_ERROR_TEXT]}... ({len(text):,} characters)"


def _clipped(error: RowError) -> RowError:
    if len(error.column) <= MAX_ERROR_TEXT and len(error.message) <= MAX_ERROR_TEXT:
        return error
    return RowError(error.row, _clip(error.column), _clip(error.message))


# -- cell parsers -------------------------------------------------------------------------------------------


def parse_amount(text: str, *, allow_zero: bool = False) -> Decimal:
    text = text.strip()
    if not text:
        raise CellError("is required")
    if not AMOUNT_RE.match(text):
        if text.startswith("-"):
            raise CellError(f"{text!r} is negative; amounts are above zero")
        if "," in text:
            raise CellError(f"{text!r} has a thousands separator; write plain digits like 1200.50")
        if re.match(r"^\d+\.\d{3,}$", text):
            raise CellError(f"{text!r} has more than two decimal places")
        raise CellError(f"{text!r} is not a plain decimal amount (e.g. 1200, 1200.5, 1200.50)")
    value = Decimal(text)
    if value == 0 and not allow_zero:
        raise CellError("must be above zero")
    return value


def parse_rate(text: str) -> Decimal:
    text = text.strip()
    if not RATE_RE.match(text):
        raise CellError(f"{text!r} is not a plain decimal rate (CNY per unit, e.g. 0.91988)")
    value = Decimal(text)
    if value <= 0:
        raise CellError("must be above zero")
    return value


def parse_date(text: str) -> dt.date:
    text = text.strip()
    if not text:
        raise CellError("is required")
    if not DATE_RE.match(text):
        raise CellError(f"{text!r} is not an ISO date (YYYY-MM-DD)")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CellError(f"{text!r} is not a real date") from None


def parse_currency(text: str) -> str:
    if not text.strip():
        return "CNY"
    try:
        return bounds.check_currency(text)
    except LedgerError as exc:
        raise CellError(exc.message) from None


def parse_book_date(text: str) -> dt.date:
    """A date the books can hold (``ledger.bounds``): an entry's, a gift's, a payment's."""
    value = parse_date(text)
    try:
        return bounds.check_date(value)
    except LedgerError as exc:
        raise CellError(exc.message) from None


def parse_bool(text: str, *, default: bool = False) -> bool:
    value = text.strip().lower()
    if not value:
        return default
    if value == "true":
        return True
    if value == "false":
        return False
    raise CellError(f"{text!r} is not a boolean (true or false)")


def parse_choice(text: str, choices) -> str:
    value = text.strip()
    if value not in choices:
        raise CellError(f"{text!r} is not one of {', '.join(choices)}")
    return value


def parse_quantity(text: str, *, default: int | None = None) -> int:
    value = text.strip()
    if not value:
        if default is None:
            raise CellError("is required")
        return default
    if not re.match(r"^\d{1,9}$", value):
        raise CellError(f"{text!r} is not a whole number")
    number = int(value)
    if number <= 0:
        raise CellError("must be above zero")
    return number


def parse_text(text: str, *, max_length: int, required: bool = False) -> str:
    value = text.strip()
    if required and not value:
        raise CellError("is required")
    if len(value) > max_length:
        raise CellError(f"is {len(value)} characters long; at most {max_length} are allowed")
    if any(ord(ch) < 32 and ch not in "\t" for ch in value):
        raise CellError("contains control characters")
    return value


# -- the importer protocol ------------------------------------------------------------------------------------


class Importer:
    """Subclass per KIND. ``check`` returns row errors; ``apply`` writes one row (raising a domain error)."""

    kind: str = ""
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    #: exception types whose ``message`` (and ``field``) become a row error when ``apply_row`` raises them
    domain_errors: tuple[type[Exception], ...] = ()
    #: maps a domain error's ``field`` to the CSV column it concerns
    field_columns: dict[str, str] = {}

    def __init__(self, *, book, user, draft: bool = False):
        self.book = book
        self.user = user
        self.draft = draft
        self.plan: list = []

    def check(self, rows: list[Row]) -> list[RowError]:
        """Parse every row into ``self.plan`` (items of the form ``(row, payload)``) and report bad rows."""
        raise NotImplementedError

    #: The posting batch every row is posted in (set by ``begin``); services take it as ``posting=``.
    posting = None

    def begin(self, posting) -> None:
        """Called once inside the posting batch before any row is applied; a subclass that knows the keys its
        rows will post says so here (``posting.expect_keys``)."""
        self.posting = posting

    def apply_row(self, row: Row, payload) -> bool:
        """Write one planned row; return False when it was skipped as already imported."""
        raise NotImplementedError

    def finish(self) -> None:
        """Called after every row applied (e.g. to post batches); may raise a domain error."""

    def column_for(self, error: Exception) -> str:
        name = getattr(error, "field", None) or ""
        return self.field_columns.get(name, name or "-")


class KeyedRows:
    """The rows of a file keyed by a business key (an external id, a fund's code), checked against each other and
    against the records already in the books: every importer's one rule.

    - A key given again in the file: with the same content the repeat is the same record and is dropped (unless
      ``repeats`` is False: then any repeat is an error); with different content it is an error naming the
      first row.
    - A key already in the books: with the same content the row is skipped when writing ("imported"); with
      different content it is an error.

    ``existing`` maps each key in the books to what is there, compared with a row's content by ``same(existing,
    content)`` (default: equality). Errors are appended to ``errors``; ``twice`` and ``conflict`` are their
    messages (``{key}`` and ``{row}``, the first row, are filled in)."""

    def __init__(self, existing: dict, errors: list[RowError], *, column: str = "external_id", repeats: bool = True,
                 same=None, twice: str = "", conflict: str = "{key} was already imported with different content"):
        self.existing = existing
        self.errors = errors
        self.column = column
        self.repeats = repeats
        self.same = same or (lambda old, new: old == new)
        self.twice = twice or ("{key} appears twice with different content (also row {row})" if repeats
                               else "{key} appears twice (also row {row})")
        self.conflict = conflict
        #: key -> (number of the first row with it, its content)
        self.seen: dict[str, tuple[int, object]] = {}

    def _refuse(self, row: Row, message: str, key: str, first: int | None = None) -> None:
        self.errors.append(RowError(row.number, self.column, message.format(key=key, row=first)))

    def first(self, row: Row, key: str, content=None) -> bool:
        """Whether this is the first row with ``key`` (a repeat is dropped, or refused)."""
        if key not in self.seen:
            self.seen[key] = (row.number, content)
            return True
        first, before = self.seen[key]
        if not self.repeats or before != content:
            self._refuse(row, self.twice, key, first)
        return False

    def known(self, row: Row, key: str, content=None) -> bool | None:
        """Whether the books hold ``key`` already with this content (the row is skipped when writing); None when
        they hold it with different content (refused)."""
        if key not in self.existing:
            return False
        if not self.same(self.existing[key], content):
            self._refuse(row, self.conflict, key)
            return None
        return True

    def check(self, row: Row, key: str, content=None) -> bool | None:
        """``first`` then ``known``: None when the row is dropped or refused, else whether it is imported already."""
        return self.known(row, key, content) if self.first(row, key, content) else None


def read_rows(data: bytes, importer: Importer) -> tuple[list[Row], list[RowError]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return [], [RowError(0, "-", f"the file is not UTF-8 (byte {exc.start})")]
    try:
        bounds.check_text(text, field="file")
    except LedgerError:
        return [], [RowError(0, "-", "the file contains NUL bytes; it is not a CSV text file")]
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return [], [RowError(1, "-", "the file is empty; a header row is required")]
    except csv.Error as exc:
        return [], [RowError(1, "-", f"unreadable CSV: {exc}")]
    header = [h.strip() for h in header]
    errors = []
    known = set(importer.required) | set(importer.optional)
    seen = set()
    for name in header:
        if name in seen:
            errors.append(RowError(1, name or "-", "appears twice in the header"))
        seen.add(name)
        if name not in known:
            errors.append(RowError(1, name or "(blank)", f"unknown column for {importer.kind}"))
    for name in importer.required:
        if name not in seen:
            errors.append(RowError(1, name, "required column is missing"))
    if errors:
        return [], errors
    rows = []
    try:
        for number, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                errors.append(RowError(number, "-", f"has {len(cells)} cells; the header has {len(header)}"))
                continue
            too_long = [h for h, c in zip(header, cells) if len(c) > MAX_CELL * 10]
            if too_long:
                errors.append(RowError(number, too_long[0], "cell is far too long"))
                continue
            rows.append(Row(number, dict(zip(header, cells))))
    except csv.Error as exc:
        errors.append(RowError(reader.line_num, "-", f"unreadable CSV: {exc}"))
    return rows, errors


class _Rollback(Exception):
    pass


def run_import(importer: Importer, data: bytes, *, dry_run: bool = False, progress=None) -> ImportResult:
    """Import ``data`` all or nothing; ``progress(n)`` is called as rows are written (for a progress bar)."""
    result = ImportResult(kind=importer.kind, dry_run=dry_run)
    rows, errors = read_rows(data, importer)
    result.rows = len(rows)
    if errors:
        result.set_errors(errors)
        return result
    errors = importer.check(rows)
    if errors:
        result.set_errors(errors)
        return result
    try:
        with posting_batch() as batch:
            importer.begin(batch)
            for row, payload in importer.plan:
                try:
                    created = importer.apply_row(row, payload)
                except importer.domain_errors as exc:
                    # Rows were all checked before any was written, so a refusal here is rare (a rule only the
                    # write can see). The batch's running totals in memory already count the rows before it; the
                    # file is refused as a whole, so writing stops at the first such row.
                    message = getattr(exc, "message", str(exc))
                    result.errors.append(RowError(row.number, importer.column_for(exc), message))
                    break
                if created:
                    result.created += 1
                else:
                    result.skipped += 1
                if progress is not None:
                    progress(1)
            if not result.errors:
                try:
                    importer.finish()
                except importer.domain_errors as exc:
                    row_number = getattr(exc, "row", 0)
                    message = getattr(exc, "message", str(exc))
                    result.errors.append(RowError(row_number, importer.column_for(exc), message))
            if result.errors or dry_run:
                raise _Rollback
    except _Rollback:
        pass
    else:
        if connection.vendor == "postgresql" and result.created >= 500:
            # Fresh statistics after a bulk load, so that the planner keeps using the indexes (autovacuum may be
            # late or, on some servers, off).
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE ledger_journalentry, ledger_leg, ledger_dailybalance, ledger_fundsource")
    result.set_errors(result.errors)
    return result
