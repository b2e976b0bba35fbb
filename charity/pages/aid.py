"""Aid for the office: draft one disbursement, or build a distribution day's batch from a filtered list of
beneficiaries (tick, then "create batch": one draft per person ticked, in a new batch), print the batch's sign-off
sheet, record a delivery and a follow-up verification, attach files to a disbursement (``attaching``).

Every write is one service of ``beneficiaries.services`` called with ``request.user``; a refusal is shown on the
form beside the field it names. A batch is drafted in one transaction: every disbursement of it, or none.
Approving and posting a batch is the approver's, on the approvals inbox (``approvals.py``), where the four-eyes
rule of ``batch_approve`` keeps the drafter from approving her own batch.
"""

from __future__ import annotations

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Max, Min, Q, Sum
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from beneficiaries import services as aid
from beneficiaries.authority import APPROVE, DRAFT
from beneficiaries.errors import AidError
from beneficiaries.models import (
    LIVE_STATUSES,
    POSTED_STATUSES,
    Beneficiary,
    BeneficiaryStatus,
    Disbursement,
    DisbursementBatch,
    DisbursementStatus,
)
from beneficiaries.privacy import masked_pii
from charity.api.pii import pii_of
from charity.reports import render_report, resolve_params
from charity.reports.registers import BeneficiaryRegister
from charity.roles import READ

from . import attaching
from .common import trust_for
from .filters import BeneficiaryPageFilter
from .forms import BatchForm, DisbursementForm, VerifyForm, service_error

MAX_LISTED = 500  # people listed to tick from at once; filter further for more


def _candidates(request, trust):
    people = (Beneficiary.objects.filter(book=trust.book, status=BeneficiaryStatus.ACTIVE)
              .select_related("household").order_by("external_id"))
    filters = BeneficiaryPageFilter(request.GET or None, queryset=people, book=trust.book)
    return filters, (filters.qs if not filters.errors else people.none())


def _batches(trust):
    live = Q(disbursements__status__in=LIVE_STATUSES)
    return (DisbursementBatch.objects.filter(book=trust.book).select_related("created_by")
            .annotate(members=Count("disbursements", filter=live), total=Sum("disbursements__amount", filter=live))
            .order_by("-created_at", "-pk"))


@login_required
def aid_home(request):
    trust = trust_for(request, READ)
    can_draft = request.user.has_perm(DRAFT, trust)
    form = None
    status = 200
    if request.method == "POST":
        if not can_draft:
            raise PermissionDenied
        form = BatchForm(request.POST, book=trust.book)
        if form.is_valid():
            batch = _create_batch(request, trust, form)
            if batch is not None:
                messages.success(request, _("Batch %(code)s drafted with %(n)s disbursements; an approver approves "
                                            "it on the approvals page.") % {"code": batch.code, "n": batch.drafted})
                return redirect(f"{reverse('office-aid-batch', args=[batch.code])}?trust={trust.code}")
        status = 400
    filters, people = _candidates(request, trust)
    listed = list(people[:MAX_LISTED + 1])
    more = len(listed) > MAX_LISTED
    listed = listed[:MAX_LISTED]
    if can_draft and form is None:
        day = filters.form.cleaned_data.get("on") if filters.is_bound and not filters.errors else None
        program = filters.form.cleaned_data.get("program") if filters.is_bound and not filters.errors else None
        form = BatchForm(book=trust.book, initial={"date": day or timezone.localdate(), "program": program,
                                                    "quantity": 1})
    ticked = set(request.POST.getlist("people")) if request.method == "POST" else set()
    pii = pii_of(listed, user=request.user, purpose="page: aid list")
    context = {
        "trust": trust, "filters": filters, "form": form if can_draft else None, "more": more,
        "max_listed": MAX_LISTED, "rows": [{"person": p, "pii": pii[p.pk], "ticked": p.external_id in ticked}
                                           for p in listed],
        "batches": _batches(trust)[:20], "can_draft": can_draft,
        "singles": Disbursement.objects.filter(book=trust.book, batch__isnull=True)
        .select_related("beneficiary", "program").order_by("-created_at", "-pk")[:20],
    }
    return render(request, "charity/office_aid.html", context, status=400 if filters.errors else status)


def _create_batch(request, trust, form):
    data = form.cleaned_data
    people = sorted(data["people"], key=lambda p: p.external_id)
    try:
        with transaction.atomic():
            batch = aid.batch_create(book=trust.book, code=data["code"], user=request.user,
                                     description=data["description"])
            for n, person in enumerate(people, 1):
                aid.disbursement_draft(
                    book=trust.book, external_id=f"{batch.code}-{n:03d}", beneficiary=person,
                    program=data["program"], fund=data["fund"], date=data["date"], user=request.user,
                    amount=data["amount"], quantity=data["quantity"], batch=batch)
    except AidError as exc:
        service_error(form, exc, fields={"external_id": "code", "beneficiary": "people"})
        return None
    batch.drafted = len(people)
    return batch


@login_required
def aid_draft(request):
    trust = trust_for(request, DRAFT)
    form = DisbursementForm(request.POST or None, book=trust.book,
                            initial={"beneficiary": request.GET.get("beneficiary", ""),
                                     "date": timezone.localdate(), "quantity": 1})
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                d = aid.disbursement_draft(book=trust.book, user=request.user, **data)
            except AidError as exc:
                service_error(form, exc)
            else:
                messages.success(request, _("Disbursement %(id)s drafted; an approver approves it on the approvals "
                                            "page.") % {"id": d.external_id})
                return redirect(f"{reverse('office-aid-disbursement', args=[d.external_id])}?trust={trust.code}")
        return render(request, "charity/office_aid_draft.html", {"trust": trust, "form": form}, status=400)
    return render(request, "charity/office_aid_draft.html", {"trust": trust, "form": form})


def _batch(trust, code) -> DisbursementBatch:
    batch = DisbursementBatch.objects.filter(book=trust.book, code=code).select_related(
        "created_by", "approved_by", "posted_by").first()
    if batch is None:
        raise Http404("no such batch in this trust")
    return batch


@login_required
def aid_batch(request, code):
    trust = trust_for(request, READ)
    batch = _batch(trust, code)
    members = list(batch.disbursements.select_related("beneficiary", "program", "fund").order_by("external_id"))
    live = [d for d in members if d.status in LIVE_STATUSES]
    context = {
        "trust": trust, "batch": batch,
        "rows": [{"d": d, "pii": masked_pii(d.beneficiary)} for d in members],
        "total": sum((d.amount for d in live if d.amount is not None), start=0),
        "quantity": sum(d.quantity for d in live),
    }
    return render(request, "charity/office_aid_batch.html", context)


class BatchSheet(BeneficiaryRegister):
    """The beneficiary register narrowed to one batch: its people, the masked identity number and the signature
    column, drawn by the same report renderer. Not registered as a report of its own."""

    batch: DisbursementBatch

    def disbursements(self):
        return super().disbursements().filter(batch=self.batch)

    def parameters_text(self) -> str:
        return f"批次 Batch {self.batch.code} · {super().parameters_text()}"


@login_required
def aid_sheet(request, code):
    trust = trust_for(request, READ)
    batch = _batch(trust, code)
    span = batch.disbursements.aggregate(first=Min("date"), last=Max("date"))
    first = span["first"] or timezone.localdate(batch.created_at)
    params = resolve_params(BeneficiaryRegister, trust.book, date_from=first, date_to=span["last"] or first)
    sheet = type("BatchSheetOf", (BatchSheet,), {"batch": batch})
    content = _rendered(trust.book, sheet, params)
    response = HttpResponse(content, content_type="application/pdf")
    name = re.sub(r"[^A-Za-z0-9._-]", "_", batch.code)
    response["Content-Disposition"] = f'attachment; filename="{trust.code}-batch-{name}-sign-off.pdf"'
    return response


def _rendered(book, report, params) -> bytes:
    import io

    out = io.BytesIO()
    render_report(book=book, report=report, params=params, fmt="pdf", out=out)
    return out.getvalue()


@login_required
def aid_disbursement(request, external_id):
    trust = trust_for(request, READ)
    d = (Disbursement.objects.filter(book=trust.book, external_id=external_id)
         .select_related("beneficiary", "program", "fund", "batch", "created_by", "approved_by", "posted_by").first())
    if d is None:
        raise Http404("no such disbursement in this trust")
    can_draft, can_approve = request.user.has_perm(DRAFT, trust), request.user.has_perm(APPROVE, trust)
    verify = attach = None
    status = 200
    here = f"{reverse('office-aid-disbursement', args=[d.external_id])}?trust={trust.code}"
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action in (attaching.ATTACH, attaching.REMOVE):
            if not attaching.can_attach(request, trust):
                raise PermissionDenied
            done, attach = attaching.handle(request, target=d, attachments=d.attachments.all())
            if done:
                return redirect(here)
            status = 400
        elif not (can_draft or can_approve):
            raise PermissionDenied
        elif action == "deliver":
            try:
                aid.disbursement_deliver(disbursement=d, user=request.user)
            except AidError as exc:
                messages.error(request, exc.message)
                status = 400
            else:
                messages.success(request, _("Disbursement %(id)s: paid or delivered.") % {"id": d.external_id})
                return redirect(here)
        elif action == "verify":
            verify = VerifyForm(request.POST)
            if verify.is_valid():
                try:
                    aid.disbursement_verify(disbursement=d, user=request.user, **verify.cleaned_data)
                except AidError as exc:
                    service_error(verify, exc)
                else:
                    messages.success(request, _("Disbursement %(id)s: verification recorded.") % {"id": d.external_id})
                    return redirect(here)
            status = 400
        else:
            messages.error(request, _("Choose what to record."))
            status = 400
        d.refresh_from_db()
    posted = d.status in (DisbursementStatus.PAID, DisbursementStatus.DELIVERED)
    context = {
        "trust": trust, "d": d, "pii": masked_pii(d.beneficiary),
        "can_deliver": can_approve and d.batch_id is None and d.status == DisbursementStatus.APPROVED,
        "verify": (verify or VerifyForm(initial={"date": timezone.localdate()})) if can_draft and posted else None,
        "verification": getattr(d, "verification", None) if d.status == DisbursementStatus.VERIFIED else None,
        "posted": d.status in POSTED_STATUSES,
        **attaching.context(request, trust, d.attachments.all(), attach),
    }
    return render(request, "charity/office_aid_disbursement.html", context, status=status)
