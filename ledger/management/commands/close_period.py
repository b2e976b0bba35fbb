from django.core.management.base import CommandError

from ledger.errors import LedgerError
from ledger.management.base import BookCommand
from ledger.services import period_close


class Command(BookCommand):
    help = "Close a month (YYYY-MM): no entry dated in it or before it can be posted afterwards."

    def add_arguments(self, parser):
        parser.add_argument("month", metavar="YYYY-MM")
        super().add_arguments(parser)

    def handle(self, *args, **options):
        book = self.resolve_book(options["trust"])
        user = self.resolve_user(options["user"])
        try:
            period = period_close(book=book, month=options["month"], user=user)
        except LedgerError as exc:
            raise CommandError(f"month: {exc.message}") from exc
        self.stdout.write(f"closed {book.code} through {book.closed_through.isoformat()} ({period.month:%Y-%m})")
