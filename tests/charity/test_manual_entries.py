"""Four eyes on manual entries: one person drafts, another approves and posts (or rejects); a transfer out of a
restricted fund or the endowment never reaches the books on one person's word."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction

from charity.errors import FourEyesRefused, ManualEntryError
from charity.models import ManualEntry
from charity.services import (donation_record, manual_entry_approve, manual_entry_draft, manual_entry_reject,
                              manual_reversal_draft)
from ledger.models import JournalEntry
from ledger.selectors import fund_balance

D = dt.date(2026, 3, 2)
# 5.00 out of the restricted SMILE fund into GEN: the attack of an officer alone (debiting 3xxx net assets).
TRANSFER = [
    {"account": "3102", "fund": "SMILE", "debit": "5.00"}, {"account": "100201", "fund": "SMILE", "credit": "5.00"},
    {"account": "100201", "fund": "GEN", "debit": "5.00"}, {"account": "3101", "fund": "GEN", "credit": "5.00"},
]


@pytest.fixture
def funded(trust, funds, officer):
    donation_record(trust=trust, external_id="DN-1", date=D, amount=Decimal("100.00"), fund=funds["SMILE"],
                    channel="bank", user=officer)
    return trust


def test_a_draft_posts_nothing_until_another_user_approves(funded, funds, officer, approver):
    before = JournalEntry.objects.count()
    draft = manual_entry_draft(trust=funded, date=D, memo="调拨 transfer", legs=TRANSFER, user=officer)
    assert JournalEntry.objects.count() == before and fund_balance(funds["SMILE"]) == Decimal("100.00")
    posted = manual_entry_approve(manual=draft, user=approver)
    assert posted.status == "posted" and posted.decided_by == approver
    entry = posted.entry
    assert (entry.created_by, entry.approved_by, entry.source_type) == (officer, approver, "manual")
    assert fund_balance(funds["SMILE"]) == Decimal("95.00") and fund_balance(funds["GEN"]) == Decimal("5.00")


def test_the_drafter_cannot_approve_her_own_entry(funded, both):
    draft = manual_entry_draft(trust=funded, date=D, memo="x", legs=TRANSFER, user=both)
    with pytest.raises(FourEyesRefused, match="another user must approve"):
        manual_entry_approve(manual=draft, user=both)
    draft.refresh_from_db()
    assert draft.status == "draft" and draft.entry is None


def test_the_database_refuses_a_self_approval(funded, both):
    draft = manual_entry_draft(trust=funded, date=D, memo="x", legs=TRANSFER, user=both)
    with pytest.raises(IntegrityError, match="four_eyes"), transaction.atomic():
        ManualEntry.objects.filter(pk=draft.pk).update(status="rejected", decided_by=both, reason="x")


def test_an_officer_cannot_approve_and_an_approver_cannot_draft(funded, officer, approver):
    with pytest.raises(PermissionDenied, match="approver may not post journal entries"):
        manual_entry_draft(trust=funded, date=D, memo="x", legs=TRANSFER, user=approver)
    draft = manual_entry_draft(trust=funded, date=D, memo="x", legs=TRANSFER, user=officer)
    with pytest.raises(PermissionDenied, match="officer may not approve journal entries"):
        manual_entry_approve(manual=draft, user=officer)


def test_a_draft_that_could_not_post_is_refused_at_once(funded, officer):
    unbalanced = [dict(leg) for leg in TRANSFER]
    unbalanced[0]["debit"] = "6.00"
    with pytest.raises(Exception, match="do not balance"):
        manual_entry_draft(trust=funded, date=D, memo="x", legs=unbalanced, user=officer)
    with pytest.raises(ManualEntryError, match="no account 9999"):
        manual_entry_draft(trust=funded, date=D, memo="x", legs=[{"account": "9999", "fund": "GEN", "debit": "1"}],
                           user=officer)
    assert not ManualEntry.objects.exists()


def test_rejected_with_a_reason(funded, officer, approver):
    draft = manual_entry_draft(trust=funded, date=D, memo="x", legs=TRANSFER, user=officer)
    with pytest.raises(ManualEntryError, match="needs a reason"):
        manual_entry_reject(manual=draft, user=approver, reason=" ")
    done = manual_entry_reject(manual=draft, user=approver, reason="not agreed by the trustees")
    assert (done.status, done.reason, done.entry) == ("rejected", "not agreed by the trustees", None)
    with pytest.raises(ManualEntryError, match="already rejected"):
        manual_entry_approve(manual=draft, user=approver)


def test_a_reversal_is_drafted_and_approved_too(funded, officer, approver):
    entry = manual_entry_approve(
        manual=manual_entry_draft(trust=funded, date=D, memo="x", legs=TRANSFER, user=officer), user=approver).entry
    ask = manual_reversal_draft(entry=entry, date=D, reason="wrong fund", user=officer)
    assert not JournalEntry.objects.filter(reverses=entry).exists()
    with pytest.raises(ManualEntryError, match="already waits"):
        manual_reversal_draft(entry=entry, date=D, reason="again", user=officer)
    done = manual_entry_approve(manual=ask, user=approver)
    assert done.entry.reverses == entry


def test_the_api_drafts_and_the_inbox_approves(funded, officer, approver, client):
    from rest_framework.test import APIClient

    drafter, checker = APIClient(), APIClient()
    drafter.force_authenticate(officer)
    checker.force_authenticate(approver)
    base = f"/api/v1/trusts/{funded.code}"
    response = drafter.post(base + "/entries/", {"date": "2026-03-02", "memo": "调拨", "legs": TRANSFER}, format="json")
    assert response.status_code == 202, response.content
    number = response.json()["id"]
    assert response.json()["status"] == "draft"
    assert drafter.post(f"{base}/manual-entries/{number}/approve/").status_code == 403
    waiting = checker.get(base + "/manual-entries/?status=draft").json()
    rows = waiting["results"] if isinstance(waiting, dict) else waiting
    assert [row["id"] for row in rows] == [number]
    approved = checker.post(f"{base}/manual-entries/{number}/approve/")
    assert approved.status_code == 200 and approved.json()["status"] == "posted"
    assert approved.json()["entry"] is not None
