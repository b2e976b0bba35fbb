from django.core.management.base import BaseCommand, CommandError

from charity.errors import CharityError
from charity.services import trust_create
from ledger.services import system_user
from ledger.errors import LedgerError


class Command(BaseCommand):
    help = "Create a trust with its books, default chart of accounts, default programs and the GEN fund."

    def add_arguments(self, parser):
        parser.add_argument("code")
        parser.add_argument("--name", required=True)
        parser.add_argument("--name-en", default="")
        parser.add_argument("--settlor", default="", help="who set the trust up (委托人)")
        parser.add_argument("--trustee", default="")
        parser.add_argument("--co-trustee", default="",
                            help="the charitable co-trustee that issues official donation receipts")
        parser.add_argument("--supervisor", default="")
        parser.add_argument("--filing-number", default="")

    def handle(self, *args, **options):
        try:
            trust = trust_create(
                code=options["code"], name=options["name"], name_en=options["name_en"], trustee=options["trustee"],
                supervisor=options["supervisor"], filing_number=options["filing_number"], user=system_user(),
                co_trustee=options["co_trustee"], settlor=options["settlor"],
            )
        except (CharityError, LedgerError) as exc:
            raise CommandError(f"{exc.field or 'input'}: {exc.message}") from exc
        self.stdout.write(f"created trust {trust.code} ({trust.name}) with {trust.book.accounts.count()} accounts")
