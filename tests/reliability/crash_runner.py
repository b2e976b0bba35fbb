"""A test-only wrapper that the crash test runs as a child process (and kills with SIGKILL).

    python tests/reliability/crash_runner.py setup DIR          a trust, a funded study fund, 40 mothers, and
                                                                DIR/big.csv (disbursements in one batch) plus a
                                                                draft batch BATCH-B approved by another user
    python tests/reliability/crash_runner.py import KIND FILE   what ``manage.py import_csv KIND FILE`` does
    python tests/reliability/crash_runner.py batch-post CODE    ``batch_post`` of an approved batch
    python tests/reliability/crash_runner.py state              the books' counts and verify_ledger's line, as JSON

The database is the one DATABASE_URL names. The hook: with CRASH_AFTER=N and CRASH_MARKER=PATH, the process
writes PATH after its N-th posted entry and then sleeps, mid-transaction, until it is killed. It wraps
``PostingBatch.post_prepared`` from outside; production code has no test hook.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ROWS = 60
GRANT = 100


def _django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "charity.settings")
    import django

    django.setup()


def _hook() -> None:
    after = int(os.environ.get("CRASH_AFTER") or 0)
    if not after:
        return
    marker = Path(os.environ["CRASH_MARKER"])
    from ledger.services.batch import PostingBatch

    original = PostingBatch.post_prepared
    posted = 0

    def post_prepared(self, prepared):
        nonlocal posted
        entry = original(self, prepared)
        posted += 1
        if posted == after:
            marker.write_text(str(posted))
            time.sleep(600)  # halfway through, inside the open transaction: wait for SIGKILL
        return entry

    PostingBatch.post_prepared = post_prepared


def setup(directory: str) -> None:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from beneficiaries.idnumber import make_id_number
    from beneficiaries.models import Program
    from beneficiaries.services import (
        batch_approve, batch_create, beneficiary_register, disbursement_draft, household_get_or_create,
    )
    from charity import roles
    from charity.models import Membership
    from charity.services import donation_record, trust_create
    from ledger import services as ledger
    from ledger.services import system_user

    call_command("migrate", verbosity=0)
    users = get_user_model().objects
    officer, approver = users.create_user("crash-officer"), users.create_user("crash-approver")
    trust = trust_create(user=system_user(), code="CRASH", name="崩溃测试信托")
    Membership.objects.create(user=officer, trust=trust, role=roles.OFFICER)
    Membership.objects.create(user=approver, trust=trust, role=roles.APPROVER)
    book = trust.book
    study = ledger.fund_create(user=system_user(), book=book, code="STUDY", name="助学金专项资金", restriction="restricted",
                               purpose="study_grant")
    donation_record(trust=trust, external_id="GIFT-1", date=dt.date(2026, 1, 5), amount=ROWS * GRANT * 3,
                    fund=study, channel="bank", user=officer)
    people = []
    for i in range(40):
        birth = dt.date(1980 + i % 15, 1 + i % 12, 1 + i % 27)
        people.append(beneficiary_register(
            book=book, external_id=f"M-{i:02d}", name=f"母亲{i}", birth_date=birth, gender="F",
            id_number=make_id_number("320582", birth, 10 + i, "F"), user=officer,
            household=household_get_or_create(user=system_user(), book=book, external_id=f"HH-{i}"),
        ))
    lines = ["external_id,date,beneficiary_external_id,program,fund_code,amount,batch"]
    lines += [f"DA-{n:04d},2026-03-{1 + n % 28:02d},M-{n % 40:02d},study_grant,STUDY,{GRANT},BATCH-A"
              for n in range(ROWS)]
    Path(directory, "big.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    program = Program.objects.get(book=book, code="study_grant")
    batch = batch_create(book=book, code="BATCH-B", user=officer)
    for n in range(ROWS):
        disbursement_draft(book=book, external_id=f"DB-{n:04d}", beneficiary=people[n % 40], program=program,
                           fund=study, date=dt.date(2026, 4, 1 + n % 28), amount=GRANT, user=officer, batch=batch)
    batch_approve(batch=batch, user=approver)


def state() -> dict:
    from django.db.models import Count

    from beneficiaries.models import Disbursement, DisbursementBatch
    from ledger.models import Book, Fund, JournalEntry
    from ledger.verification import verify_book

    book = Book.objects.get(code="CRASH")
    return {
        "entries": JournalEntry.objects.filter(book=book).count(),
        "disbursements": {
            f"{row['batch__code']}:{row['status']}": row["n"]
            for row in Disbursement.objects.filter(book=book).values("batch__code", "status").annotate(n=Count("pk"))
        },
        "batches": dict(DisbursementBatch.objects.filter(book=book).values_list("code", "status")),
        "study": Fund.objects.get(book=book, code="STUDY").net_assets,
        "verify": verify_book(book).line(),
    }


def main(argv: list[str]) -> int:
    _django()
    command = argv[0]
    if command == "setup":
        setup(argv[1])
        return 0
    if command == "state":
        print(json.dumps(state()))
        return 0
    _hook()
    if command == "import":
        from django.core.management import call_command

        call_command("import_csv", argv[1], argv[2])  # aid already given: the operator at the shell records it
        return 0
    if command == "batch-post":
        from django.contrib.auth import get_user_model

        from beneficiaries.errors import AidError
        from beneficiaries.models import DisbursementBatch
        from beneficiaries.services import batch_post

        batch = DisbursementBatch.objects.get(code=argv[1])
        try:
            batch_post(batch=batch, user=get_user_model().objects.get(username="crash-approver"))
        except AidError as exc:
            print(f"refused: {exc.code}: {exc.message}", file=sys.stderr)
            return 1
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
