"""The donor portal: my gifts, their receipts, where my money went, my annual statement.

Everything is looked up through the signed-in user's own ``Donor`` record: another donor's gift is simply not
found (404, never 403, so that its existence is not revealed). Beneficiaries are only ever counted, never
named, and a count below five is shown as "fewer than 5".
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from charity.documents import receipt_pdf
from charity.dbrouter import standby_read
from charity.models import Donation, Donor, Receipt
from charity.selectors import donation_trace, gift_uses

from .common import people


def _donor(request) -> Donor:
    donor = Donor.objects.filter(user=request.user).select_related("trust").first()
    if donor is None:
        raise Http404("no donor record for this user")
    return donor


def _gift(request, external_id: str) -> Donation:
    donor = _donor(request)
    donation = (
        Donation.objects.filter(donor=donor, external_id=external_id)
        .select_related("fund", "entry", "trust")
        .first()
    )
    if donation is None:
        raise Http404("no such gift")
    return donation


@login_required
@standby_read
def donor_home(request):
    donor = Donor.objects.filter(user=request.user).select_related("trust").first()
    if donor is None:
        return render(request, "charity/donor_home.html", {"donor": None, "gifts": []})
    gifts = (
        Donation.objects.filter(donor=donor)
        .select_related("fund", "official_receipt")
        .prefetch_related(Prefetch("receipts", queryset=Receipt.objects.filter(voided_at__isnull=True), to_attr="valid"))
        .order_by("-date", "-pk")
    )
    total = sum((g.amount_cny for g in gifts), Decimal("0.00"))
    years = sorted({g.date.year for g in gifts}, reverse=True)
    return render(request, "charity/donor_home.html", {"donor": donor, "gifts": gifts, "total": total, "years": years})


@login_required
@standby_read
def gift_detail(request, external_id: str):
    donation = _gift(request, external_id)
    trace = donation_trace(donation)
    rows = [{
        "label": (f"{use.program.name} · {use.program.name_en}" if use.program
                  else _("Management and administration")),
        "amount": use.amount, "first": use.first, "last": use.last, "percent": use.percent,
        "people": people(use.beneficiaries) if use.program else "—",
    } for use in gift_uses(trace)]
    total = trace.amount_cny or Decimal("1")
    unspent_percent = int((trace.unspent / total * 100).quantize(Decimal("1"))) if trace.amount_cny else 0
    return render(request, "charity/gift_detail.html", {
        "donation": donation, "trace": trace, "rows": rows, "unspent_percent": unspent_percent,
    })


@login_required
@standby_read
def gift_receipt(request, external_id: str):
    donation = _gift(request, external_id)
    receipt = donation.receipts.filter(voided_at__isnull=True).order_by("-pk").first()
    if receipt is None:
        raise Http404("no valid receipt")
    response = HttpResponse(receipt_pdf(receipt), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="receipt-{receipt.label}.pdf"'
    return response


@login_required
@standby_read
def my_statement(request):
    from charity.api.reports import report_response

    donor = _donor(request)
    year = request.GET.get("year") or ""
    query = {"format": "pdf", "donor": donor.external_id}
    if year.isdigit():
        query["year"] = year
    response = report_response(book=donor.trust.book, name="donor-statement", query=query, filename_prefix="my-")
    if getattr(response, "data", None) is not None:
        raise Http404("no statement")
    return response
