"""Posting rules against ledger balances and stock, the workflow, limits, batches and donor traceability."""

from ledger.services import system_user
import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from beneficiaries.errors import (
    FourEyesViolation,
    FundNotAllowed,
    InvalidTransition,
    LimitExceeded,
    PostingRefused,
)
from beneficiaries.models import Disbursement, StockBalance
from beneficiaries.selectors import disbursement_allocations, reach_of_source
from beneficiaries.services import (
    batch_approve,
    batch_cancel,
    batch_create,
    batch_post,
    disbursement_approve,
    disbursement_cancel,
    disbursement_draft,
    disbursement_pay,
    disbursement_reverse,
    disbursement_verify,
    program_set_limits,
)
from ledger.models import JournalEntry
from ledger.selectors import account_balance, fund_balance, trial_balance
from ledger.verification import verify_book

from .conftest import D2, buy_packs, give


def grant(aid, officer, person, ext="DS-1", amount="1000", fund=None, date=D2, **kw):
    return disbursement_draft(
        book=aid.book, external_id=ext, beneficiary=person, program=aid.study_grant, fund=fund or aid.study,
        date=date, amount=Decimal(amount), user=officer, **kw,
    )


def packs(aid, officer, person, ext="SP-1", quantity=1, fund=None, date=D2, **kw):
    return disbursement_draft(
        book=aid.book, external_id=ext, beneficiary=person, program=aid.smile_pack, fund=fund or aid.smile,
        date=date, quantity=quantity, user=officer, **kw,
    )


def balanced(aid) -> bool:
    rows = trial_balance(aid.book)
    return sum(r.debit for r in rows) == sum(r.credit for r in rows) and verify_book(aid.book).ok


def test_study_grant_posts_expense_against_bank_in_the_fund(aid, officer, approver, child):
    give(aid, aid.study, "5000", officer)
    d = grant(aid, officer, child)
    assert d.status == "draft"
    disbursement_approve(disbursement=d, user=approver)
    disbursement_pay(disbursement=d, user=approver)
    assert d.status == "paid" and d.entry is not None
    assert fund_balance(aid.study) == Decimal("4000.00")
    assert account_balance(aid.account("510102"), fund=aid.study) == Decimal("1000.00")
    assert account_balance(aid.account("100201"), fund=aid.study) == Decimal("4000.00")
    entry = JournalEntry.objects.get(pk=d.entry_id)
    assert (entry.source_type, entry.source_id) == ("disbursement", "DS-1")
    assert (entry.created_by, entry.approved_by) == (approver, approver)
    assert balanced(aid)


def test_smile_pack_moves_weighted_average_cost_from_inventory_to_expense(aid, officer, approver, mother):
    give(aid, aid.smile, "10000", officer)
    buy_packs(aid, aid.smile, 10, "1800", officer)      # 180.00 each
    buy_packs(aid, aid.smile, 20, "4200", officer)      # 210.00 each -> average 200.00
    d = packs(aid, officer, mother, quantity=2)
    disbursement_approve(disbursement=d, user=approver)
    disbursement_pay(disbursement=d, user=approver)
    assert d.status == "delivered" and d.amount == Decimal("400.00")
    assert account_balance(aid.account("120101"), fund=aid.smile) == Decimal("5600.00")
    assert account_balance(aid.account("510101"), fund=aid.smile) == Decimal("400.00")
    assert fund_balance(aid.smile) == Decimal("9600.00")
    balance = StockBalance.objects.get(item=aid.item, fund=aid.smile)
    assert (balance.quantity, balance.value) == (28, 560000)
    assert balanced(aid)


def test_four_eyes_refuses_the_drafter(aid, both, child):
    d = grant(aid, both, child)
    with pytest.raises(FourEyesViolation, match="another user must approve it"):
        disbursement_approve(disbursement=d, user=both)
    d.refresh_from_db()
    assert d.status == "draft"


def test_fund_must_be_the_programs_restricted_fund_or_unrestricted(aid, officer, approver, child):
    with pytest.raises(FundNotAllowed, match="fund SMILE is restricted to smile_pack; it cannot pay for program study_grant"):
        grant(aid, officer, child, fund=aid.smile)
    with pytest.raises(FundNotAllowed, match="ENDOW is an endowment"):
        grant(aid, officer, child, fund=aid.endow)
    give(aid, aid.gen, "3000", officer)
    d = grant(aid, officer, child, fund=aid.gen)
    disbursement_approve(disbursement=d, user=approver)
    disbursement_pay(disbursement=d, user=approver)
    assert fund_balance(aid.gen) == Decimal("2000.00")


def test_restricted_fund_is_never_overspent(aid, officer, approver, child):
    give(aid, aid.study, "1500", officer)
    first, second = grant(aid, officer, child, "DS-1"), grant(aid, officer, child, "DS-2")
    for d in (first, second):
        disbursement_approve(disbursement=d, user=approver)
    disbursement_pay(disbursement=first, user=approver)
    with pytest.raises(PostingRefused, match="disbursement DS-2: fund STUDY has 500.00 CNY; this entry needs 1000.00") as exc:
        disbursement_pay(disbursement=second, user=approver)
    assert exc.value.code == "insufficient_funds"
    second.refresh_from_db()
    assert second.status == "approved" and second.entry is None
    assert fund_balance(aid.study) == Decimal("500.00")


def test_stock_never_goes_below_zero(aid, officer, approver, mother):
    give(aid, aid.smile, "10000", officer)
    buy_packs(aid, aid.smile, 2, "400", officer)
    d = packs(aid, officer, mother, quantity=3)
    disbursement_approve(disbursement=d, user=approver)
    with pytest.raises(PostingRefused, match="fund SMILE holds 2 of smile_pack; 3 cannot be handed out") as exc:
        disbursement_pay(disbursement=d, user=approver)
    assert exc.value.code == "insufficient_stock"
    assert StockBalance.objects.get(item=aid.item, fund=aid.smile).quantity == 2


def test_expected_amount_of_packs_must_match_the_average_cost(aid, officer, approver, mother):
    give(aid, aid.smile, "10000", officer)
    buy_packs(aid, aid.smile, 3, "600", officer)
    d = packs(aid, officer, mother, amount=Decimal("250"))
    disbursement_approve(disbursement=d, user=approver)
    with pytest.raises(PostingRefused, match=r"amount 250.00 does not equal 1 x the weighted-average cost \(200.00\)"):
        disbursement_pay(disbursement=d, user=approver)


def test_count_limit_per_beneficiary_per_year(aid, officer, approver, child):
    program_set_limits(user=system_user(), program=aid.study_grant, limit_amount_per_year=None, limit_count_per_year=1)
    grant(aid, officer, child, "DS-1")
    with pytest.raises(LimitExceeded, match="allows 1 disbursement\\(s\\) per beneficiary per year; beneficiary BEN-2 already has 1 in 2026"):
        grant(aid, officer, child, "DS-2")
    # another year is another allowance
    grant(aid, officer, child, "DS-3", date=dt.date(2025, 9, 1))


def test_amount_limit_per_beneficiary_per_year(aid, officer, approver, child):
    program_set_limits(user=system_user(), program=aid.study_grant, limit_amount_per_year=Decimal("3000"), limit_count_per_year=None)
    grant(aid, officer, child, "DS-1", amount="2000")
    with pytest.raises(LimitExceeded, match="allows 3000.00 CNY per beneficiary per year; beneficiary BEN-2 already has 2000.00 CNY in 2026"):
        grant(aid, officer, child, "DS-2", amount="1500")
    d = grant(aid, officer, child, "DS-2", amount="1000")
    assert d.amount == Decimal("1000.00")


def test_cancelled_drafts_do_not_count_towards_limits(aid, officer, approver, child):
    program_set_limits(user=system_user(), program=aid.study_grant, limit_amount_per_year=None, limit_count_per_year=1)
    d = grant(aid, officer, child, "DS-1")
    disbursement_cancel(disbursement=d, user=approver, reason="wrong child")
    grant(aid, officer, child, "DS-2")


def test_cancel_only_before_posting_then_reverse(aid, officer, approver, child):
    give(aid, aid.study, "5000", officer)
    d = grant(aid, officer, child)
    disbursement_approve(disbursement=d, user=approver)
    disbursement_pay(disbursement=d, user=approver)
    with pytest.raises(InvalidTransition, match="DS-1 is paid; it cannot be cancelled"):
        disbursement_cancel(disbursement=d, user=approver, reason="oops")
    disbursement_reverse(disbursement=d, user=approver, date=D2, reason="paid twice")
    assert d.status == "reversed" and d.reversal_entry.reverses_id == d.entry_id
    assert fund_balance(aid.study) == Decimal("5000.00")
    assert account_balance(aid.account("510102")) == Decimal("0.00")
    assert balanced(aid)


def test_reversing_packs_puts_them_back_in_stock(aid, officer, approver, mother):
    give(aid, aid.smile, "1000", officer)
    buy_packs(aid, aid.smile, 5, "1000", officer)
    d = packs(aid, officer, mother, quantity=2)
    disbursement_approve(disbursement=d, user=approver)
    disbursement_pay(disbursement=d, user=approver)
    disbursement_reverse(disbursement=d, user=approver, date=D2, reason="not handed out")
    balance = StockBalance.objects.get(item=aid.item, fund=aid.smile)
    assert (balance.quantity, balance.value) == (5, 100000)
    assert fund_balance(aid.smile) == Decimal("1000.00")
    assert balanced(aid)


def test_verify_after_posting(aid, officer, approver, child):
    give(aid, aid.study, "5000", officer)
    d = grant(aid, officer, child)
    with pytest.raises(InvalidTransition):
        disbursement_verify(disbursement=d, user=officer, date=D2, method="phone", result="received")
    disbursement_approve(disbursement=d, user=approver)
    disbursement_pay(disbursement=d, user=approver)
    v = disbursement_verify(disbursement=d, user=officer, date=dt.date(2026, 9, 10), method="home_visit",
                            result="received", note="家访确认")
    assert d.status == "verified" and v.verified_by == officer
    disbursement_reverse(disbursement=d, user=approver, date=D2, reason="verification found a mistake")


def test_batch_is_approved_by_another_user_and_posted_whole(aid, officer, approver, mother, child):
    give(aid, aid.study, "5000", officer)
    batch = batch_create(book=aid.book, code="2026-08-26-study-day", user=officer)
    grant(aid, officer, child, "DS-1", batch=batch)
    grant(aid, officer, mother, "DS-2", amount="1500", batch=batch)
    with pytest.raises(PermissionDenied, match="officer may not approve disbursements"):
        batch_approve(batch=batch, user=officer)
    d = Disbursement.objects.get(external_id="DS-1")
    with pytest.raises(InvalidTransition, match="belongs to batch 2026-08-26-study-day; approve the batch"):
        disbursement_approve(disbursement=d, user=approver)
    batch_approve(batch=batch, user=approver)
    batch_post(batch=batch, user=approver)
    assert batch.status == "posted"
    assert set(Disbursement.objects.values_list("status", flat=True)) == {"paid"}
    assert fund_balance(aid.study) == Decimal("2500.00")
    assert balanced(aid)


def test_batch_with_one_bad_row_posts_nothing(aid, officer, approver, mother, child):
    give(aid, aid.study, "2000", officer)
    entries_before = JournalEntry.objects.count()
    batch = batch_create(book=aid.book, code="2026-08-26-study-day", user=officer)
    grant(aid, officer, child, "DS-1", batch=batch)
    grant(aid, officer, mother, "DS-2", amount="1500", batch=batch)   # 2,500 in all: one too many
    batch_approve(batch=batch, user=approver)
    with pytest.raises(PostingRefused, match="batch 2026-08-26-study-day: nothing was posted: disbursement DS-2: fund STUDY has 1000.00 CNY"):
        batch_post(batch=batch, user=approver)
    batch.refresh_from_db()
    assert batch.status == "approved"
    assert set(Disbursement.objects.values_list("status", flat=True)) == {"approved"}
    assert JournalEntry.objects.count() == entries_before
    assert fund_balance(aid.study) == Decimal("2000.00")
    batch_cancel(batch=batch, user=approver, reason="the fund is short")
    assert set(Disbursement.objects.values_list("status", flat=True)) == {"cancelled"}


def test_allocations_follow_a_gift_to_the_program_and_its_beneficiaries(aid, officer, approver, mother, child):
    first_gift = give(aid, aid.study, "1500", officer, date=dt.date(2026, 1, 5))
    second_gift = give(aid, aid.study, "5000", officer, date=dt.date(2026, 2, 5))
    batch = batch_create(book=aid.book, code="2026-08-26-study-day", user=officer)
    grant(aid, officer, child, "DS-1", batch=batch)
    grant(aid, officer, mother, "DS-2", batch=batch)
    batch_approve(batch=batch, user=approver)
    batch_post(batch=batch, user=approver)
    d1, d2 = Disbursement.objects.order_by("external_id")
    assert [(a.source.leg.entry_id, a.amount) for a in disbursement_allocations(disbursement=d1)] == [
        (first_gift.pk, 100000)
    ]
    assert [(a.source.leg.entry_id, a.amount) for a in disbursement_allocations(disbursement=d2)] == [
        (first_gift.pk, 50000), (second_gift.pk, 50000)
    ]
    [reach] = reach_of_source(entry=first_gift)
    assert (reach.program_code, reach.amount, reach.disbursements, reach.beneficiaries) == (
        "study_grant", Decimal("1500.00"), 2, 2
    )
    disbursement_reverse(disbursement=d2, user=approver, date=D2, reason="returned")
    [reach] = reach_of_source(entry=first_gift)
    assert (reach.amount, reach.beneficiaries) == (Decimal("1000.00"), 1)
