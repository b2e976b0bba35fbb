"""What every command that reads or writes a book shares: ``--trust`` and ``--user`` (docs/formats.md).

A trust's book carries the trust's code, so the ledger resolves ``--trust`` without knowing what a trust is.
Exit status: 0 on success, 1 on refused input (``CommandError``), 2 on wrong usage (argparse).
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from ledger.models import Book
from ledger.services import system_user


class BookCommand(BaseCommand):
    book_optional = False

    def execute(self, *args, **options):
        """A refusal by authority (``--user`` lacks the permission in the trust) is refused input: exit 1."""
        try:
            return super().execute(*args, **options)
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from exc

    def add_arguments(self, parser):
        parser.add_argument("--trust", metavar="CODE", help="the trust's code; may be left out when there is one")
        parser.add_argument("--user", metavar="USERNAME", help="the acting user (default: system)")

    def resolve_book(self, code: str | None) -> Book | None:
        if code:
            book = Book.objects.filter(code=code).first()
            if book is None:
                raise CommandError(f"--trust: no trust with code {code!r}")
            return book
        books = list(Book.objects.order_by("code")[:2])
        if len(books) == 1:
            return books[0]
        if not books and self.book_optional:
            return None
        if self.book_optional:
            return None
        if not books:
            raise CommandError("--trust: the database holds no trust yet (create one with create_trust)")
        raise CommandError("--trust: the database holds several trusts; name one with --trust CODE")

    def resolve_user(self, username: str | None):
        if not username:
            return system_user()
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"--user: no user named {username!r}")
        return user
