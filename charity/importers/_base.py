"""What the trust's importers share: parsing a row's cells column by column, collecting every bad cell."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from beneficiaries.errors import AidError
from ledger.csvio import CellError, Importer, RowError, parse_book_date
from ledger.errors import LedgerError

from ..errors import CharityError

CHUNK = 500


def parse_cells(row, parsers) -> tuple[dict, list[RowError]]:
    """``parsers``: (column, function of the cell's text). Returns the parsed values and one error per bad cell."""
    data, errors = {}, []
    for column, parse in parsers:
        try:
            data[column] = parse(row.get(column))
        except CellError as exc:
            errors.append(RowError(row.number, exc.column or column, exc.message))
    return data, errors


def parse_past_date(text: str) -> dt.date:
    value = parse_book_date(text)
    if value > timezone.localdate():
        raise CellError(f"{text.strip()} is after today")
    return value


def chunked(values: list, size: int = CHUNK):
    for start in range(0, len(values), size):
        yield values[start:start + size]


class TrustImporter(Importer):
    """An importer of the trust's records: rows refused by a service become row errors."""

    domain_errors = (CharityError, LedgerError, AidError)

    # Gifts' receipt e-mails: queued for the worker (send_mail_queue) at its bounded rate; "off" (import_csv
    # --no-email) queues none.
    notify = "queue"

    def __init__(self, *, book, user, draft: bool = False):
        super().__init__(book=book, user=user, draft=draft)
        from ..models import Trust

        self.trust = Trust.objects.get(book=book)
