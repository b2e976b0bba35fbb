"""``import_csv beneficiaries`` (the sample year's 500 people) and ``import_csv disbursements`` (small files)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from beneficiaries.idnumber import check_char, make_id_number
from beneficiaries.importers import BeneficiaryImporter, DisbursementImporter
from beneficiaries.services.registry import age_on
from beneficiaries.models import (
    Beneficiary, Disbursement, DisbursementBatch, Household, PiiAccessLog, StockBalance,
)
from ledger.csvio import run_import
from ledger.models import JournalEntry
from ledger.selectors import fund_balance
from ledger.services import system_user
from ledger.verification import verify_book

from ..data import TRUST_2025
from .conftest import buy_packs, give

SAMPLE = TRUST_2025 / "beneficiaries.csv"
BEN_HEADER = "external_id,name,id_number,birth_date,gender,household_id,guardian_external_id,district,community,phone\n"
DS_HEADER = "external_id,date,beneficiary_external_id,program,fund_code,amount,quantity,batch,description\n"


def ben_import(aid, user, text, **kw):
    return run_import(BeneficiaryImporter(book=aid.book, user=user), text.encode(), **kw)


def ds_import(aid, user, text, draft=False, **kw):
    return run_import(DisbursementImporter(book=aid.book, user=user, draft=draft), text.encode(), **kw)


def person_row(ext, birth, seq, gender="F", household="HH-1", guardian="", phone=""):
    number = make_id_number("440105", birth, seq, gender)
    return f"{ext},名{ext},{number},{birth.isoformat()},{gender},{household},{guardian},海珠区,和平社区,{phone}\n"


def test_sample_beneficiaries_import_and_reimport(aid, officer):
    data = SAMPLE.read_bytes()
    result = run_import(BeneficiaryImporter(book=aid.book, user=officer), data)
    assert result.errors == [] and (result.rows, result.created) == (500, 500)
    assert Beneficiary.objects.filter(book=aid.book).count() == 500
    assert Household.objects.filter(book=aid.book).count() == 175
    assert not Household.objects.filter(book=aid.book, mother__isnull=True).exists()
    first = Beneficiary.objects.get(book=aid.book, external_id="BEN-0002")
    assert first.guardian.external_id == "BEN-0001" and first.household.mother.external_id == "BEN-0001"
    again = run_import(BeneficiaryImporter(book=aid.book, user=officer), data)
    assert again.errors == [] and (again.created, again.skipped) == (0, 500)


def test_guardian_later_in_the_file(aid, officer):
    text = BEN_HEADER + person_row("K1", dt.date(2015, 1, 1), 1, guardian="M1") + person_row("M1", dt.date(1985, 1, 1), 2)
    result = ben_import(aid, officer, text)
    assert result.errors == [] and result.created == 2
    assert Beneficiary.objects.get(external_id="K1").guardian.external_id == "M1"


def test_every_bad_row_is_reported_and_nothing_written(aid, officer, mother):
    good = make_id_number("440105", dt.date(1980, 1, 1), 1, "F")
    bad_check = good[:17] + ("0" if good[17] != "0" else "1")
    impossible = "44010519800231216"
    impossible += check_char(impossible)
    text = BEN_HEADER + "".join([
        person_row("A1", dt.date(1980, 2, 2), 3),
        f"A2,x,{bad_check},1980-01-01,F,,,,,\n",
        f"A3,x,{impossible},1980-01-01,F,,,,,\n",
        f"A4,x,{good},1980-01-02,F,,,,,\n",
        f"A5,x,{good},1980-01-01,M,,,,,\n",
        f"A6,x,{good[:17]},1980-01-01,F,,,,,\n",
        person_row("A7", dt.date(2015, 1, 1), 4),                 # a minor without a guardian
        f"A8,x,{mother.id_number},{mother.birth_date},F,,,,,\n",  # already registered
    ])
    result = ben_import(aid, officer, text)
    got = [str(e) for e in result.errors]
    assert got == [
        "row 3, column id_number: identity number check digit is 0, but ISO 7064 MOD 11-2 gives "
        f"{good[17]}".replace(f"is 0, but", f"is {bad_check[17]}, but"),
        "row 4, column id_number: identity number holds birth date 19800231, which is not a real date",
        "row 5, column birth_date: birth date 1980-01-02 does not match the birth date in the identity number "
        "(1980-01-01)",
        "row 6, column gender: gender M does not agree with the identity number's sex digit (which says female)",
        "row 7, column id_number: identity number has 17 characters; a resident identity number has 18",
        f"row 8, column guardian_external_id: a minor (aged {age_on(dt.date(2015, 1, 1), timezone.localdate())}) "
        "needs a guardian",
        "row 9, column id_number: this identity number is already registered in this trust",
    ]
    assert Beneficiary.objects.count() == 1
    assert PiiAccessLog.objects.get().beneficiary == mother  # the lookup that matched her


@pytest.mark.parametrize("dry_run", [True, False])
def test_a_duplicate_is_named_only_to_a_pii_holder_and_always_logged(aid, officer, mother, pii_viewer, dry_run):
    text = BEN_HEADER + f"A8,x,{mother.id_number},{mother.birth_date},F,,,,,\n"
    for user, said in ((officer, "already registered in this trust"),
                       (pii_viewer, "already registered as beneficiary BEN-1")):
        result = ben_import(aid, user, text, dry_run=dry_run)
        assert [str(e) for e in result.errors] == [f"row 2, column id_number: this identity number is {said}"]
        assert PiiAccessLog.objects.filter(user=user, beneficiary=mother, purpose="import beneficiaries").count() == 1
    assert Beneficiary.objects.count() == 1


def test_same_external_id_with_other_content_is_an_error(aid, officer):
    row = person_row("A1", dt.date(1980, 2, 2), 3)
    assert ben_import(aid, officer, BEN_HEADER + row).created == 1
    changed = row.replace("和平社区", "阳光社区")
    result = ben_import(aid, officer, BEN_HEADER + changed)
    assert [str(e) for e in result.errors] == [
        "row 2, column external_id: beneficiary A1 was already imported with different content"
    ]


@pytest.fixture
def stocked(aid, officer):
    give(aid, aid.study, "3000", officer)
    give(aid, aid.smile, "5000", officer)
    buy_packs(aid, aid.smile, 10, "2000", officer)
    return aid


def test_disbursements_post_per_batch_and_skip_on_reimport(stocked, officer, mother, child):
    aid = stocked
    text = DS_HEADER + (
        "DS-1,2026-08-26,BEN-2,study_grant,STUDY,1000,,2026-08-26-study-day,助学金\n"
        "DS-2,2026-08-26,BEN-1,study_grant,STUDY,1500.00,,2026-08-26-study-day,助学金\n"
        "SP-1,2026-06-01,BEN-1,smile_pack,SMILE,,2,,微笑礼包\n"
        "SP-2,2026-06-01,BEN-2,smile_pack,SMILE,200.00,1,,微笑礼包\n"
    )
    result = ds_import(aid, system_user(), text)
    assert result.errors == [] and result.created == 4
    batch = DisbursementBatch.objects.get(code="2026-08-26-study-day")
    operator = system_user()
    assert (batch.status, batch.created_by, batch.approved_by, batch.approved_outside) == (
        "posted", operator, operator, True
    )
    amounts = dict(Disbursement.objects.values_list("external_id", "amount"))
    assert amounts == {"DS-1": Decimal("1000.00"), "DS-2": Decimal("1500.00"), "SP-1": Decimal("400.00"),
                       "SP-2": Decimal("200.00")}
    assert set(Disbursement.objects.values_list("status", flat=True)) == {"paid", "delivered"}
    assert fund_balance(aid.study) == Decimal("500.00")
    assert StockBalance.objects.get(item=aid.item, fund=aid.smile).quantity == 7
    again = ds_import(aid, system_user(), text)
    assert again.errors == [] and (again.created, again.skipped) == (0, 4)
    assert verify_book(aid.book).ok


def test_one_bad_row_rejects_the_file(stocked, officer, mother, child):
    aid = stocked
    entries = JournalEntry.objects.count()
    tomorrow = timezone.localdate() + dt.timedelta(days=1)  # from today, so that the test never expires
    text = DS_HEADER + (
        "DS-1,2026-08-26,BEN-2,study_grant,STUDY,1000,,day,\n"
        "DS-2,2026-08-26,BEN-1,study_grant,STUDY,2500,,day,\n"      # the fund holds 3,000: 500 short
        "DS-3,2026-08-26,BEN-1,study_grant,SMILE,100,,day,\n"       # wrong fund
        "SP-1,2026-06-01,BEN-1,smile_pack,SMILE,150,1,,\n"          # not the average cost
        "SP-2,2026-06-01,BEN-2,smile_pack,SMILE,,11,,\n"            # more than in stock
        "SP-3,2026-06-01,BEN-9,smile_pack,SMILE,,1,,\n"             # nobody
        f"DS-4,{tomorrow.isoformat()},BEN-2,study_grant,STUDY,,,day,\n"  # future and no amount
    )
    result = ds_import(aid, system_user(), text)
    assert [str(e) for e in result.errors] == [
        "row 3, column amount: fund STUDY has 2000.00 CNY left at this point; this row needs 2500.00 CNY",
        "row 4, column fund_code: fund SMILE is restricted to smile_pack; it cannot pay for program study_grant "
        "(use the program's restricted fund or an unrestricted fund)",
        "row 5, column amount: amount 150.00 does not equal 1 x the weighted-average cost (200.00)",
        "row 6, column quantity: fund SMILE holds 10 of smile_pack at this point; 11 cannot be handed out",
        "row 7, column beneficiary_external_id: beneficiary BEN-9 is not registered",
        "row 8, column amount: is required for program study_grant (cash)",
        f"row 8, column date: {tomorrow.isoformat()} is after today",
    ]
    assert JournalEntry.objects.count() == entries and not Disbursement.objects.exists()


def test_a_refusal_only_the_ledger_finds_still_rolls_back_everything(stocked, officer, mother, child, monkeypatch):
    """Belt and braces: if posting fails after the check passed, the file is still all or nothing."""
    aid = stocked
    monkeypatch.setattr(DisbursementImporter, "_simulate", lambda self: [])
    text = DS_HEADER + (
        "DS-1,2026-08-26,BEN-2,study_grant,STUDY,2000,,day,\n"
        "DS-2,2026-08-26,BEN-1,study_grant,STUDY,2000,,day,\n"
    )
    result = ds_import(aid, system_user(), text)
    [error] = result.errors
    assert str(error) == (
        "row 3, column fund_code: batch day: nothing was posted: disbursement DS-2: fund STUDY has 1000.00 CNY; "
        "this entry needs 2000.00 CNY"
    )
    assert not Disbursement.objects.exists() and fund_balance(aid.study) == Decimal("3000.00")


def test_draft_import_waits_for_another_users_approval(stocked, officer, approver, mother, child):
    from beneficiaries.errors import FourEyesViolation
    from beneficiaries.services import batch_approve, batch_post

    aid = stocked
    text = DS_HEADER + "DS-1,2026-08-26,BEN-2,study_grant,STUDY,1000,,day,\nDS-2,2026-08-26,BEN-1,study_grant,STUDY,1000,,day,\n"
    result = ds_import(aid, officer, text, draft=True)
    assert result.errors == [] and result.created == 2
    batch = DisbursementBatch.objects.get(code="day")
    assert batch.status == "draft" and fund_balance(aid.study) == Decimal("3000.00")
    with pytest.raises(PermissionDenied, match="officer may not approve disbursements"):
        batch_approve(batch=batch, user=officer)
    batch_approve(batch=batch, user=approver)
    batch_post(batch=batch, user=approver)
    assert fund_balance(aid.study) == Decimal("1000.00")


def test_import_csv_command(stocked, officer, mother, child, tmp_path, capsys):
    path = tmp_path / "disbursements.csv"
    path.write_text(DS_HEADER + "DS-1,2026-08-26,BEN-2,study_grant,STUDY,1000,,day,\n", encoding="utf-8")
    with pytest.raises(CommandError, match="officer may not approve disbursements"):  # aid given: the operator's
        call_command("import_csv", "disbursements", str(path), "--user", "officer")
    assert not Disbursement.objects.exists()
    call_command("import_csv", "disbursements", str(path))  # as the operator at the shell (system)
    assert "imported 1 disbursements row(s)" in capsys.readouterr().out
    from charity.models import AuditEvent

    event = AuditEvent.objects.get(channel="command")  # who ran it: the acting user and the shell's login
    assert (event.username, event.action, event.detail["created"]) == (
        "system", "import_csv disbursements disbursements.csv", 1)
    assert event.detail["os_user"] and len(event.detail["sha256"]) == 64 and event.trust.book == stocked.book
    bad = tmp_path / "bad.csv"
    bad.write_text(DS_HEADER + "DS-2,2026-08-26,BEN-2,study_grant,STUDY,9000,,day2,\n", encoding="utf-8")
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_csv", "disbursements", str(bad), "--user", "officer")
