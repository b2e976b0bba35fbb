import getpass
import hashlib
from pathlib import Path

from django.core.management.base import CommandError

from charity.audit import audit
from charity.importers import KINDS, importer_class
from charity.retry import command_call
from charity.models import Trust
from ledger.csvio import run_import
from ledger.management.base import BookCommand


def _login() -> str:
    """The shell's login name; empty where the process has none (a container's uid with no passwd entry)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


class Command(BookCommand):
    help = "Import one CSV file, all or nothing (docs/formats.md). KIND: " + ", ".join(KINDS)

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=KINDS)
        parser.add_argument("file")
        parser.add_argument("--dry-run", action="store_true", help="check and roll back; nothing is written")
        parser.add_argument("--draft", action="store_true", help="disbursements: make draft batches for approval")
        parser.add_argument("--no-email", action="store_true",
                            help="donations: queue no receipt e-mails (otherwise the worker, send_mail_queue, "
                                 "sends them)")
        super().add_arguments(parser)

    def handle(self, *args, **options):
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"{path}: cannot be read ({exc.strerror})") from exc
        book = self.resolve_book(options["trust"])
        user = self.resolve_user(options["user"])

        def attempt():  # a fresh importer each time: what a lost attempt looked up was rolled back with it
            importer = importer_class(options["kind"])(book=book, user=user, draft=options["draft"])
            if options["no_email"]:
                importer.notify = "off"
            return run_import(importer, data, dry_run=options["dry_run"])

        result = command_call(attempt)
        if result.errors:
            for error in result.errors:
                self.stderr.write(f"{path.name}: {error}")
            if result.more_errors:
                self.stderr.write(f"{path.name}: {result.more_errors_line}")
            raise CommandError(
                f"{path.name}: {result.error_count} problem(s) in {result.rows} row(s); nothing was imported"
            )
        if not result.dry_run:
            # Who ran it: the acting user (--user, or the operator's `system`) and the shell's own login.
            audit(user=user, action=f"import_csv {options['kind']} {path.name}"[:200], channel="command",
                  trust=Trust.objects.filter(book=book).first(),
                  detail={"os_user": _login(), "sha256": hashlib.sha256(data).hexdigest(),
                          "created": result.created, "skipped": result.skipped, "draft": options["draft"],
                          "email": not options["no_email"]})
        verb = "would import" if result.dry_run else "imported"
        self.stdout.write(
            f"{path.name}: {verb} {result.created} {options['kind']} row(s), skipped {result.skipped} already "
            f"imported, of {result.rows}"
        )
        for note in result.notes:
            self.stdout.write(note)
