"""The approver's start page: everything in the trust that waits for a second pair of eyes, with its buttons.

Each button posts ``kind`` (what the item is), ``pk`` and ``action``; the page resolves the item in the trust it
shows and calls exactly one service with ``request.user``. Who may approve, and that nobody approves what they
drafted (four eyes), are the services' rules: the page only hides buttons that the service would refuse, and a
refusal (a domain error or ``PermissionDenied``) is shown as a message, with nothing changed. Beneficiaries are
shown by their external id and masked identity number (``beneficiaries.privacy``), never by anything more.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, Sum
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from beneficiaries import services as aid
from beneficiaries.authority import APPROVE as APPROVE_AID
from beneficiaries.errors import AidError
from beneficiaries.models import BatchStatus, Disbursement, DisbursementBatch, DisbursementStatus
from beneficiaries.privacy import mask_id_number
from charity import services
from charity.errors import CharityError
from charity.models import CashCount, CashCountStatus, ExpenseRequest, ManualEntry
from charity.models.expenses import ExpenseRequestStatus
from charity.models.journal import ManualEntryStatus
from charity.roles import APPROVE_ENTRIES, APPROVE_EXPENSES, READ
from ledger.errors import LedgerError

from .common import trust_for

WAITING = (DisbursementStatus.DRAFT, DisbursementStatus.APPROVED)


def _manual(trust, pk):
    return ManualEntry.objects.get(trust=trust, pk=pk)


def _expense(trust, pk):
    return ExpenseRequest.objects.get(trust=trust, pk=pk)


def _cash_count(trust, pk):
    return CashCount.objects.get(trust=trust, pk=pk)


def _disbursement(trust, pk):
    return Disbursement.objects.select_related("batch").get(book=trust.book, pk=pk)


def _batch(trust, pk):
    return DisbursementBatch.objects.get(book=trust.book, pk=pk)


# kind -> (how to find it in the trust, how to name it, {action: the one service it calls})
ACTIONS = {
    "manual": (_manual, lambda m: _("manual entry #%(pk)s") % {"pk": m.pk}, {
        "approve": lambda m, user, reason: services.manual_entry_approve(manual=m, user=user),
        "reject": lambda m, user, reason: services.manual_entry_reject(manual=m, user=user, reason=reason),
    }),
    "expense": (_expense, lambda r: _("expense %(id)s") % {"id": r.external_id}, {
        "approve": lambda r, user, reason: services.expense_request_approve(request=r, user=user),
        "reject": lambda r, user, reason: services.expense_request_reject(request=r, user=user, reason=reason),
    }),
    "cashcount": (_cash_count, lambda c: _("the cash count of %(date)s") % {"date": c.date.isoformat()}, {
        "approve": lambda c, user, reason: services.cash_count_approve(count=c, user=user),
        "reject": lambda c, user, reason: services.cash_count_reject(count=c, user=user, reason=reason),
    }),
    "disbursement": (_disbursement, lambda d: _("disbursement %(id)s") % {"id": d.external_id}, {
        "approve": lambda d, user, reason: aid.disbursement_approve(disbursement=d, user=user),
        "pay": lambda d, user, reason: aid.disbursement_pay(disbursement=d, user=user),
        "cancel": lambda d, user, reason: aid.disbursement_cancel(disbursement=d, user=user, reason=reason),
    }),
    "batch": (_batch, lambda b: _("batch %(code)s") % {"code": b.code}, {
        "approve": lambda b, user, reason: aid.batch_approve(batch=b, user=user),
        "post": lambda b, user, reason: aid.batch_post(batch=b, user=user),
        "cancel": lambda b, user, reason: aid.batch_cancel(batch=b, user=user, reason=reason),
    }),
}

DONE = {
    "approve": lambda: _("approved"), "reject": lambda: _("rejected"), "pay": lambda: _("paid or delivered"),
    "post": lambda: _("posted"), "cancel": lambda: _("cancelled"),
}


def _leg_total(legs: list[dict]) -> dict[str, Decimal]:
    """A manual entry's debits per currency (CNY when the leg names none): its size as the drafter asked."""
    totals: dict[str, Decimal] = {}
    for leg in legs or []:
        if leg.get("debit"):
            currency = leg.get("currency") or "CNY"
            totals[currency] = totals.get(currency, Decimal("0")) + Decimal(str(leg["debit"]))
    return totals


def _inbox(trust, user) -> dict:
    manuals = list(
        ManualEntry.objects.filter(trust=trust, status=ManualEntryStatus.DRAFT)
        .select_related("drafted_by", "reverses").order_by("drafted_at", "pk")
    )
    for m in manuals:
        m.totals, m.mine = sorted(_leg_total(m.legs).items()), m.drafted_by_id == user.pk
    expenses = list(
        ExpenseRequest.objects.filter(trust=trust, status=ExpenseRequestStatus.DRAFT)
        .select_related("requested_by").order_by("requested_at", "pk")
    )
    for r in expenses:
        r.mine = r.requested_by_id == user.pk
    counts = list(
        CashCount.objects.filter(trust=trust, status=CashCountStatus.DRAFT).select_related("recorded_by")
        .order_by("recorded_at", "pk")
    )
    for c in counts:
        c.mine = c.recorded_by_id == user.pk
    disbursements = list(
        Disbursement.objects.filter(book=trust.book, batch__isnull=True, status__in=WAITING)
        .select_related("beneficiary", "program", "fund", "created_by", "approved_by").order_by("created_at", "pk")
    )
    for d in disbursements:
        d.masked_id, d.mine = mask_id_number(d.beneficiary.id_number), d.created_by_id == user.pk
    live = Q(disbursements__status__in=WAITING)
    batches = list(
        DisbursementBatch.objects.filter(book=trust.book, status__in=(BatchStatus.DRAFT, BatchStatus.APPROVED))
        .select_related("created_by", "approved_by")
        .annotate(members=Count("disbursements", filter=live), total=Sum("disbursements__amount", filter=live),
                  mine_rows=Count("disbursements", filter=live & Q(disbursements__created_by=user)))
        .order_by("created_at", "pk")
    )
    for b in batches:  # the batch's drafter or the drafter of any row in it: batch_approve refuses both
        b.mine = b.created_by_id == user.pk or b.mine_rows > 0
    return {
        "manuals": manuals, "expenses": expenses, "counts": counts, "disbursements": disbursements,
        "batches": batches,
        "can": {
            "manual": user.has_perm(APPROVE_ENTRIES, trust),
            "expense": user.has_perm(APPROVE_EXPENSES, trust),
            "aid": user.has_perm(APPROVE_AID, trust),
        },
    }


def _decide(request, trust):
    """Run the one service the button names. Returns the HTTP status of a refusal, or None on success."""
    kind, action = request.POST.get("kind", ""), request.POST.get("action", "")
    if kind not in ACTIONS or action not in ACTIONS[kind][2]:
        messages.error(request, _("Choose an item and what to do with it."))
        return 400
    find, name, calls = ACTIONS[kind]
    try:
        item = find(trust, int(request.POST.get("pk", "")))
    except (ValueError, ManualEntry.DoesNotExist, ExpenseRequest.DoesNotExist, Disbursement.DoesNotExist,
            DisbursementBatch.DoesNotExist, CashCount.DoesNotExist):
        raise Http404("no such item in this trust")
    try:
        calls[action](item, request.user, request.POST.get("reason", ""))
    except PermissionDenied:
        messages.error(request, _("%(item)s: you may not do this in this trust.") % {"item": name(item)})
        return 403
    except (CharityError, AidError, LedgerError) as exc:
        messages.error(request, _("%(item)s was refused: %(reason)s") % {"item": name(item), "reason": exc.message})
        return 400
    messages.success(request, _("%(item)s: %(done)s.") % {"item": name(item), "done": DONE[action]()})
    return None


@login_required
def approvals(request):
    trust = trust_for(request, READ)
    status = 200
    if request.method == "POST":
        status = _decide(request, trust)
        if status is None:
            return redirect(f"{reverse('office-approvals')}?trust={trust.code}")
    context = {"trust": trust, **_inbox(trust, request.user)}
    return render(request, "charity/office_approvals.html", context, status=status)
