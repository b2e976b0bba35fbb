"""A statement line the books do not have, booked through the usual services and matched (issue 20).

The bank book and statement of tests/charity/test_reconciliation.py: after automatic matching, the bank's fee
B003 (-15.00 on 31 January) has no entry. Booked as a bank fee it is an expense of 15.00 to 540101 from the
unrestricted fund, matched to the line at once; above the trust's approval threshold it waits for another user's
approval and is matched by ``statement_match_auto`` after. Then January agrees with nothing in transit on the bank's
side. Interest (+3.21 on 31 January, B005) is income to 4901 (or 4601) in GEN.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied

from charity import chart, roles
from charity.errors import ReconciliationError
from charity.models import AuditEvent, Expense, ExpenseRequest, StatementLine
from charity.reconciliation import booking_id, reconcile
from charity.services import (
    expense_request_approve, month_reconcile, statement_import, statement_line_book, statement_match_auto,
    trust_create, trust_set_expense_threshold,
)
from ledger.models import Account, JournalEntry, Leg
from ledger.services import system_user
from tests.charity.test_reconciliation import GENERIC, bank_book, fen
from tests.conftest import grant

WITH_INTEREST = GENERIC + "2026-02-03,3.21,11688.21,银行,B005\n"


@pytest.fixture
def bank(trust, officer):
    bank = bank_book(trust)
    assert statement_import(trust=trust, account=bank, data=WITH_INTEREST.encode(), user=officer).errors == []
    assert statement_match_auto(account=bank, user=officer) == 3
    return bank


def _line(reference):
    return StatementLine.objects.get(reference=reference)


def test_a_bank_fee_is_an_expense_matched_to_its_line(trust, bank, officer):
    jan = reconcile(bank, dt.date(2026, 1, 31))
    assert [i.amount for i in jan.bank_items] == [fen("-15")]
    booking = statement_line_book(line=_line("B003"), kind="bank_fee", user=officer)
    expense = Expense.objects.get(external_id=booking_id(_line("B003")))
    assert (expense.kind, expense.amount.amount, expense.fund.code, expense.date) == (
        "bank_fee", Decimal("15.00"), "GEN", dt.date(2026, 1, 31))
    assert booking.entry == expense.entry and booking.request is None
    fee_leg = Leg.objects.get(entry=expense.entry, account__code=chart.BANK_FEES)
    assert fee_leg.debit == fen("15")
    line = _line("B003")
    assert line.match == booking.match
    assert [ml.leg.entry_id for ml in line.match.legs.all()] == [expense.entry_id]
    jan = reconcile(bank, dt.date(2026, 1, 31))
    assert jan.bank_items == [] and jan.book_balance == fen("11685") and jan.agrees
    month_reconcile(account=bank, month="2026-01", user=officer)
    assert AuditEvent.objects.filter(action=f"statement line booked {chart.BANK}").count() == 1
    with pytest.raises(ReconciliationError, match="already matched"):
        statement_line_book(line=line, kind="bank_fee", user=officer)
    assert Expense.objects.filter(kind="bank_fee").count() == 1


def test_above_the_threshold_the_fee_waits_for_approval_then_matches(trust, bank, officer, approver):
    trust_set_expense_threshold(trust=trust, threshold=Decimal("10.00"), user=system_user())
    booking = statement_line_book(line=_line("B003"), kind="bank_fee", user=officer)
    assert booking.entry is None and booking.match is None
    request = ExpenseRequest.objects.get(external_id=booking_id(_line("B003")), status="draft")
    assert booking.request == request and request.data["kind"] == "bank_fee" and request.data["amount"] == "15.00"
    assert not Expense.objects.filter(kind="bank_fee").exists() and _line("B003").match is None
    with pytest.raises(ReconciliationError, match="already waits for approval"):
        statement_line_book(line=_line("B003"), kind="bank_fee", user=officer)
    with pytest.raises(PermissionDenied):  # four eyes: the officer who drafted it cannot approve it
        expense_request_approve(request=request, user=officer)
    expense_request_approve(request=request, user=approver)
    assert _line("B003").match is None  # not until matching runs
    assert statement_match_auto(account=bank, user=officer) == 1
    expense = Expense.objects.get(external_id=booking_id(_line("B003")))
    assert [ml.leg.entry_id for ml in _line("B003").match.legs.all()] == [expense.entry_id]
    assert reconcile(bank, dt.date(2026, 1, 31)).bank_items == []


def test_the_booked_entry_goes_to_its_own_line_not_another_of_the_same_amount(trust, bank, officer, approver):
    """Two fee lines of 15.00 the same day: the entry booked from the second is never matched to the first."""
    text = GENERIC + "2026-02-03,-15.00,11670.00,银行,B006\n"
    assert statement_import(trust=trust, account=bank, data=text.encode(), user=officer).errors == []
    trust_set_expense_threshold(trust=trust, threshold=Decimal("10.00"), user=system_user())
    statement_line_book(line=_line("B006"), kind="bank_fee", user=officer)
    expense_request_approve(request=ExpenseRequest.objects.get(external_id=booking_id(_line("B006"))),
                            user=approver)
    assert statement_match_auto(account=bank, user=officer) == 1
    assert _line("B003").match is None and _line("B006").match is not None


@pytest.mark.parametrize("income", [chart.OTHER_INCOME, chart.INVESTMENT_INCOME])
def test_interest_is_income_in_the_general_fund(trust, bank, officer, income):
    booking = statement_line_book(line=_line("B005"), kind="interest", income_account=income, user=officer)
    entry = JournalEntry.objects.get(pk=booking.entry.pk)
    assert (entry.source_type, entry.source_id, entry.date) == ("statement_line", booking_id(_line("B005")),
                                                                dt.date(2026, 2, 3))
    legs = {(leg.account.code, leg.fund.code, leg.debit, leg.credit) for leg in entry.legs.select_related(
        "account", "fund")}
    assert legs == {(chart.BANK, "GEN", fen("3.21"), 0), (income, "GEN", 0, fen("3.21"))}
    assert _line("B005").match == booking.match
    feb = reconcile(bank, dt.date(2026, 2, 28))
    assert [i.amount for i in feb.bank_items] == [fen("-15")]  # only the fee is left in transit


@pytest.mark.parametrize("reference, kind, extra, message", [
    ("B003", "payout", {}, "booked as one of bank_fee, interest"),
    ("B003", "interest", {}, "interest is money into the account"),
    ("B005", "bank_fee", {}, "a bank fee is money out"),
    ("B005", "interest", {"income_account": chart.DONATION_UNRESTRICTED}, "interest is income to 4901 or 4601"),
])
def test_wrong_kinds_and_signs_are_refused(trust, bank, officer, reference, kind, extra, message):
    entries = JournalEntry.objects.count()
    with pytest.raises(ReconciliationError, match=message):
        statement_line_book(line=_line(reference), kind=kind, user=officer, **extra)
    assert JournalEntry.objects.count() == entries and not ExpenseRequest.objects.exists()
    assert _line(reference).match is None


def test_a_matched_line_or_a_fee_off_the_bank_account_is_refused(trust, bank, officer):
    with pytest.raises(ReconciliationError, match="already matched"):
        statement_line_book(line=_line("B001"), kind="interest", user=officer)
    wechat = Account.objects.get(book=trust.book, code=chart.WECHAT)
    text = "date,amount,balance,counterparty,reference\n2026-01-31,-1.20,,微信支付,W1\n"
    assert statement_import(trust=trust, account=wechat, data=text.encode(), user=officer).errors == []
    with pytest.raises(ReconciliationError, match="paid from account 100201"):
        statement_line_book(line=_line("W1"), kind="bank_fee", user=officer)


def test_another_trusts_officer_an_auditor_and_an_approver_are_refused(trust, bank, officer, approver):
    other = trust_create(code="B", name="乙信托", user=system_user())
    outsider = grant(get_user_model().objects.create_user("officer-b"), roles.OFFICER, other)
    auditor = grant(get_user_model().objects.create_user("auditor-a"), roles.AUDITOR, trust)
    for user in (outsider, auditor, approver):
        for kind, reference in (("bank_fee", "B003"), ("interest", "B005")):
            with pytest.raises(PermissionDenied):
                statement_line_book(line=_line(reference), kind=kind, user=user)
    assert not Expense.objects.filter(kind="bank_fee").exists()
    assert _line("B003").match is None and _line("B005").match is None


def test_a_line_in_a_reconciled_month_is_refused(trust, bank, officer):
    """January agrees with the fee in transit; once reconciled, the fee is booked in February's books, not
    January's (here: refused, the line's date is in the reconciled month)."""
    month_reconcile(account=bank, month="2026-01", user=officer)
    with pytest.raises(ReconciliationError, match="2026-01 is reconciled"):
        statement_line_book(line=_line("B003"), kind="bank_fee", user=officer)


def test_a_line_of_a_closed_period_is_booked_on_a_later_day_of_an_open_one(trust, bank, officer, approver):
    """January's books are closed before the fee of 31 January is noticed: booked on its own date it is refused by
    the closed period; booked on 3 February it posts there and is matched to the January line. A date before the
    line is refused. January's 余额调节表 keeps the fee as an item on the bank's side; February's only the interest."""
    from ledger.services import period_close

    period_close(book=trust.book, month="2026-01", user=approver)
    line = _line("B003")
    with pytest.raises(Exception, match="closed"):
        statement_line_book(line=line, kind="bank_fee", user=officer)
    with pytest.raises(ReconciliationError, match="before the statement line"):
        statement_line_book(line=line, kind="bank_fee", user=officer, date=dt.date(2026, 1, 30))
    assert not Expense.objects.filter(kind="bank_fee").exists()
    booking = statement_line_book(line=line, kind="bank_fee", user=officer, date=dt.date(2026, 2, 3))
    assert booking.entry.date == dt.date(2026, 2, 3) and _line("B003").match == booking.match
    jan = reconcile(bank, dt.date(2026, 1, 31))
    assert [i.amount for i in jan.bank_items] == [fen("-15")] and jan.agrees
    feb = reconcile(bank, dt.date(2026, 2, 28))
    assert [i.reference for i in feb.bank_items] == ["B005"] and feb.agrees  # only the interest, not yet booked
