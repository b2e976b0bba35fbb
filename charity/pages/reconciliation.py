"""对账: the trust's money accounts against their bank and payment-platform statements (issue 20).

The list shows every money account (货币资金 明细: the bank accounts per currency, the WeChat Pay and Alipay
clearing accounts, cash) with its last statement date, what is still unmatched on each side and the last month
reconciled. An account's page imports a statement, matches automatically or by hand, undoes a match, books a line
the books lack (a bank fee, interest), shows the 余额调节表 of a month end, marks the month reconciled and sets the
matching window. Everyone of the trust reads it; only the finance officer acts (``charity.record_transactions``).

Each POST calls one service of ``charity.services.reconciliation``, which checks the permission and every rule
itself; the page parses the form, shows a refusal and adds no rule of its own.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Max
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from charity import chart, services
from charity.errors import CharityError
from charity.models import ExpenseRequest, ReconciledMonth, StatementLine, StatementMatch
from charity.models.reconciliation import MatchedLeg
from charity.reconciliation import account_legs, booking_id, leg_amount, match_days, month_end, reconcile
from charity.roles import READ, RECORD
from charity.services.reconciliation import INCOME_ACCOUNTS
from charity.statement_formats import LAYOUTS
from ledger import bounds
from ledger.errors import LedgerError
from ledger.models import Account, Leg, from_minor

from .common import trust_for
from .office import MAX_UPLOAD

REFUSALS = (CharityError, LedgerError)
SHOWN = 500  # unmatched lines and legs shown on the page, oldest first; the report lists them all
ACTIONS = ("import", "auto", "match", "unmatch", "book", "reconcile", "days")


def money_accounts(trust):
    """The trust's 货币资金 明细 (and a 总账 with none, such as 1001 cash), in code order."""
    accounts = Account.objects.filter(book=trust.book).annotate(n_children=Count("children")).order_by("code")
    return [a for a in accounts if chart.is_monetary(a.code) and a.n_children == 0]


def _account(trust, code: str) -> Account:
    account = next((a for a in money_accounts(trust) if a.code == code), None)
    if account is None:
        raise Http404("no such money account")
    return account


def _unmatched_legs(account: Account):
    taken = MatchedLeg.objects.filter(match__account=account).values("leg_id")
    return account_legs(account).exclude(pk__in=taken)


@login_required
def reconciliation_list(request):
    trust = trust_for(request, READ)
    rows = []
    for account in money_accounts(trust):
        lines = StatementLine.objects.filter(account=account)
        rows.append({
            "account": account,
            "last_date": lines.aggregate(last=Max("date"))["last"],
            "unmatched_lines": lines.filter(match__isnull=True).count(),
            "unmatched_legs": _unmatched_legs(account).count(),
            "last_month": ReconciledMonth.objects.filter(account=account).aggregate(last=Max("month"))["last"],
        })
    return render(request, "charity/office_reconciliation.html", {"trust": trust, "rows": rows})


def _month(request, account) -> dt.date:
    """The month whose end the 余额调节表 shows: ``?month=YYYY-MM``, else the latest statement line's month, else
    last month."""
    text = request.GET.get("month", "")
    try:
        first = dt.date.fromisoformat(f"{text}-01")
    except ValueError:
        first = None
    if first is not None and bounds.FIRST_DAY <= first <= bounds.LAST_DAY.replace(day=1):
        return first
    last = StatementLine.objects.filter(account=account).aggregate(last=Max("date"))["last"]
    if last is not None:
        return last.replace(day=1)
    return (timezone.localdate().replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def _ids(values) -> list[int]:
    if not all(v.isdigit() for v in values):
        raise CharityError(_("choose lines and legs from the lists"), field="lines")
    return [int(v) for v in values]


def _act(request, trust, account, action: str, context: dict) -> str | None:
    """Run one action through its service: the message to show on success, or None when it is shown as the
    import's row errors. A refusal is raised as the service raised it."""
    user, post = request.user, request.POST
    if action == "import":
        upload, fmt = request.FILES.get("file"), post.get("format", "")
        context["selected"] = {"format": fmt, "dry_run": bool(post.get("dry_run"))}
        if upload is None:
            raise CharityError(_("Choose a statement file."), field="file")
        if upload.size > MAX_UPLOAD:
            raise CharityError(_("The file is larger than 20 MB; import it with the import_statement command."),
                               field="file")
        result = services.statement_import(trust=trust, account=account, data=upload.read(), fmt=fmt, user=user,
                                           dry_run=context["selected"]["dry_run"])
        context["filename"] = upload.name
        if result.errors:
            context["import_result"] = result
            return None
        if result.dry_run:
            return _("%(name)s: %(n)s line(s) would be imported, %(s)s already imported; nothing was written.") % {
                "name": upload.name, "n": result.created, "s": result.skipped}
        return _("%(name)s: %(n)s line(s) imported, %(s)s already imported.") % {
            "name": upload.name, "n": result.created, "s": result.skipped}
    if action == "auto":
        made = services.statement_match_auto(account=account, user=user)
        return _("%(n)s line(s) matched automatically.") % {"n": made}
    if action == "match":
        lines = list(StatementLine.objects.filter(account=account, pk__in=_ids(post.getlist("line"))))
        legs = list(Leg.objects.filter(account=account, pk__in=_ids(post.getlist("leg"))))
        services.statement_match(lines=lines, legs=legs, user=user)
        return _("Matched %(lines)s line(s) with %(legs)s leg(s).") % {"lines": len(lines), "legs": len(legs)}
    if action == "unmatch":
        match = StatementMatch.objects.filter(account=account, pk__in=_ids([post.get("match", "")])).first()
        if match is None:
            raise CharityError(_("choose a match of this account"), field="match")
        services.statement_unmatch(match=match, user=user)
        return _("The match was undone.")
    if action == "book":
        line = StatementLine.objects.filter(account=account, pk__in=_ids([post.get("line", "")])).first()
        if line is None:
            raise CharityError(_("choose a statement line of this account"), field="line")
        typed = post.get("date", "").strip()
        try:
            on = dt.date.fromisoformat(typed) if typed else None
        except ValueError:
            raise CharityError(_("%(value)s is not a date (YYYY-MM-DD)") % {"value": typed}, field="date") from None
        booking = services.statement_line_book(
            line=line, kind=post.get("kind", ""), user=user, date=on,
            income_account=post.get("income_account") or chart.OTHER_INCOME, fx_rate=post.get("fx_rate") or None)
        if booking.request is not None:
            return _("The bank fee is above the trust's approval threshold: expense %(id)s waits for another "
                     "user's approval (Approvals); match automatically once it is approved.") % {
                "id": booking.request.external_id}
        return _("Booked as entry #%(seq)s and matched to the line.") % {"seq": booking.entry.sequence}
    if action == "reconcile":
        done = services.month_reconcile(account=account, month=post.get("month", "").strip(), user=user)
        return _("%(month)s is reconciled.") % {"month": f"{done.month:%Y-%m}"}
    text = post.get("match_days", "").strip()
    if not text.isdigit():
        raise CharityError(_("the matching window is a whole number of days"), field="match_days")
    services.reconciliation_set_days(account=account, days=int(text), user=user)
    return _("Matching window set to %(n)s day(s).") % {"n": int(text)}


@login_required
def reconciliation_account(request, code: str):
    if request.method == "POST":
        trust = trust_for(request, RECORD)  # reading is everyone's in the trust; acting is the officer's
    else:
        trust = trust_for(request, READ)
    account = _account(trust, code)
    month = _month(request, account)
    here = f"{reverse('office-reconciliation-account', args=[account.code])}?trust={trust.code}&month={month:%Y-%m}"
    context: dict = {"selected": {}}
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action not in ACTIONS:
                raise CharityError(_("Choose an action."), field="action")
            done = _act(request, trust, account, action, context)
        except REFUSALS as exc:
            context["error"] = f"{exc.field}: {exc.message}" if exc.field else exc.message
            status = 400
        else:
            if done is None:
                status = 400  # the import's row errors, shown below its form
            else:
                messages.success(request, done)
                return redirect(here)
    context.update(_page(request, trust, account, month))
    return render(request, "charity/office_reconciliation_account.html", context, status=status)


def _page(request, trust, account, month: dt.date) -> dict:
    lines = list(StatementLine.objects.filter(account=account, match__isnull=True).order_by("date", "pk")[:SHOWN])
    waiting = set(ExpenseRequest.objects.filter(trust=trust, status="draft",
                                                external_id__in=[booking_id(ln) for ln in lines])
                  .values_list("external_id", flat=True))
    for line in lines:
        line.shown = from_minor(line.amount)
        line.waiting = booking_id(line) in waiting
    legs = list(_unmatched_legs(account).select_related("entry", "fund")
                .order_by("date", "entry__sequence", "position")[:SHOWN])
    for leg in legs:
        leg.shown = from_minor(leg_amount(leg))
    matches = list(StatementMatch.objects.filter(account=account).select_related("created_by")
                   .prefetch_related("lines", "legs__leg__entry").order_by("-pk")[:100])
    closed = set(ReconciledMonth.objects.filter(account=account).values_list("month", flat=True))
    for match in matches:
        match.line_list = [(ln, from_minor(ln.amount)) for ln in match.lines.all()]
        match.leg_list = [(ml.leg, from_minor(leg_amount(ml.leg))) for ml in match.legs.all()]
        days = [ln.date for ln, _ in match.line_list] + [lg.date for lg, _ in match.leg_list]
        match.locked = any(d.replace(day=1) in closed for d in days)
    as_of = month_end(month)
    rec = reconcile(account, as_of)

    def items(chosen):
        return [(i, from_minor(abs(i.amount))) for i in chosen]

    sheet = {
        "book_balance": from_minor(rec.book_balance),
        "bank_in": items(i for i in rec.bank_items if i.amount > 0),
        "bank_out": items(i for i in rec.bank_items if i.amount < 0),
        "adjusted_book": from_minor(rec.adjusted_book),
        "statement_balance": None if rec.statement_balance is None else from_minor(rec.statement_balance),
        "book_in": items(i for i in rec.book_items if i.amount > 0),
        "book_out": items(i for i in rec.book_items if i.amount < 0),
        "adjusted_statement": from_minor(rec.adjusted_statement),
        "agrees": rec.agrees,
        "difference": from_minor(rec.adjusted_book - rec.adjusted_statement),
    }
    report = (f"{reverse('auditor')}?trust={trust.code}&report=reconciliation&account={account.code}"
              f"&as_of={as_of.isoformat()}")
    return {
        "trust": trust, "account": account, "currency": account.currency or "CNY",
        "can_record": request.user.has_perm(RECORD, trust),
        "layouts": LAYOUTS, "lines": lines, "legs": legs, "shown": SHOWN, "matches": matches,
        "month": month, "as_of": as_of, "sheet": sheet, "reconciled": sorted(closed, reverse=True),
        "month_reconciled": month in closed, "match_days": match_days(account),
        "income_accounts": [a for a in Account.objects.filter(book=trust.book, code__in=INCOME_ACCOUNTS)
                            .order_by("-code")],
        "report_links": [(fmt.upper(), f"{report}&format={fmt}") for fmt in ("csv", "json", "pdf")],
    }
