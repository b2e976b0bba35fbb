"""``import_statement ACCOUNT_CODE FILE [--format NAME] [--dry-run]``: a bank or platform statement (issue 20).

All or nothing: any bad row rejects the whole file, listing every problem as ``row N, column C: message`` (exit
1); lines already imported are skipped. Exit 2 on wrong usage (an unknown format). Then ``--match`` matches the
account's unmatched lines to its legs automatically.
"""

from pathlib import Path

from django.core.management.base import CommandError

from charity.errors import CharityError
from charity.models import Trust
from charity.retry import command_call
from charity.services import statement_import, statement_match_auto
from charity.statement_formats import LAYOUTS
from ledger.management.base import BookCommand
from ledger.models import Account


class Command(BookCommand):
    help = ("Import a bank or payment-platform statement for a money account, all or nothing (docs/formats.md). "
            "Formats: " + "; ".join(f"{name}: {layout.description}" for name, layout in LAYOUTS.items()))

    def add_arguments(self, parser):
        parser.add_argument("account", metavar="ACCOUNT_CODE", help="the money account (e.g. 100201, 100901)")
        parser.add_argument("file")
        parser.add_argument("--format", choices=list(LAYOUTS), default="generic",
                            help="the statement's layout (default: generic): " + ", ".join(LAYOUTS))
        parser.add_argument("--dry-run", action="store_true", help="check and roll back; nothing is written")
        parser.add_argument("--match", action="store_true",
                            help="then match the account's unmatched lines to its legs automatically")
        super().add_arguments(parser)

    def handle(self, *args, **options):
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"{path}: cannot be read ({exc.strerror})") from exc
        book = self.resolve_book(options["trust"])
        user = self.resolve_user(options["user"])
        trust = Trust.objects.get(book=book)
        account = Account.objects.filter(book=book, code=options["account"]).first()
        if account is None:
            raise CommandError(f"ACCOUNT_CODE: no account {options['account']!r} in trust {trust.code}")
        try:
            result = command_call(statement_import, trust=trust, account=account, data=data, fmt=options["format"],
                                  user=user, dry_run=options["dry_run"])
        except CharityError as exc:
            raise CommandError(f"{path.name}: {exc.message}") from exc
        if result.errors:
            for error in result.errors[:100]:
                self.stderr.write(f"{path.name}: {error}")
            if len(result.errors) > 100:
                self.stderr.write(f"{path.name}: ... and {len(result.errors) - 100:,} more errors")
            raise CommandError(f"{path.name}: {len(result.errors)} problem(s) in {result.rows} line(s); nothing was "
                               f"imported")
        verb = "would import" if result.dry_run else "imported"
        self.stdout.write(f"{path.name}: {verb} {result.created} statement line(s) for {account.code}, skipped "
                          f"{result.skipped} already imported, of {result.rows}")
        if options["match"] and not result.dry_run:
            made = command_call(statement_match_auto, account=account, user=user)
            self.stdout.write(f"{account.code}: matched {made} line(s)")
