"""``seed_demo``: a realistic, deterministic year of the demo trust (docs/formats.md).

The year is generated as the CSV kinds (``charity.demo``: the seven of the year and the platforms' weekly
``settlements``) and loaded through the same importers as ``import_csv``, in dependency order; then one receipt is
voided, months are closed up to the last full one, one user per role is made, and the bank's and the platforms'
statements for the year are written, imported and matched (``charity.demo_statements``). ``--export DIR`` writes
the CSV files (and, when loading, the three statements) instead of (or as well as) loading them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import secrets
import time
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from charity import roles
from charity.demo import DEMO_SPENDING_POLICY, demo_year
from charity.importers import KINDS, importer_class
from charity.models import Membership, Trust
from charity.roles import ROLE_PERMISSIONS
from charity.services import spending_policy_set, trust_create
from ledger.csvio import run_import
from ledger.models import JournalEntry
from ledger.services import period_close, system_user
from ledger.verification import verify_book

DEMO_TRUST = {  # as the seed has it: set up by the Suzhou High-tech District women's federation (the settlor) with
    # the China Women's Development Foundation as the charitable co-trustee, filed with the Suzhou civil-affairs bureau
    "code": "CWCT",
    "name": "苏州高新区关爱妇女儿童慈善信托",
    "name_en": "Suzhou High-tech District Caring for Women and Children Charity Trust",
    "settlor": "苏州高新区妇女联合会",
    "trustee": "苏州信托有限公司（示例）",
    "co_trustee": "中国妇女发展基金会",
    "supervisor": "苏州高新区律师事务所（示例）",
    "filing_number": "苏州市民政局 苏民慈信备〔2026〕001号（示例）",
}
DEMO_USERS = [  # username, role in the demo trust, is_staff (the admin is for administrators only)
    ("officer", roles.OFFICER, False),
    ("approver", roles.APPROVER, False),
    ("auditor", roles.AUDITOR, False),
    ("donor", roles.DONOR, False),
]


def rows_to_csv(rows: list[dict]) -> bytes:
    if not rows:
        return b""
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


class Command(BaseCommand):
    help = "Fill the database with a realistic, deterministic year of the demo trust."

    def add_arguments(self, parser):
        parser.add_argument("--beneficiaries", type=int, default=500)
        parser.add_argument("--donations", type=int, default=3000)
        parser.add_argument("--year", type=int, default=None, help="default: the current year, up to today")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--reset", action="store_true", help="empty the database first")
        parser.add_argument("--export", metavar="DIR", help="also write the year as CSV files into DIR")
        parser.add_argument("--no-load", action="store_true", help="with --export: only write the files")
        parser.add_argument("--no-progress", action="store_true")
        parser.add_argument("--passwords", choices=["random", "username"], default="random",
                            help="demo users' passwords: random (printed once) or equal to the username")

    def handle(self, *args, **options):
        started = time.monotonic()
        today = timezone.localdate()
        year = options["year"] or today.year
        if year > today.year:
            raise CommandError(f"--year: {year} is in the future")
        if options["beneficiaries"] < 1 or options["donations"] < 10:
            raise CommandError("--beneficiaries must be at least 1 and --donations at least 10")
        data = demo_year(year=year, today=today, beneficiaries=options["beneficiaries"],
                         donations=options["donations"], seed=options["seed"])
        if options["export"]:
            folder = Path(options["export"])
            folder.mkdir(parents=True, exist_ok=True)
            for kind in (k for k in KINDS if k in data):
                (folder / f"{kind}.csv").write_bytes(rows_to_csv(data[kind]))
            self.stdout.write(f"wrote the CSV files to {folder}")
            if options["no_load"]:
                return
        if JournalEntry.objects.exists() or Trust.objects.exists():
            if not options["reset"]:
                raise CommandError("the database is not empty; use --reset to start over (everything is deleted)")
            call_command("flush", interactive=False, verbosity=0)
        trust = trust_create(**DEMO_TRUST, user=system_user())
        spending_policy_set(trust=trust, **DEMO_SPENDING_POLICY, user=system_user())
        officer = self._users(options["passwords"], trust)
        period_close(book=trust.book, month=f"{year - 1}-12", user=system_user())
        for kind in KINDS:
            rows = data.get(kind)
            if not rows:
                continue
            # Aid already given is recorded by the operator at the shell (the system user), as the import
            # command does without --user; everything else by the demo officer.
            actor = system_user() if kind == "disbursements" else officer
            importer = importer_class(kind)(book=trust.book, user=actor, draft=False)
            importer.notify = "off"  # a seeded past year e-mails nobody
            bar = tqdm(total=len(rows), desc=f"{kind:>13}", unit="row", disable=options["no_progress"],
                       leave=False, mininterval=0.5)
            result = run_import(importer, rows_to_csv(rows), progress=bar.update)
            bar.close()
            if result.errors:
                raise CommandError(f"{kind}: " + "; ".join(str(e) for e in result.errors[:5]))
            self.stdout.write(f"{kind:>13}: {result.created} imported")
        self._finish_year(trust, year, today)
        from charity import demo_statements

        end = min(dt.date(year, 12, 31), today)
        demo_statements.load(trust=trust, user=officer, end=end, stdout=self.stdout,
                             export=Path(options["export"]) if options["export"] else None)
        verdict = verify_book(trust.book)
        self.stdout.write(f"done in {time.monotonic() - started:.1f} s")
        self.stdout.write(verdict.line())

    def _users(self, passwords: str, trust):
        users = get_user_model().objects
        officer = None
        lines = []
        for username, role, staff in DEMO_USERS:
            password = username + "-demo" if passwords == "username" else secrets.token_urlsafe(9)
            user, created = users.get_or_create(username=username, defaults={"is_staff": staff})
            if created or passwords == "username":
                user.set_password(password)
                user.save()
                lines.append(f"  {username:<10} {role:<16} {password}")
            user.groups.clear()
            if role in ROLE_PERMISSIONS:
                Membership.objects.get_or_create(user=user, trust=trust, role=role)
            if username == "officer":
                officer = user
        if lines:
            self.stdout.write("demo users (passwords are shown once):")
            for line in lines:
                self.stdout.write(line)
        return officer

    def _finish_year(self, trust, year: int, today: dt.date) -> None:
        """Hooks that need the other parts of the system: a voided receipt, the donor's account, closed months."""
        from charity import demo_finish

        demo_finish.finish(trust=trust, year=year, today=today, stdout=self.stdout)
        last_full = (today.replace(day=1) - dt.timedelta(days=1)) if year == today.year else dt.date(year, 12, 31)
        with transaction.atomic():
            period_close(book=trust.book, month=f"{last_full:%Y-%m}", user=system_user())
        self.stdout.write(f"closed through {last_full:%Y-%m}")
