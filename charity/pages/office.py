"""The finance office's own screens beside the admin: import a CSV file with its row errors shown, close a month.

Both call the same code as the commands (``ledger.csvio.run_import`` with the kind's importer, and
``ledger.services.period_close``), so what the screen accepts or refuses is exactly what ``import_csv`` and
``close_period`` do.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from charity.errors import CharityError
from charity.importers import KINDS, importer_class
from charity.services.closing import year_close
from ledger.csvio import run_import
from ledger.errors import LedgerError
from ledger.models import Period, YearClose
from ledger.services import period_close

from charity.roles import RECORD
from ledger.authority import CLOSE_PERIODS

from .common import trust_for

MAX_UPLOAD = 20 * 1024 * 1024


@login_required
def import_file(request):
    trust = trust_for(request, RECORD)
    context = {"trust": trust, "kinds": KINDS, "result": None, "selected": {}}
    if request.method == "POST":
        kind = request.POST.get("kind", "")
        upload = request.FILES.get("file")
        # Aid imported on the web is always a draft that another user approves (four eyes); only an operator at
        # the shell records aid already given (import_csv without --draft).
        context["selected"] = {"kind": kind, "dry_run": bool(request.POST.get("dry_run")), "draft": True}
        if kind not in KINDS:
            context["error"] = _("Choose what the file holds.")
        elif upload is None:
            context["error"] = _("Choose a CSV file.")
        elif upload.size > MAX_UPLOAD:
            context["error"] = _("The file is larger than 20 MB; import it with the import_csv command.")
        else:
            importer = importer_class(kind)(book=trust.book, user=request.user, draft=context["selected"]["draft"])
            result = run_import(importer, upload.read(), dry_run=context["selected"]["dry_run"])
            context["result"] = result
            context["filename"] = upload.name
        status = 400 if context.get("error") or (context["result"] and context["result"].errors) else 200
        return render(request, "charity/office_import.html", context, status=status)
    return render(request, "charity/office_import.html", context)


@login_required
def close_month(request):
    """Close a month; or close a year (``year_close``, as the ``close_year`` command: revaluation at the rates
    given, one ``CUR=RATE`` a line, or the books' latest; the release; the closing entries)."""
    trust = trust_for(request, CLOSE_PERIODS)
    if request.method == "POST" and request.POST.get("action") == "year":
        text = request.POST.get("year", "").strip()
        rates = [line.strip() for line in request.POST.get("rates", "").splitlines() if line.strip()]
        try:
            if not (text.isdigit() and len(text) == 4):
                raise CharityError(_("a year is four digits, e.g. 2025"), field="year")
            result = year_close(trust=trust, year=int(text), rates=rates, user=request.user)
        except (CharityError, LedgerError) as exc:
            messages.error(request, f"{exc.field or 'year'}: {exc.message}")
        else:
            if result.already_closed:
                messages.info(request, _("Year %(year)s was already closed: nothing to do.") % {"year": text})
            else:
                used = "; ".join(rate.describe() for rate in result.rates)
                messages.success(request, _("Closed year %(year)s with %(count)s entries.") % {
                    "year": text, "count": len(result.entries)} + (f" {used}" if used else ""))
            return redirect("office-close")
    elif request.method == "POST":
        month = request.POST.get("month", "").strip()
        try:
            period_close(book=trust.book, month=month, user=request.user)
        except LedgerError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Closed through %(month)s.") % {"month": month})
            return redirect("office-close")
    periods = Period.objects.filter(book=trust.book).select_related("closed_by").order_by("-month")[:24]
    years = YearClose.objects.filter(book=trust.book).order_by("-year")[:10]
    trust.book.refresh_from_db(fields=["closed_through"])
    return render(request, "charity/office_close.html", {"trust": trust, "periods": periods, "years": years},
                  status=200)
