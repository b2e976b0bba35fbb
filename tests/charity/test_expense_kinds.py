"""The expense kinds beyond management, fundraising and bank fees (issue 18): a program's delivery costs
(``program_cost``, posted to the program's 业务活动成本 account and payable by that program's restricted fund) and
the trust's fees to its trustee, custodian and supervisor (管理费用 明细, unrestricted fund only). Every door: the
service, the approval threshold, the CSV import, the API, the office page; and who may not use them."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from rest_framework.test import APIClient

from charity import chart, errors, roles
from charity.models import Expense, ExpenseRequest
from charity.services import (donation_record, expense_record, expense_request_approve, expense_request_draft,
                              trust_create, trust_set_expense_threshold)
from ledger.errors import LedgerError
from ledger.models import JournalEntry
from ledger.services import period_close, system_user
from tests.conftest import grant

from .conftest import D
from .test_import import DONATIONS, DONORS, load, messages

pytestmark = pytest.mark.django_db


@pytest.fixture
def funded(trust, funds, officer):
    """GEN 10,000.00, SMILE 3,000.00 and STUDY 2,000.00, all by bank transfer on D."""
    for fund, amount in (("GEN", "10000.00"), ("SMILE", "3000.00"), ("STUDY", "2000.00")):
        donation_record(trust=trust, external_id=f"DN-{fund}", date=D, amount=Decimal(amount), fund=funds[fund],
                        channel="bank", user=officer)
    return funds


def pay(trust, funds, user, n="EX-1", **kw):
    args = dict(trust=trust, external_id=n, date=D, kind="trustee_fee", fund=funds["GEN"],
                amount=Decimal("100.00"), user=user)
    args.update(kw)
    if isinstance(args["fund"], str):
        args["fund"] = funds[args["fund"]]
    expense, _created = expense_record(**args)
    return expense


@pytest.mark.parametrize("kind, code", [("trustee_fee", chart.TRUSTEE_FEE), ("custodian_fee", chart.CUSTODIAN_FEE),
                                        ("supervisor_fee", chart.SUPERVISOR_FEE)])
def test_the_trusts_fees_post_to_their_management_accounts(trust, funded, officer, books, kind, code):
    """GEN holds 10,000.00; a fee of 2,345.67: Dr fee account 2,345.67 / Cr bank 2,345.67 in GEN, so the bank
    in GEN is 10,000.00 - 2,345.67 = 7,654.33 and so are GEN's net assets; nothing else moves."""
    expense = pay(trust, funded, officer, kind=kind, amount=Decimal("2345.67"), payee="受托人")
    assert books.balance(code, "GEN") == Decimal("2345.67")
    assert books.balance(chart.MANAGEMENT, "GEN") == Decimal("0")
    assert books.balance(chart.BANK, "GEN") == Decimal("7654.33")
    assert books.fund("GEN") == Decimal("7654.33")
    assert chart.line_code(code) == chart.line_code(chart.MANAGEMENT)  # 管理费用
    assert expense.kind == kind and expense.program is None


@pytest.mark.parametrize("kind", ["trustee_fee", "custodian_fee", "supervisor_fee"])
@pytest.mark.parametrize("fund", ["SMILE", "STUDY", "ENDOW"])
def test_the_trusts_fees_never_charged_to_a_restricted_fund(trust, funded, officer, kind, fund):
    before = JournalEntry.objects.count()
    with pytest.raises(errors.PurposeRefused) as caught:
        pay(trust, funded, officer, kind=kind, fund=fund)
    assert f"fund {fund} is" in caught.value.message and caught.value.field == "fund"
    assert JournalEntry.objects.count() == before and not Expense.objects.exists()


@pytest.mark.parametrize("fund, program, code", [("GEN", "study_grant", chart.PROGRAM_STUDY),
                                                 ("STUDY", "study_grant", chart.PROGRAM_STUDY),
                                                 ("SMILE", "smile_pack", chart.PROGRAM_SMILE),
                                                 ("GEN", "general", chart.PROGRAM_GENERAL)])
def test_program_costs_post_to_the_programs_expense_account(trust, funded, officer, books, fund, program, code):
    """A venue for the study program, 800.00: Dr the program's 业务活动成本 明细 800.00 / Cr bank 800.00 in the
    paying fund. STUDY: 2,000.00 - 800.00 = 1,200.00 left; SMILE: 3,000.00 - 800.00 = 2,200.00; GEN: 10,000.00 -
    800.00 = 9,200.00."""
    held = {"GEN": Decimal("10000.00"), "STUDY": Decimal("2000.00"), "SMILE": Decimal("3000.00")}[fund]
    expense = pay(trust, funded, officer, kind="program_cost", fund=fund, program=program, amount=Decimal("800.00"),
                  payee="会场", description="助学金发放仪式场地")
    assert expense.program.code == program
    assert expense.entry.legs.get(debit__gt=0).account.code == code
    assert books.balance(code, fund) == Decimal("800.00")
    assert books.fund(fund) == held - Decimal("800.00")
    assert books.balance(chart.MANAGEMENT) == Decimal("0")


def test_program_costs_from_another_programs_restricted_fund_refused(trust, funded, officer, books):
    before = JournalEntry.objects.count()
    with pytest.raises(errors.PurposeRefused) as caught:
        pay(trust, funded, officer, kind="program_cost", fund="SMILE", program="study_grant")
    assert caught.value.field == "fund"
    assert "fund SMILE is restricted to smile_pack" in caught.value.message
    assert "not of study_grant" in caught.value.message
    assert JournalEntry.objects.count() == before
    assert books.fund("SMILE") == Decimal("3000.00")


def test_program_costs_never_beyond_the_restricted_funds_money(trust, funded, officer, books):
    """STUDY holds 2,000.00: a cost of 2,000.01 would take it below zero."""
    with pytest.raises((errors.CharityError, LedgerError)):
        pay(trust, funded, officer, kind="program_cost", fund="STUDY", program="study_grant",
            amount=Decimal("2000.01"))
    assert books.fund("STUDY") == Decimal("2000.00") and not Expense.objects.exists()


@pytest.mark.parametrize("kw, message", [
    (dict(kind="program_cost"), "name the program they serve"),
    (dict(kind="program_cost", program="caviar"), "'caviar' is not a program of this trust"),
    (dict(kind="admin", program="general"), "for program delivery costs (program_cost) only"),
    (dict(kind="trustee_fee", program="general"), "for program delivery costs (program_cost) only"),
])
def test_the_program_is_named_for_program_costs_only(trust, funded, officer, kw, message):
    before = JournalEntry.objects.count()
    with pytest.raises(errors.ExpenseError) as caught:
        pay(trust, funded, officer, **kw)
    assert caught.value.field == "program" and message in caught.value.message
    assert JournalEntry.objects.count() == before


def test_a_program_of_another_trust_is_refused(trust, funded, officer):
    from beneficiaries.models import Program

    other = trust_create(user=system_user(), code="OTHER", name="另一慈善信托")
    foreign = Program.objects.get(book=other.book, code="study_grant")
    with pytest.raises(errors.ExpenseError) as caught:
        pay(trust, funded, officer, kind="program_cost", program=foreign)
    assert caught.value.field == "program"
    assert not Expense.objects.exists()


def test_program_costs_are_idempotent_and_compare_the_program(trust, funded, officer):
    first = pay(trust, funded, officer, kind="program_cost", program="general")
    again, created = expense_record(trust=trust, external_id="EX-1", date=D, kind="program_cost",
                                    fund=funded["GEN"], amount=Decimal("100.00"), program="general", user=officer)
    assert again.pk == first.pk and not created
    with pytest.raises(errors.DuplicateExternalId):
        pay(trust, funded, officer, kind="program_cost", program="study_grant")


def test_the_approval_threshold_applies_to_the_new_kinds(trust, funded, officer, approver, books):
    """Threshold 1,000.00: a trustee's fee of 1,500.00 is refused alone, drafted, and recorded when the approver
    approves; a program cost of 1,200.00 from STUDY likewise (STUDY: 2,000.00 - 1,200.00 = 800.00)."""
    trust_set_expense_threshold(trust=trust, threshold=Decimal("1000.00"), user=system_user())
    with pytest.raises(errors.ApprovalRequired):
        pay(trust, funded, officer, amount=Decimal("1500.00"))
    with pytest.raises(errors.ApprovalRequired):
        pay(trust, funded, officer, n="EX-2", kind="program_cost", fund="STUDY", program="study_grant",
            amount=Decimal("1200.00"))
    fee = expense_request_draft(trust=trust, external_id="EX-1", date=D, kind="trustee_fee", fund=funded["GEN"],
                                amount=Decimal("1500.00"), user=officer)
    cost = expense_request_draft(trust=trust, external_id="EX-2", date=D, kind="program_cost", fund=funded["STUDY"],
                                 amount=Decimal("1200.00"), program="study_grant", user=officer)
    assert cost.data["program"] == "study_grant" and fee.data["program"] is None
    with pytest.raises(errors.ExpenseError) as caught:
        expense_request_draft(trust=trust, external_id="EX-3", date=D, kind="program_cost", fund=funded["GEN"],
                              amount=Decimal("10.00"), user=officer)
    assert caught.value.field == "program"
    for draft in (fee, cost):
        expense_request_approve(request=draft, user=approver)
    assert books.balance(chart.TRUSTEE_FEE, "GEN") == Decimal("1500.00")
    assert books.balance(chart.PROGRAM_STUDY, "STUDY") == Decimal("1200.00")
    assert books.fund("STUDY") == Decimal("800.00")
    assert Expense.objects.get(external_id="EX-2").entry.approved_by == approver
    assert ExpenseRequest.objects.filter(status="posted").count() == 2


# -- who may not ------------------------------------------------------------------------------------------------


def test_an_officer_of_another_trust_cannot_pay_our_fees(trust, funded, django_user_model):
    other = trust_create(user=system_user(), code="OTHER", name="另一慈善信托")
    outsider = grant(django_user_model.objects.create_user("outsider"), roles.OFFICER, other)
    for kw in (dict(kind="trustee_fee"), dict(kind="program_cost", fund="STUDY", program="study_grant")):
        with pytest.raises(PermissionDenied):
            pay(trust, funded, outsider, **kw)
    with pytest.raises(PermissionDenied):
        expense_request_draft(trust=trust, external_id="EX-9", date=D, kind="custodian_fee", fund=funded["GEN"],
                              amount=Decimal("10.00"), user=outsider)
    client = APIClient()
    client.force_authenticate(outsider)
    response = client.post(f"/api/v1/trusts/{trust.code}/expenses/", {
        "external_id": "EX-9", "date": D.isoformat(), "kind": "supervisor_fee", "fund": "GEN", "amount": "10.00"},
        format="json")
    assert response.status_code in (403, 404)
    assert not Expense.objects.exists()


def test_an_auditor_reads_but_cannot_pay(trust, funded, django_user_model):
    auditor = grant(django_user_model.objects.create_user("auditor"), roles.AUDITOR, trust)
    with pytest.raises(PermissionDenied):
        pay(trust, funded, auditor, kind="custodian_fee")
    client = APIClient()
    client.force_authenticate(auditor)
    response = client.post(f"/api/v1/trusts/{trust.code}/expenses/", {
        "external_id": "EX-9", "date": D.isoformat(), "kind": "program_cost", "fund": "GEN", "amount": "10.00",
        "program": "general"}, format="json")
    assert response.status_code == 403
    assert not Expense.objects.exists()


def test_a_fee_dated_in_a_closed_month_is_refused(trust, funded, officer, books):
    period_close(book=trust.book, month=D.strftime("%Y-%m"), user=system_user())
    before = JournalEntry.objects.count()
    with pytest.raises((errors.CharityError, LedgerError)) as caught:
        pay(trust, funded, officer, kind="supervisor_fee", date=D)
    assert "closed" in str(caught.value)
    assert JournalEntry.objects.count() == before and books.fund("GEN") == Decimal("10000.00")


# -- the API ------------------------------------------------------------------------------------------------------


def test_the_api_records_and_lists_the_new_kinds(trust, funded, officer, books):
    client = APIClient()
    client.force_authenticate(officer)
    url = f"/api/v1/trusts/{trust.code}/expenses/"
    fee = client.post(url, {"external_id": "EX-1", "date": D.isoformat(), "kind": "custodian_fee", "fund": "GEN",
                            "amount": "300.00", "payee": "托管银行"}, format="json")
    assert fee.status_code == 201, fee.json()
    cost = client.post(url, {"external_id": "EX-2", "date": D.isoformat(), "kind": "program_cost", "fund": "SMILE",
                             "amount": "150.00", "program": "smile_pack", "payee": "物流"}, format="json")
    assert cost.status_code == 201 and cost.json()["program"] == "smile_pack"
    assert books.balance(chart.CUSTODIAN_FEE, "GEN") == Decimal("300.00")
    assert books.balance(chart.PROGRAM_SMILE, "SMILE") == Decimal("150.00")
    missing = client.post(url, {"external_id": "EX-3", "date": D.isoformat(), "kind": "program_cost", "fund": "GEN",
                                "amount": "1.00"}, format="json")
    assert missing.status_code == 400 and missing.json()["error"]["field"] == "program"
    unknown = client.post(url, {"external_id": "EX-3", "date": D.isoformat(), "kind": "program_cost", "fund": "GEN",
                                "amount": "1.00", "program": "caviar"}, format="json")
    assert unknown.status_code == 400 and "program" in str(unknown.json())
    wrong = client.post(url, {"external_id": "EX-3", "date": D.isoformat(), "kind": "program_cost", "fund": "SMILE",
                              "amount": "1.00", "program": "study_grant"}, format="json")
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "purpose_refused"
    listed = client.get(url + "?kind=program_cost").json()
    assert [e["external_id"] for e in listed["results"]] == ["EX-2"]
    assert Expense.objects.count() == 2


# -- the CSV import -------------------------------------------------------------------------------------------------

KINDS_CSV = """external_id,date,kind,fund_code,amount,item,quantity,unit_cost,payee,description,program
EX-1,2026-02-01,trustee_fee,GEN,500.00,,,,某信托公司,受托人报酬,
EX-2,2026-02-01,custodian_fee,GEN,120.00,,,,托管银行,保管费,
EX-3,2026-02-01,supervisor_fee,GEN,80.00,,,,监察人,监察人报酬,
EX-4,2026-02-02,program_cost,SMILE,200.00,,,,快递公司,礼包运费,smile_pack
"""


def test_import_of_the_new_kinds_and_the_program_column(trust, officer, books):
    """Gifts (test_import.DONATIONS): SMILE 1,200.00, GEN 50.00 + 7,700.12 HKD x 0.91988 + 2,500.00 in kind.
    The fees are 500.00 + 120.00 + 80.00 from GEN; the smile_pack delivery 200.00 from SMILE (1,200.00 -
    200.00 = 1,000.00 left). A file without the program column (the old layout) still loads."""
    assert load("donors", DONORS, officer, trust).ok
    assert load("donations", DONATIONS, officer, trust).ok
    result = load("expenses", KINDS_CSV, officer, trust)
    assert result.ok, messages(result)
    assert books.balance(chart.TRUSTEE_FEE, "GEN") == Decimal("500.00")
    assert books.balance(chart.CUSTODIAN_FEE, "GEN") == Decimal("120.00")
    assert books.balance(chart.SUPERVISOR_FEE, "GEN") == Decimal("80.00")
    assert books.balance(chart.PROGRAM_SMILE, "SMILE") == Decimal("200.00")
    assert books.fund("SMILE") == Decimal("1000.00")
    assert Expense.objects.get(external_id="EX-4").program.code == "smile_pack"
    assert load("expenses", KINDS_CSV, officer, trust).skipped == 4
    old = "external_id,date,kind,fund_code,amount\nEX-5,2026-02-03,trustee_fee,GEN,1.00\n"
    assert load("expenses", old, officer, trust).ok


@pytest.mark.parametrize("line, expected", [
    ("EX-9,2026-02-04,program_cost,GEN,10.00,,,,,,", "row 6, column program: is required for program_cost"),
    ("EX-9,2026-02-04,program_cost,GEN,10.00,,,,,,caviar",
     "row 6, column program: 'caviar' is not a program of this trust"),
    ("EX-9,2026-02-04,trustee_fee,GEN,10.00,,,,,,general", "row 6, column program: is for program_cost only"),
    ("EX-9,2026-02-04,program_cost,SMILE,10.00,,,,,,study_grant",
     "row 6, column fund_code: fund SMILE is restricted to smile_pack"),
    ("EX-9,2026-02-04,custodian_fee,SMILE,10.00,,,,,,", "row 6, column fund_code: fund SMILE is restricted"),
    ("EX-9,2026-02-04,management_fees,GEN,10.00,,,,,,", "row 6, column kind: 'management_fees' is not one of"),
])
def test_bad_rows_of_the_new_kinds(trust, officer, line, expected):
    assert load("donors", DONORS, officer, trust).ok
    assert load("donations", DONATIONS, officer, trust).ok
    before = (JournalEntry.objects.count(), Expense.objects.count())
    result = load("expenses", KINDS_CSV + line + "\n", officer, trust)
    assert len(result.errors) == 1 and str(result.errors[0]).startswith(expected), messages(result)
    assert (JournalEntry.objects.count(), Expense.objects.count()) == before


def test_an_unknown_column_is_still_an_error(trust, officer):
    result = load("expenses", "external_id,date,kind,fund_code,amount,programme\n"
                              "EX-1,2026-02-01,trustee_fee,GEN,1.00,x\n", officer, trust)
    assert not result.ok and "programme" in " ".join(messages(result))

