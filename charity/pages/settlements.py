"""平台结算: the platforms' payouts to the bank. Everyone of the trust reads the list; the officer records a payout,
either of the platform's unsettled gifts up to a date or by a platform statement's payout line (its date and
reference; the unsettled gifts before its date must add up to what it pays out). ``settlement_record`` decides."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Sum
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from charity import chart, services
from charity.errors import CharityError
from charity.models import Settlement, SettlementChannel, StatementLine
from charity.roles import READ, RECORD
from charity.services.settlements import CLEARING, unsettled
from ledger.errors import LedgerError
from ledger.models import CENT, from_minor, to_minor

from .common import trust_for


class SettlementForm(forms.Form):
    line = forms.ChoiceField(label=gettext_lazy("Payout line of a platform statement"), required=False,
                             help_text=gettext_lazy("Optional: its platform, date and reference are taken, and the "
                                                    "unsettled gifts before its date must add up to it."))
    channel = forms.ChoiceField(label=gettext_lazy("Platform"), choices=SettlementChannel.choices, required=False)
    up_to = forms.DateField(label=gettext_lazy("Gifts received up to"), required=False)
    date = forms.DateField(label=gettext_lazy("Payout date"), required=False)
    reference = forms.CharField(label=gettext_lazy("Payout reference"), max_length=64, required=False)
    fee = forms.DecimalField(label=gettext_lazy("Platform fee (CNY)"), max_digits=14, decimal_places=2,
                             min_value=0)

    def __init__(self, trust, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.trust = trust
        self.lines = {str(ln.pk): ln for ln in payout_lines(trust)}
        self.fields["line"].choices = [("", "—")] + [
            (pk, f"{ln.account.code} {ln.date} {ln.reference} {from_minor(-ln.amount)}")
            for pk, ln in self.lines.items()]

    def clean(self):
        data = super().clean()
        line = self.lines.get(data.get("line") or "")
        if line is not None:
            data["channel"] = "wechat" if line.account.code == chart.WECHAT else "alipay"
            data["date"] = line.date
            data["reference"] = line.reference
            data["up_to"] = line.date - dt.timedelta(days=1)
            data["gross"] = -line.amount
        else:
            for name in ("channel", "up_to", "date", "reference"):
                if not data.get(name) and name not in self.errors:
                    self.add_error(name, _("This field is required."))
        return data


def payout_lines(trust):
    """Unmatched lines of money out on the platforms' statements: payouts not yet recorded in the books."""
    return (StatementLine.objects.filter(trust=trust, account__code__in=list(CLEARING.values()), amount__lt=0,
                                         match__isnull=True).select_related("account").order_by("date", "pk")[:200])


def _record(request, trust, form) -> bool:
    data = form.cleaned_data
    gifts = list(unsettled(trust=trust, channel=data["channel"], up_to=data["up_to"]))
    if "gross" in data:
        total = sum(to_minor(g.amount.amount) for g in gifts)
        if total != data["gross"]:
            form.add_error("line", _("The unsettled %(channel)s gifts up to %(date)s add up to %(gifts)s; the payout "
                                     "line pays out %(line)s.") % {
                "channel": data["channel"], "date": data["up_to"], "gifts": from_minor(total),
                "line": from_minor(data["gross"])})
            return False
    try:
        settlement, created = services.settlement_record(
            trust=trust, channel=data["channel"], date=data["date"], fee=data["fee"], reference=data["reference"],
            donations=gifts, user=request.user)
    except (CharityError, LedgerError) as exc:
        field = {"order_ids": "channel"}.get(exc.field or "", exc.field)
        form.add_error(field if field in form.fields and field != "donations" else None, exc.message)
        return False
    if created:
        messages.success(request, _("Payout %(ref)s recorded: %(n)s gifts, gross %(gross)s, fee %(fee)s, net "
                                    "%(net)s (entry #%(seq)s).") % {
            "ref": settlement.reference, "n": len(gifts), "gross": settlement.gross, "fee": settlement.fee,
            "net": settlement.net, "seq": settlement.entry.sequence})
    else:
        messages.info(request, _("Payout %(ref)s was already recorded; nothing was changed.")
                      % {"ref": settlement.reference})
    return True


@login_required
def settlement_list(request):
    trust = trust_for(request, RECORD if request.method == "POST" else READ)
    can_record = request.user.has_perm(RECORD, trust)
    form = None
    status = 200
    if request.method == "POST":
        form = SettlementForm(trust, request.POST)
        if form.is_valid() and _record(request, trust, form):
            return redirect(f"{reverse('office-settlements')}?trust={trust.code}")
        status = 400
    elif can_record:
        form = SettlementForm(trust, initial={"date": timezone.localdate(),
                                              "up_to": timezone.localdate() - dt.timedelta(days=1)})
    today = timezone.localdate()
    pending = []
    for code, label in SettlementChannel.choices:
        totals = unsettled(trust=trust, channel=code, up_to=today).aggregate(n=Count("pk"), gross=Sum("amount"))
        pending.append({"channel": label, "n": totals["n"], "gross": (totals["gross"] or Decimal(0)).quantize(CENT)})
    settlements = (Settlement.objects.filter(trust=trust).select_related("entry")
                   .annotate(n=Count("donations")).order_by("-date", "-pk")[:200])
    return render(request, "charity/office_settlements.html", {
        "trust": trust, "form": form, "settlements": settlements, "pending": pending, "can_record": can_record,
    }, status=status)
