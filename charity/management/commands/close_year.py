"""``close_year YYYY``: revalue foreign currency, journalise the release of restrictions, close income and expenses
to net assets and lock the year (charity.services.closing). Exit 0 when done or already done, 1 when refused."""

from __future__ import annotations

import argparse

from django.core.management.base import CommandError

from charity import errors
from charity.models import Trust
from charity.retry import command_call
from charity.services.closing import year_close
from ledger.errors import LedgerError
from ledger.management.base import BookCommand


def _year(text: str) -> int:
    if len(text) != 4 or not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a year of the form YYYY")
    return int(text)


class Command(BookCommand):
    help = ("Close a year (YYYY) whose twelve months are closed: revalue foreign-currency balances (--rate CUR=RATE, "
            "repeatable; otherwise the latest rate the books hold), journalise the release of restrictions, close "
            "income and expenses to net assets by restriction, and lock the year. A closed year: nothing to do.")

    def add_arguments(self, parser):
        parser.add_argument("year", metavar="YYYY", type=_year)
        parser.add_argument("--rate", metavar="CUR=RATE", action="append", default=[],
                            help="the year-end rate of a currency, CNY per unit (repeatable)")
        super().add_arguments(parser)

    def handle(self, *args, **options):
        book = self.resolve_book(options["trust"])
        user = self.resolve_user(options["user"])
        trust = Trust.objects.filter(book=book).first()
        if trust is None:
            raise CommandError(f"--trust: book {book.code} belongs to no trust")
        year = options["year"]
        try:
            result = command_call(year_close, trust=trust, year=year, rates=options["rate"], user=user)
        except errors.CharityError as exc:
            raise CommandError(f"{'--rate' if exc.field == 'rate' else exc.field or 'year'}: {exc.message}") from exc
        except LedgerError as exc:
            raise CommandError(f"year: {exc.message}") from exc
        if result.already_closed:
            self.stdout.write(f"year {year} of {book.code} is already closed: nothing to do")
            return
        for rate in result.rates:
            self.stdout.write(rate.describe())
        for entry in result.entries:
            self.stdout.write(f"posted #{entry.sequence} {entry.date.isoformat()} {entry.memo}")
        self.stdout.write(f"closed year {year} of {book.code} ({len(result.entries)} entries)")
