import sys

from ledger.beancount import export_lines
from ledger.management.base import BookCommand


class Command(BookCommand):
    help = "Write the whole ledger in Beancount syntax (to --out, or standard output)."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--out", metavar="PATH")

    def handle(self, *args, **options):
        book = self.resolve_book(options["trust"])
        out = open(options["out"], "w", encoding="utf-8") if options["out"] else sys.stdout
        try:
            for line in export_lines(book):
                out.write(line + "\n")
        finally:
            if options["out"]:
                out.close()
