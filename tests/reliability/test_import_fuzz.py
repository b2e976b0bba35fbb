"""hypothesis fuzzing of ``import_csv``: random kinds, headers (known, unknown, repeated, missing), encodings
(UTF-8 with and without BOM, GBK, UTF-16, Latin-1, raw bytes) and cells (plausible values, hostile text,
formulas, control characters, very long cells).

It proves: ``run_import`` never lets an exception escape (the command would print a traceback); a rejected file
lists its problems each with a row number and a column; and a rejected file writes nothing at all. Files that
happen to be valid may import; that is fine. ``IMPORT_FUZZ_EXAMPLES`` sets the number of files (60 in
``make test``; ``make fuzz-import`` runs 600, ``-m slow``).
"""

from __future__ import annotations
from ledger.services import system_user
from tests.conftest import grant

import csv
import datetime as dt
import io
import os
import re
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from beneficiaries.idnumber import make_id_number
from beneficiaries.models import Beneficiary, Disbursement, DisbursementBatch, Household
from beneficiaries.services import beneficiary_register
from charity.importers import KINDS, importer_class
from charity.models import Donation, Donor, Expense, Receipt, Refund
from charity.services import donation_record, donor_create, trust_create
from ledger import services as ledger
from ledger.csvio import run_import
from ledger.models import Fund, JournalEntry, Leg

COUNTED = (JournalEntry, Leg, Fund, Donor, Donation, Receipt, Refund, Expense, Beneficiary, Household, Disbursement,
           DisbursementBatch)
MESSAGE = re.compile(r"^row \d+, column .+: .+", re.S)

plausible = st.sampled_from([
    "", "F-1", "D-1", "DN-1", "B-1", "GEN", "STUDY", "study_grant", "smile_pack", "restricted", "unrestricted",
    "endowment", "individual", "organisation", "bank", "wechat", "cash", "in_kind", "admin", "inventory_purchase",
    "2026-03-02", "2026-02-30", "2099-01-01", "26/03/2026", "100", "100.5", "100.555", "-5", "0", "1e3", "1,200",
    "CNY", "USD", "XXX", "0.9", "true", "false", "yes", "F", "M", "13812345678",
    make_id_number("320582", dt.date(1990, 5, 17), 7, "F"), "1990-05-17", "books", "3",
])
hostile = st.sampled_from([
    "=HYPERLINK(\"http://x\")", "+1+1", "@SUM(A1)", "<script>alert(1)</script>", "'; DROP TABLE ledger_leg; --",
    "\u202eevil\u202c", "a\u200bb", "😀👩‍👧", "\x00", "\x07bell", "line\nbreak", "\"quoted\"", "x" * 25000,
])
cell = st.one_of(plausible, hostile, st.text(max_size=40))


@st.composite
def csv_file(draw):
    kind = draw(st.sampled_from(KINDS))
    importer = importer_class(kind)
    known = list(importer.required + importer.optional)
    header = draw(st.lists(st.sampled_from(known), min_size=0, max_size=len(known), unique=True))
    if draw(st.booleans()):
        header = [c for c in importer.required if c not in header] + header  # often a complete header
    header += draw(st.lists(st.sampled_from(["", "unknown", "Amount ", known[0]] if known else [""]), max_size=2))
    header = draw(st.permutations(header))
    rows = draw(st.lists(st.lists(cell, min_size=len(header), max_size=len(header) + draw(st.integers(0, 1))),
                         max_size=6))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow(header)
    writer.writerows(rows)
    text = buffer.getvalue()
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gbk", "utf-16", "latin-1", "raw"]))
    if encoding == "raw":
        data = draw(st.binary(max_size=200))
    else:
        data = text.encode(encoding, errors="ignore")
    return kind, data


def _counts() -> tuple:
    return tuple(model.objects.count() for model in COUNTED)


@pytest.fixture
def world(db, django_user_model):
    officer = django_user_model.objects.create_user("fuzz-officer")
    trust = trust_create(user=system_user(), code="FZ", name="模糊测试信托")
    grant(officer, "finance_officer", trust)
    study = ledger.fund_create(user=system_user(), book=trust.book, code="STUDY", name="助学金", restriction="restricted",
                               purpose="study_grant")
    donor = donor_create(by=system_user(), trust=trust, kind="individual", name="甲", external_id="D-1")
    donation_record(trust=trust, external_id="DN-1", date=dt.date(2026, 3, 2), amount=Decimal("500"), fund=study,
                    channel="bank", user=officer, donor=donor)
    beneficiary_register(book=trust.book, external_id="B-1", name="母亲", birth_date=dt.date(1990, 5, 17),
                         gender="F", id_number=make_id_number("320582", dt.date(1990, 5, 17), 7, "F"), user=officer)
    return trust, officer


def _fuzz(world, examples: int) -> None:
    trust, officer = world
    seen = {"rejected": 0, "accepted": 0}

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(sample=csv_file())
    def run(sample):
        kind, data = sample
        before = _counts()
        importer = importer_class(kind)(book=trust.book, user=officer, draft=False)
        result = run_import(importer, data)  # must not raise
        if result.errors:
            seen["rejected"] += 1
            assert _counts() == before, f"a rejected {kind} file wrote something"
            for error in result.errors:
                assert isinstance(error.row, int) and error.row >= 0
                assert error.column and error.message
                assert MESSAGE.match(str(error)), str(error)
        else:
            seen["accepted"] += 1

    run()
    assert seen["rejected"] > examples // 2


def test_import_fuzz_short(world):
    _fuzz(world, int(os.environ.get("IMPORT_FUZZ_EXAMPLES", 60)))


@pytest.mark.slow
def test_import_fuzz_long(world):
    _fuzz(world, int(os.environ.get("IMPORT_FUZZ_EXAMPLES", 600)))
