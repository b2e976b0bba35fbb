"""A management fee charged to a restricted fund its terms allow (issue 18): the terms (``FundTerms``, set by an
approver), the allowance (rate x donations received in the year to date, capped, less fees already charged), the
entry (a release of the restriction plus a management expense in the unrestricted fund; no expense in the
restricted fund, so the purpose guards stay as they are), and how the statements read it."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from rest_framework.test import APIClient

from charity import chart, errors, roles
from charity.models import Expense, FundTerms
from charity.reports import REPORTS, render_report, resolve_params
from charity.services import donation_record, donation_refund, expense_record, fund_terms_set, trust_create
from ledger import services as ledger
from ledger.errors import LedgerError
from ledger.models import JournalEntry
from ledger.services import period_close, system_user
from tests.conftest import grant

from .conftest import D

pytestmark = pytest.mark.django_db


@pytest.fixture
def smile(trust, funds, officer, approver):
    """SMILE receives 10,000.00 (DN-1) and 2,000.00 (DN-2) on D, GEN 1,000.00; SMILE's terms: 5% of what it
    received, at most 800.00 a year. Allowance on D: 5% x 12,000.00 = 600.00, under the cap."""
    for n, fund, amount in (("DN-1", "SMILE", "10000.00"), ("DN-2", "SMILE", "2000.00"), ("DN-3", "GEN", "1000.00")):
        donation_record(trust=trust, external_id=n, date=D, amount=Decimal(amount), fund=funds[fund],
                        channel="bank", user=officer)
    fund_terms_set(fund=funds["SMILE"], management_fee_rate=Decimal("5.00"), management_fee_cap=Decimal("800.00"),
                   user=approver)
    return funds


def fee(trust, funds, user, n="MF-1", amount="250.00", fund="SMILE", date=D):
    expense, _created = expense_record(trust=trust, external_id=n, date=date, kind="management_fee",
                                       fund=funds[fund], amount=Decimal(amount), user=user)
    return expense


def report_csv(trust, name, **options):
    cls = REPORTS[name]
    out = io.BytesIO()
    render_report(book=trust.book, report=cls, params=resolve_params(cls, trust.book, **options), fmt="csv", out=out)
    return list(csv.DictReader(io.StringIO(out.getvalue().decode("utf-8-sig"))))


def test_a_fee_within_the_terms_is_a_release_and_a_management_expense(trust, smile, officer, books):
    """Fee 250.00 from SMILE. Legs: SMILE Dr 3102 250.00 / Cr bank 250.00; GEN Dr bank 250.00 / Cr 3101 250.00;
    GEN Dr 管理费用 250.00 / Cr bank 250.00. SMILE's net assets 12,000.00 - 250.00 = 11,750.00; GEN's stay
    1,000.00 (+250.00 released - 250.00 expense); the bank 13,000.00 - 250.00 = 12,750.00."""
    expense = fee(trust, smile, officer)
    legs = sorted((leg.account.code, leg.fund.code, leg.debit, leg.credit) for leg in expense.entry.legs.all())
    assert legs == sorted([
        (chart.NET_ASSETS_RESTRICTED, "SMILE", 25000, 0), (chart.BANK, "SMILE", 0, 25000),
        (chart.BANK, "GEN", 25000, 0), (chart.NET_ASSETS_UNRESTRICTED, "GEN", 0, 25000),
        (chart.MANAGEMENT, "GEN", 25000, 0), (chart.BANK, "GEN", 0, 25000),
    ])
    assert books.fund("SMILE") == Decimal("11750.00") and books.fund("GEN") == Decimal("1000.00")
    assert books.balance(chart.BANK) == Decimal("12750.00")
    assert books.balance(chart.MANAGEMENT, "GEN") == Decimal("250.00")
    assert expense.fund.code == "SMILE" and expense.kind == "management_fee"


def test_the_statements_read_the_fee(trust, smile, officer):
    """After the fee of 250.00 (2026 to D): fund-balances: SMILE donations 12,000.00, spent 250.00, closing
    11,750.00; GEN donations 1,000.00, spent 0.00 (its management expense was met by the release), closing
    1,000.00. Activities: 管理费用 250.00 without restriction; released from restriction 250.00 (+ without,
    - with); nothing posted directly to net assets; change without = 1,000.00 + 250.00 - 250.00 = 1,000.00,
    with = 12,000.00 - 250.00 = 11,750.00."""
    fee(trust, smile, officer)
    span = dict(date_from=dt.date(2026, 1, 1), date_to=D)
    by_fund = {r["fund_code"]: r for r in report_csv(trust, "fund-balances", **span)}
    assert (by_fund["SMILE"]["donations"], by_fund["SMILE"]["spent"], by_fund["SMILE"]["closing"]) == (
        "12000.00", "250.00", "11750.00")
    assert (by_fund["GEN"]["donations"], by_fund["GEN"]["spent"], by_fund["GEN"]["closing"]) == (
        "1000.00", "0.00", "1000.00")
    accounts = {r["code"]: r for r in report_csv(trust, "activities-accounts", **span)}
    assert (accounts[chart.MANAGEMENT]["without_donor_restriction"], accounts[chart.MANAGEMENT]["section"]) == (
        "250.00", "expense_management")
    lines = {r["code"]: r for r in report_csv(trust, "activities", **span)}
    assert lines["MANAGEMENT_EXPENSES"]["total"] == "250.00"
    release = lines["RELEASED_FROM_RESTRICTION"]
    assert (release["without_donor_restriction"], release["with_donor_restriction"]) == ("250.00", "-250.00")
    other = lines["OTHER_CHANGES"]
    assert (other["without_donor_restriction"], other["with_donor_restriction"]) == ("0.00", "0.00")
    change = lines["CHANGE_IN_NET_ASSETS"]
    assert (change["without_donor_restriction"], change["with_donor_restriction"]) == ("1000.00", "11750.00")


def test_a_reversed_fee_reads_as_nothing_and_frees_the_allowance(trust, smile, officer, approver, books):
    """Fee 600.00 (the whole allowance), reversed: SMILE back to 12,000.00, the release and spent 0.00, and a new
    fee of 600.00 fits again."""
    first = fee(trust, smile, officer, amount="600.00")
    with pytest.raises(errors.ExpenseError):
        fee(trust, smile, officer, n="MF-2", amount="0.01")
    ledger.entry_reverse(entry=first.entry, date=D, reason="冲销", user=officer)
    assert books.fund("SMILE") == Decimal("12000.00")
    span = dict(date_from=dt.date(2026, 1, 1), date_to=D)
    assert {r["fund_code"]: r["spent"] for r in report_csv(trust, "fund-balances", **span)}["SMILE"] == "0.00"
    lines = {r["code"]: r for r in report_csv(trust, "activities", **span)}
    assert lines["RELEASED_FROM_RESTRICTION"]["without_donor_restriction"] == "0.00"
    fee(trust, smile, officer, n="MF-2", amount="600.00")
    assert books.fund("SMILE") == Decimal("11400.00")


def test_above_the_rate_refused_with_the_figures(trust, smile, officer, books):
    """5% x 12,000.00 = 600.00 (cap 800.00): 400.00 charged, so at most 200.00 more; 200.01 is refused."""
    fee(trust, smile, officer, amount="400.00")
    before = JournalEntry.objects.count()
    with pytest.raises(errors.ExpenseError) as caught:
        fee(trust, smile, officer, n="MF-2", amount="200.01")
    message = caught.value.message
    assert caught.value.field == "amount"
    for figure in ("200.01 CNY", "5.00% of 12000.00 CNY", "= 600.00 CNY", "cap 800.00 CNY",
                   "already charged 400.00 CNY", "at most 200.00 CNY"):
        assert figure in message, message
    assert JournalEntry.objects.count() == before and books.fund("SMILE") == Decimal("11600.00")
    fee(trust, smile, officer, n="MF-2", amount="200.00")
    assert books.fund("SMILE") == Decimal("11400.00")


def test_above_the_cap_refused_with_the_figures(trust, smile, officer, approver):
    """More gifts: SMILE received 12,000.00 + 8,000.00 = 20,000.00; 5% = 1,000.00 but the cap is 800.00."""
    donation_record(trust=trust, external_id="DN-4", date=D, amount=Decimal("8000.00"), fund=smile["SMILE"],
                    channel="bank", user=officer)
    with pytest.raises(errors.ExpenseError) as caught:
        fee(trust, smile, officer, amount="800.01")
    assert "= 1000.00 CNY, cap 800.00 CNY" in caught.value.message
    assert "at most 800.00 CNY" in caught.value.message
    fee(trust, smile, officer, amount="800.00")


def test_refunds_reduce_what_was_received(trust, smile, officer):
    """DN-2 (2,000.00) refunded: received 10,000.00, 5% = 500.00."""
    donation_refund(donation=trust.donations.get(external_id="DN-2"), external_id="RF-1", date=D, user=officer,
                    reason="asked back")
    with pytest.raises(errors.ExpenseError) as caught:
        fee(trust, smile, officer, amount="500.01")
    assert "5.00% of 10000.00 CNY received" in caught.value.message


def test_the_year_counts_only_its_own_gifts_and_fees(trust, funds, officer, approver):
    """Gifts of 2025 count for 2025 only: SMILE received 4,000.00 in 2025, 10% = 400.00, all charged in 2025;
    in 2026 it received 1,000.00 so far, 10% = 100.00, none charged yet in 2026."""
    old = dt.date(2025, 6, 1)
    for n, day, amount in (("DN-1", old, "4000.00"), ("DN-2", D, "1000.00")):
        donation_record(trust=trust, external_id=n, date=day, amount=Decimal(amount), fund=funds["SMILE"],
                        channel="bank", user=officer)
    fund_terms_set(fund=funds["SMILE"], management_fee_rate=Decimal("10"), management_fee_cap=None, user=approver)
    fee(trust, funds, officer, n="MF-2025", amount="400.00", date=dt.date(2025, 12, 31))
    with pytest.raises(errors.ExpenseError) as caught:
        fee(trust, funds, officer, amount="100.01")
    assert "10.00% of 1000.00 CNY received from 2026-01-01" in caught.value.message
    assert "no cap" in caught.value.message and "already charged 0.00 CNY" in caught.value.message
    fee(trust, funds, officer, amount="100.00")


def test_without_terms_refused_naming_the_fund_and_the_field(trust, funds, officer):
    donation_record(trust=trust, external_id="DN-1", date=D, amount=Decimal("1000.00"), fund=funds["STUDY"],
                    channel="bank", user=officer)
    with pytest.raises(errors.PurposeRefused) as caught:
        fee(trust, funds, officer, fund="STUDY", amount="1.00")
    assert caught.value.field == "fund"
    assert "fund STUDY has no terms" in caught.value.message and "management_fee_rate" in caught.value.message
    assert not Expense.objects.exists()


@pytest.mark.parametrize("fund, message", [("GEN", "fund GEN is unrestricted"), ("ENDOW", "ENDOW is an endowment")])
def test_a_fee_only_from_a_restricted_fund(trust, smile, officer, fund, message):
    with pytest.raises(errors.PurposeRefused, match=message):
        fee(trust, smile, officer, fund=fund, amount="1.00")


@pytest.mark.parametrize("kw, field", [
    (dict(management_fee_rate=Decimal("100.01")), "management_fee_rate"),
    (dict(management_fee_rate=Decimal("-1")), "management_fee_rate"),
    (dict(management_fee_rate=Decimal("5.001")), "management_fee_rate"),
    (dict(management_fee_rate="abc"), "management_fee_rate"),
    (dict(management_fee_rate=5.0), "management_fee_rate"),
    (dict(management_fee_rate=Decimal("5"), management_fee_cap=Decimal("-1")), "management_fee_cap"),
    (dict(management_fee_rate=Decimal("5"), management_fee_cap="1.234"), "management_fee_cap"),
])
def test_bad_terms_refused(trust, funds, approver, kw, field):
    with pytest.raises(errors.ExpenseError) as caught:
        fund_terms_set(fund=funds["STUDY"], user=approver, **kw)
    assert caught.value.field == field and not FundTerms.objects.exists()


def test_terms_for_restricted_funds_only(trust, funds, approver):
    for code in ("GEN", "ENDOW"):
        with pytest.raises(errors.ExpenseError) as caught:
            fund_terms_set(fund=funds[code], management_fee_rate=Decimal("5"), user=approver)
        assert caught.value.field == "fund" and code in caught.value.message


def test_terms_are_set_by_an_approver_not_by_the_officer_who_charges(trust, funds, officer, approver,
                                                                     django_user_model):
    with pytest.raises(PermissionDenied):
        fund_terms_set(fund=funds["STUDY"], management_fee_rate=Decimal("100"), user=officer)
    auditor = grant(django_user_model.objects.create_user("auditor"), roles.AUDITOR, trust)
    with pytest.raises(PermissionDenied):
        fund_terms_set(fund=funds["STUDY"], management_fee_rate=Decimal("1"), user=auditor)
    other = trust_create(user=system_user(), code="OTHER", name="另一慈善信托")
    outsider = grant(django_user_model.objects.create_user("outsider"), roles.APPROVER, other)
    with pytest.raises(PermissionDenied):
        fund_terms_set(fund=funds["STUDY"], management_fee_rate=Decimal("1"), user=outsider)
    assert not FundTerms.objects.exists()
    terms = fund_terms_set(fund=funds["STUDY"], management_fee_rate=Decimal("2.5"), user=approver)
    assert (terms.management_fee_rate, terms.management_fee_cap, terms.updated_by) == (Decimal("2.50"), None,
                                                                                       approver)


def test_another_trusts_officer_and_an_auditor_cannot_charge_a_fee(trust, smile, django_user_model):
    other = trust_create(user=system_user(), code="OTHER", name="另一慈善信托")
    outsider = grant(django_user_model.objects.create_user("outsider"), roles.OFFICER, other)
    auditor = grant(django_user_model.objects.create_user("auditor"), roles.AUDITOR, trust)
    for user in (outsider, auditor):
        with pytest.raises(PermissionDenied):
            fee(trust, smile, user, amount="1.00")
        client = APIClient()
        client.force_authenticate(user)
        response = client.post(f"/api/v1/trusts/{trust.code}/expenses/", {
            "external_id": "MF-9", "date": D.isoformat(), "kind": "management_fee", "fund": "SMILE",
            "amount": "1.00"}, format="json")
        assert response.status_code in (403, 404)
    assert not Expense.objects.exists()


def test_a_fee_dated_in_a_closed_period_is_refused(trust, smile, officer, books):
    period_close(book=trust.book, month="2026-03", user=system_user())
    before = JournalEntry.objects.count()
    with pytest.raises((errors.CharityError, LedgerError)) as caught:
        fee(trust, smile, officer, amount="1.00")
    assert "closed" in str(caught.value)
    assert JournalEntry.objects.count() == before and books.fund("SMILE") == Decimal("12000.00")


def test_the_approval_threshold_applies_to_a_fee(trust, smile, officer):
    from charity.services import trust_set_expense_threshold

    trust_set_expense_threshold(trust=trust, threshold=Decimal("100.00"), user=system_user())
    with pytest.raises(errors.ApprovalRequired):
        fee(trust, smile, officer, amount="100.01")


def test_the_donor_statement_names_the_fee_of_the_donors_fund(trust, smile, officer):
    """Donor D-1 gave 1,000.00 to SMILE; SMILE bore fees of 250.00 and 100.00 (350.00) in 2026. The ledger's FIFO
    allocates spending (expense debits) to gifts; the fee is a release of the restriction, so the statement says
    what the fund bore in a note and leaves the gift's spending as the allocations have it. A donor of another
    fund (D-2, GEN) reads no such note."""
    from charity.services import donor_create

    donors = {}
    for n, fund in (("D-1", "SMILE"), ("D-2", "GEN")):
        donors[n] = donor_create(trust=trust, kind="individual", name=f"捐赠人{n}", external_id=n, by=officer)
        donation_record(trust=trust, external_id=f"G-{n}", date=D, amount=Decimal("1000.00"), fund=smile[fund],
                        channel="bank", user=officer, donor=donors[n])
    fee(trust, smile, officer, amount="250.00")
    fee(trust, smile, officer, n="MF-2", amount="100.00")
    cls = REPORTS["donor-statement"]

    def notes(donor):
        params = resolve_params(cls, trust.book, date_from=dt.date(2026, 1, 1), date_to=D, donor=donor)
        return " ".join(cls(book=trust.book, params=params).build().notes)

    assert "Fund SMILE bore a management fee of 350.00 CNY" in notes("D-1")
    assert "management fee" not in notes("D-2")
