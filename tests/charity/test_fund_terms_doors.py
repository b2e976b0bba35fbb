"""A restricted fund's terms through every door (the funds import's new columns, the API, the admin), and a
management fee through the expenses import, the API and the office page; each door is the service's."""

from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from charity import chart
from charity.models import Expense, FundTerms
from charity.services import donation_record, fund_terms_set
from ledger.models import Fund, JournalEntry

from .conftest import D
from .test_import import load, messages

pytestmark = pytest.mark.django_db

FUNDS = """code,name,restriction,program,description,name_en,management_fee_rate,management_fee_cap
SCHOOL,校舍专项资金,restricted,study_grant,,,6.50,1200.00
BOOKS,图书专项资金,restricted,study_grant,,,3,
OPEN,一般资金,unrestricted,,,,,
"""


def test_funds_import_sets_terms(trust, both):
    """Creating funds is an officer's, setting terms an approver's: one person holding both roles imports."""
    approver = both
    result = load("funds", FUNDS, approver, trust)
    assert result.ok, messages(result)
    school, books = FundTerms.objects.get(fund__code="SCHOOL"), FundTerms.objects.get(fund__code="BOOKS")
    assert (school.management_fee_rate, school.management_fee_cap) == (Decimal("6.50"), Decimal("1200.00"))
    assert (books.management_fee_rate, books.management_fee_cap) == (Decimal("3.00"), None)
    assert not FundTerms.objects.filter(fund__code="OPEN").exists()
    again = load("funds", FUNDS, approver, trust)
    assert again.ok and again.created == 0
    old_layout = "code,name,restriction,program\nSCHOOL,校舍专项资金,restricted,study_grant\n"
    assert load("funds", old_layout, approver, trust).ok  # terms left as they are
    assert FundTerms.objects.get(fund__code="SCHOOL").management_fee_rate == Decimal("6.50")
    changed = FUNDS.replace("6.50,1200.00", "7.00,1200.00")
    assert load("funds", changed, approver, trust).created == 1
    assert FundTerms.objects.get(fund__code="SCHOOL").management_fee_rate == Decimal("7.00")


@pytest.mark.parametrize("line, expected", [
    ("X,x,restricted,study_grant,,,100.01,", "row 5, column management_fee_rate: 100.01 is not a percentage"),
    ("X,x,restricted,study_grant,,,abc,", "row 5, column management_fee_rate: 'abc' is not a percentage"),
    ("X,x,restricted,study_grant,,,5,-1", "row 5, column management_fee_cap: -1 is not an amount"),
    ("X,x,restricted,study_grant,,,5,1.001", "row 5, column management_fee_cap: 1.001 is not an amount"),
    ("X,x,restricted,study_grant,,,,100", "row 5, column management_fee_rate: is required when"),
    ("X,x,unrestricted,,,,5,", "row 5, column management_fee_rate: terms allowing a management fee are for "
                               "restricted funds only"),
])
def test_bad_terms_in_the_funds_import(trust, both, line, expected):
    result = load("funds", FUNDS + line + "\n", both, trust)
    assert len(result.errors) == 1 and str(result.errors[0]).startswith(expected), messages(result)
    assert not FundTerms.objects.exists() and not Fund.objects.filter(code="SCHOOL").exists()


def test_an_officer_cannot_import_terms(trust, officer):
    result = load("funds", FUNDS, officer, trust)
    assert not result.ok
    assert str(result.errors[0]).startswith("row 2, column management_fee_rate: a fund's terms are set by an approver")
    assert not FundTerms.objects.exists() and not Fund.objects.filter(code="SCHOOL").exists()
    assert load("funds", "code,name,restriction,program\nSCHOOL,校舍专项资金,restricted,study_grant\n", officer,
                trust).ok  # funds without terms as before


def test_terms_through_the_api(trust, funds, officer, approver):
    url = f"/api/v1/trusts/{trust.code}/funds/STUDY/terms/"
    as_officer, as_approver = APIClient(), APIClient()
    as_officer.force_authenticate(officer)
    as_approver.force_authenticate(approver)
    assert as_officer.post(url, {"management_fee_rate": "5"}, format="json").status_code == 403
    bad = as_approver.post(url, {"management_fee_rate": "101"}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "management_fee_rate"
    unknown = as_approver.post(url, {"management_fee_rate": "5", "fee": "1"}, format="json")
    assert unknown.status_code == 400
    general = as_approver.post(f"/api/v1/trusts/{trust.code}/funds/GEN/terms/", {"management_fee_rate": "5"},
                               format="json")
    assert general.status_code == 400 and general.json()["error"]["field"] == "fund"
    assert not FundTerms.objects.exists()
    done = as_approver.post(url, {"management_fee_rate": "5.25", "management_fee_cap": "300.00"}, format="json")
    assert done.status_code == 200, done.json()
    assert (done.json()["management_fee_rate"], done.json()["management_fee_cap"]) == ("5.25", "300.00")
    listed = {f["code"]: f for f in as_officer.get(f"/api/v1/trusts/{trust.code}/funds/").json()}
    assert listed["STUDY"]["management_fee_rate"] == "5.25" and listed["GEN"]["management_fee_rate"] is None


def test_terms_through_the_admin(client, trust, funds, django_user_model):
    boss = django_user_model.objects.create_superuser("boss", "boss@example.org", "pw-boss-1")
    client.force_login(boss)
    assert client.get(reverse("admin:charity_fundterms_add")).status_code == 200
    refused = client.post(reverse("admin:charity_fundterms_add"), {"fund": funds["GEN"].pk,
                                                                   "management_fee_rate": "5"})
    assert refused.status_code == 200 and "restricted funds only" in refused.content.decode()
    done = client.post(reverse("admin:charity_fundterms_add"), {"fund": funds["SMILE"].pk,
                                                                "management_fee_rate": "4.00",
                                                                "management_fee_cap": "500.00"})
    assert done.status_code == 302, done.content.decode()[:2000]
    terms = FundTerms.objects.get()
    assert (terms.fund.code, terms.management_fee_rate, terms.updated_by) == ("SMILE", Decimal("4.00"), boss)
    assert client.get(reverse("admin:charity_fundterms_changelist")).status_code == 200


@pytest.fixture
def with_terms(trust, funds, officer, approver):
    """SMILE received 4,000.00; 10% allowed, cap 300.00: the allowance is 300.00."""
    donation_record(trust=trust, external_id="DN-1", date=D, amount=Decimal("4000.00"), fund=funds["SMILE"],
                    channel="bank", user=officer)
    fund_terms_set(fund=funds["SMILE"], management_fee_rate=Decimal("10"), management_fee_cap=Decimal("300"),
                   user=approver)
    return funds


def test_a_management_fee_through_the_expenses_import(trust, with_terms, officer, books):
    """Two fees of 200.00 and 100.00 (300.00, the allowance) import; a third of 0.01 is refused with the figures
    and the whole file with it."""
    header = "external_id,date,kind,fund_code,amount\n"
    good = header + "MF-1,2026-03-02,management_fee,SMILE,200.00\nMF-2,2026-03-02,management_fee,SMILE,100.00\n"
    result = load("expenses", good, officer, trust)
    assert result.ok, messages(result)
    assert books.fund("SMILE") == Decimal("3700.00") and books.balance(chart.MANAGEMENT, "GEN") == Decimal("300.00")
    before = JournalEntry.objects.count()
    bad = load("expenses", header + "MF-3,2026-03-02,management_fee,SMILE,0.01\n", officer, trust)
    assert len(bad.errors) == 1
    assert str(bad.errors[0]).startswith("row 2, column amount: a management fee of 0.01 CNY exceeds")
    assert "already charged 300.00 CNY" in str(bad.errors[0])
    no_terms = load("expenses", header + "MF-3,2026-03-02,management_fee,STUDY,1.00\n", officer, trust)
    assert str(no_terms.errors[0]).startswith("row 2, column fund_code: fund STUDY has no terms")
    assert JournalEntry.objects.count() == before


def test_a_management_fee_through_the_api_and_the_page(client, trust, with_terms, officer, books):
    api = APIClient()
    api.force_authenticate(officer)
    url = f"/api/v1/trusts/{trust.code}/expenses/"
    done = api.post(url, {"external_id": "MF-1", "date": D.isoformat(), "kind": "management_fee", "fund": "SMILE",
                          "amount": "250.00"}, format="json")
    assert done.status_code == 201, done.json()
    over = api.post(url, {"external_id": "MF-2", "date": D.isoformat(), "kind": "management_fee", "fund": "SMILE",
                          "amount": "50.01"}, format="json")
    assert over.status_code == 400 and over.json()["error"]["field"] == "amount"
    assert "at most 50.00 CNY" in over.json()["error"]["message"]
    client.force_login(officer)
    page = client.post(f"/office/expenses/new/?trust={trust.code}", {
        "trust": trust.code, "external_id": "MF-2", "date": D.isoformat(), "kind": "management_fee",
        "fund": "SMILE", "amount": "50.00"})
    assert page.status_code == 302
    assert books.fund("SMILE") == Decimal("3700.00")
    assert Expense.objects.filter(kind="management_fee").count() == 2
