from django.core.management.base import CommandError

from ledger.management.base import BookCommand
from ledger.models import Book
from ledger.verification import verify_book


class Command(BookCommand):
    help = "Recompute the hash chain and every balance invariant; prints OK <count> <head hash> <trust code>."
    book_optional = True

    def handle(self, *args, **options):
        if options["trust"]:
            books = [self.resolve_book(options["trust"])]
        else:
            books = list(Book.objects.order_by("code"))
        if not books:
            self.stdout.write("OK 0 -")
            return
        failed = None
        for book in books:
            verdict = verify_book(book)
            self.stdout.write(verdict.line())
            if not verdict.ok and failed is None:
                failed = verdict
        if failed is not None:
            raise CommandError(f"ledger of trust {failed.book.code} fails verification: {failed.problem}")
