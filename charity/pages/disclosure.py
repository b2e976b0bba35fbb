"""信息公开: the public disclosure page (no sign-in). Totals, the honour roll, reach per program; never a
beneficiary's identity, and anonymous donors appear as anonymous."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.paginator import Paginator
from django.db.models import Count, F, Sum
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import render
from django.utils import timezone

from beneficiaries.models import Disbursement, Program
from charity.dbrouter import standby_read
from charity.models import Donation
from charity.selectors import fund_donations
from ledger import selectors as ledger_selectors
from ledger.models import Account, AccountType, Fund, from_minor

from .common import current_trust, people

POSTED = ("paid", "delivered", "verified")


@standby_read
def disclosure(request):
    trust = current_trust(request)
    today = timezone.localdate()
    try:
        year = int(request.GET.get("year") or today.year)
    except ValueError:
        raise Http404("no such year") from None
    if not 2000 <= year <= today.year:
        raise Http404("no such year")
    start, end = dt.date(year, 1, 1), min(dt.date(year, 12, 31), today)
    book = trust.book
    donations_by_fund = fund_donations(trust=trust, date_from=start, date_to=end)
    expense_accounts = {a.pk: a for a in Account.objects.filter(book=book, type=AccountType.EXPENSE)}
    spent = ledger_selectors.movements(book.pk, since=start, as_of=end, account_ids=list(expense_accounts),
                                       group=("account_id", "fund_id"), closing=False)
    spent_by_fund: dict[int, int] = {}
    spent_by_purpose: dict[str, int] = {}
    for (account_id, fund_id), (debit, credit) in spent.items():
        spent_by_fund[fund_id] = spent_by_fund.get(fund_id, 0) + debit - credit
        purpose = expense_accounts[account_id].purpose or ""
        spent_by_purpose[purpose] = spent_by_purpose.get(purpose, 0) + debit - credit
    funds = []
    for fund in Fund.objects.filter(book=book).order_by("code"):
        received = donations_by_fund.get(fund.code, Decimal("0.00"))
        used = from_minor(spent_by_fund.get(fund.pk, 0))
        if received or used:
            funds.append({"fund": fund, "received": received, "spent": used})
    reached = dict(
        Disbursement.objects.filter(program__book=book, status__in=POSTED, date__range=(start, end))
        .values("program__code").annotate(n=Count("beneficiary", distinct=True)).values_list("program__code", "n")
    )
    programs = []
    for program in Program.objects.filter(book=book).order_by("code"):
        amount = from_minor(spent_by_purpose.get(program.code, 0))
        count = reached.get(program.code, 0)
        if amount or count:
            programs.append({"program": program, "spent": amount, "people": people(count)})
    # The honour roll: the year's gifts as the trust keeps them, net of their refunds (a gift given back whole is
    # not on it). Its total is the funds table's: donation income of the year, net of the year's refunds.
    gifts = (
        Donation.objects.filter(trust=trust, date__range=(start, end))
        .annotate(refunded=Coalesce(Sum("refunds__amount_cny"), Decimal("0.00")))
        .annotate(kept=F("amount_cny") - F("refunded"))
        .filter(kept__gt=0)
        .select_related("donor", "fund")
        .order_by("-date", "-pk")
    )
    page = Paginator(gifts, 100).get_page(request.GET.get("page"))
    return render(request, "charity/disclosure.html", {
        "trust": trust, "year": year, "years": range(today.year, max(2000, today.year - 5), -1),
        "funds": funds, "programs": programs, "page": page,
        "total": sum((row["received"] for row in funds), Decimal("0.00")), "count": page.paginator.count,
    })


@standby_read
def annual_report(request):
    """The annual report PDF of a year, for everyone (it carries no beneficiary's identity)."""
    from charity.api.reports import report_response

    trust = current_trust(request)
    year = request.GET.get("year") or str(timezone.localdate().year)
    if not year.isdigit():
        raise Http404("no such year")
    response = report_response(book=trust.book, name="annual-report", query={"format": "pdf", "year": year})
    if getattr(response, "data", None) is not None:
        error = response.data["error"]
        if error["field"] == "year":  # outside the books' range (ledger.bounds): say so
            return HttpResponseBadRequest(error["message"], content_type="text/plain; charset=utf-8")
        raise Http404("no annual report")
    return response
