"""The auditor's page: pick a report, a period and a format, download; see verify_ledger's line."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.translation import gettext as _
from rest_framework.exceptions import APIException
from rest_framework.response import Response

from charity.api.reports import report_response
from charity.dbrouter import standby_read
from charity.reports import REPORTS, report_names
from ledger.models import Fund
from ledger.verification import verify_book

from charity.roles import READ

from .common import trust_for


@login_required
@standby_read
def auditor_home(request):
    trust = trust_for(request, READ)
    verdict = verify_book(trust.book)
    # Plain dicts: a template calls what is callable, and a Report class called without arguments fails, which
    # left every option of the select empty.
    reports = [{"name": name, "title": REPORTS[name].title, "title_en": REPORTS[name].title_en}
               for name in report_names()]
    context = {
        "trust": trust,
        "verdict": verdict,
        "reports": reports,
        "funds": Fund.objects.filter(book=trust.book).order_by("code"),
        "error": None,
    }
    name = request.GET.get("report")
    if name:
        query = {k: v for k, v in request.GET.items() if v and k != "report"}
        try:
            response = report_response(book=trust.book, name=name, query=query)
        except APIException as exc:
            context["error"] = str(exc.detail)
        else:
            if not isinstance(response, Response):
                return response
            context["error"] = response.data["error"]["message"]
        context["selected"] = request.GET
    else:
        context["selected"] = {}
    if context["error"]:
        context["error"] = _("The report could not be made: %(reason)s") % {"reason": context["error"]}
    return render(request, "charity/auditor.html", context, status=400 if context["error"] else 200)
