"""Manual journal entries and reversals under four eyes: one user drafts (``charity.post_journal_entries``),
another approves and posts, or rejects with a reason (``charity.approve_journal_entries``).

A manual entry is how money moves between funds: out of a restricted fund or the endowment, or a release of
restriction; none of them reaches the books on one person's word. The draft is checked as ``entry_post`` would
check it, and checked again when it is posted, against the books as they are then.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from ledger import bounds
from ledger import services as ledger
from ledger.authority import require
from ledger.models import Account, EntryStatus, Fund, JournalEntry, Leg

from ..errors import ManualEntryError
from ..models import ExpensePayment, ManualEntry, ManualEntryKind, ManualEntryStatus, Trust
from ..roles import APPROVE_ENTRIES, DRAFT_ENTRIES
from ._common import check_date, locked_draft


def _specs(trust: Trust, legs: list[dict]) -> list[ledger.LegSpec]:
    book = trust.book
    if not isinstance(legs, list) or not legs:
        raise ManualEntryError("an entry needs legs", field="legs")
    accounts = {a.code: a for a in Account.objects.filter(book=book, code__in={str(leg.get("account")) for leg in legs})}
    funds = {f.code: f for f in Fund.objects.filter(book=book, code__in={str(leg.get("fund")) for leg in legs})}
    specs = []
    for index, leg in enumerate(legs):
        account, fund = accounts.get(str(leg.get("account"))), funds.get(str(leg.get("fund")))
        if account is None:
            raise ManualEntryError(f"leg {index + 1}: no account {leg.get('account')}", field=f"legs[{index}].account")
        if fund is None:
            raise ManualEntryError(f"leg {index + 1}: no fund {leg.get('fund')}", field=f"legs[{index}].fund")
        specs.append(ledger.LegSpec(account=account, fund=fund, debit=_amount(leg.get("debit")),
                                    credit=_amount(leg.get("credit")), currency=leg.get("currency") or "CNY"))
    return specs


def _amount(value):
    return None if value in (None, "") else Decimal(str(value))


def _stored(legs: list[dict]) -> list[dict]:
    keep = ("account", "fund", "debit", "credit", "currency")
    return [{k: str(leg[k]) for k in keep if leg.get(k) not in (None, "")} for leg in legs]


@transaction.atomic
def manual_entry_draft(*, trust: Trust, date: dt.date, memo: str, legs: list[dict], user,
                       fx_rate=None) -> ManualEntry:
    """Draft a manual entry for another user's approval. Refused now if it could not be posted as it stands."""
    require(user, DRAFT_ENTRIES, trust.book)
    date = check_date(date)
    bounds.check_text(memo, field="memo", error=ManualEntryError, what="a memo")
    ledger.entry_check(book=trust.book, date=date, legs=_specs(trust, legs), fx_rate=fx_rate)
    return ManualEntry.objects.create(trust=trust, kind=ManualEntryKind.ENTRY, date=date, memo=(memo or "")[:2000],
                                      fx_rate=fx_rate, legs=_stored(legs), drafted_by=user)


@transaction.atomic
def manual_reversal_draft(*, entry: JournalEntry, date: dt.date, reason: str, user) -> ManualEntry:
    """Ask for a posted entry to be reversed; another user approves (and posts the reversal) or rejects."""
    trust = Trust.objects.get(book_id=entry.book_id)
    require(user, DRAFT_ENTRIES, trust.book)
    date = check_date(date)
    reason = (reason or "").strip()
    if not reason:
        raise ManualEntryError("a reversal needs a reason", field="reason")
    if entry.status != EntryStatus.POSTED:
        raise ManualEntryError(f"entry #{entry.sequence} is not posted", field="entry")
    if JournalEntry.objects.filter(reverses=entry).exists():
        raise ManualEntryError(f"entry #{entry.sequence} has already been reversed", field="entry")
    _check_payables(entry)
    if ManualEntry.objects.filter(reverses=entry, status=ManualEntryStatus.DRAFT).exists():
        raise ManualEntryError(f"a reversal of entry #{entry.sequence} already waits for approval", field="entry")
    return ManualEntry.objects.create(trust=trust, kind=ManualEntryKind.REVERSAL, date=date, reverses=entry,
                                      reason=reason[:500], memo=f"冲销 reversal of #{entry.sequence}: {reason}"[:2000],
                                      drafted_by=user)


def _check_payables(entry: JournalEntry) -> None:
    """A payable's payments and the expense they pay stand together: the ageing of what is owed reads them."""
    if ExpensePayment.objects.filter(entry=entry).exists():
        raise ManualEntryError(f"entry #{entry.sequence} pays an expense recorded as payable: a payment is not "
                               f"reversed; record the refund from the supplier as its own entry", field="entry")
    if ExpensePayment.objects.filter(expense__entry=entry).exists():
        raise ManualEntryError(f"entry #{entry.sequence} records an expense that has been paid in part or in full: "
                               f"it cannot be reversed", field="entry")


def _posting_rows(manual: ManualEntry) -> list:
    """What approving ``manual`` will lock when it posts (``ledger.locking``): the book and the funds of its legs
    (of the entry it reverses), taken before the draft's own row."""
    book = manual.trust.book
    if manual.kind == ManualEntryKind.REVERSAL:
        funds = Fund.objects.filter(pk__in=Leg.objects.filter(entry_id=manual.reverses_id).values("fund_id"))
    else:
        codes = {str(leg.get("fund")) for leg in manual.legs if isinstance(leg, dict)} if isinstance(manual.legs, list) else set()
        funds = Fund.objects.filter(book=book, code__in=codes)
    return [book, *funds]


def _decide(manual: ManualEntry, user, *, posts: bool = False) -> ManualEntry:
    return locked_draft(manual, user, perm=APPROVE_ENTRIES, drafter="drafted_by", label=f"manual entry #{manual.pk}",
                        error=ManualEntryError, ahead=_posting_rows(manual) if posts else ())


@transaction.atomic
def manual_entry_approve(*, manual: ManualEntry, user) -> ManualEntry:
    """Approve a draft and post it: the entry records the drafter as its author and ``user`` as its approver."""
    locked = _decide(manual, user, posts=True)
    if locked.kind == ManualEntryKind.REVERSAL:
        _check_payables(locked.reverses)
        entry = ledger.entry_reverse(entry=locked.reverses, date=locked.date, reason=locked.reason, user=user,
                                     idempotency_key=f"manual:{locked.pk}")
    else:
        entry = ledger.entry_post(
            book=locked.trust.book, date=locked.date, memo=locked.memo, legs=_specs(locked.trust, locked.legs),
            user=locked.drafted_by, approved_by=user, fx_rate=locked.fx_rate, source=("manual", str(locked.pk)),
            idempotency_key=f"manual:{locked.pk}")
    locked.status, locked.entry = ManualEntryStatus.POSTED, entry
    locked.decided_by, locked.decided_at = user, timezone.now()
    locked.save(update_fields=["status", "entry", "decided_by", "decided_at"])
    return locked


@transaction.atomic
def manual_entry_reject(*, manual: ManualEntry, user, reason: str) -> ManualEntry:
    reason = (reason or "").strip()
    if not reason:
        raise ManualEntryError("a rejection needs a reason", field="reason")
    locked = _decide(manual, user)
    locked.status, locked.reason = ManualEntryStatus.REJECTED, reason[:500]
    locked.decided_by, locked.decided_at = user, timezone.now()
    locked.save(update_fields=["status", "reason", "decided_by", "decided_at"])
    return locked
