"""The officer's page for donors' e-mail: the outbox (what was queued, sent, failed or bounced), invitations to
the portal for everyone who gave in a period, and the year's donor statements by e-mail. Read by everyone of the
trust; each form calls one service with ``request.user`` (``invitations_send_period``, ``statements_send``),
which checks ``record_transactions`` itself. The queue is sent by the worker (``manage.py send_mail_queue``)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from charity import services
from charity.errors import CharityError
from charity.models import MailMessage, MailStatus
from charity.roles import READ, RECORD
from ledger.authority import allowed, require

from .common import trust_for

SHOWN = 100


class InviteForm(forms.Form):
    date_from = forms.DateField(label=gettext_lazy("Gave from"))
    date_to = forms.DateField(label=gettext_lazy("Gave until"))


class StatementForm(forms.Form):
    year = forms.IntegerField(label=gettext_lazy("Year"), min_value=1901, max_value=2199)


@login_required
def mail_home(request):
    trust = trust_for(request, READ)
    today = timezone.localdate()
    invite = InviteForm(initial={"date_from": today.replace(month=1, day=1), "date_to": today})
    statement = StatementForm(initial={"year": today.year - 1})
    status = 200
    if request.method == "POST":
        require(request.user, RECORD, trust.book)
        action = request.POST.get("action")
        try:
            if action == "invite":
                invite = InviteForm(request.POST)
                if invite.is_valid():
                    n = services.invitations_send_period(trust=trust, user=request.user, **invite.cleaned_data)
                    messages.success(request, _("%(n)s invitation(s) queued.") % {"n": n})
                    return redirect(f"{reverse('office-mail')}?trust={trust.code}")
            elif action == "statements":
                statement = StatementForm(request.POST)
                if statement.is_valid():
                    n = services.statements_send(trust=trust, user=request.user, **statement.cleaned_data)
                    messages.success(request, _("%(n)s statement(s) queued.") % {"n": n})
                    return redirect(f"{reverse('office-mail')}?trust={trust.code}")
            else:
                messages.error(request, _("Choose what to send."))
        except CharityError as exc:
            form = invite if action == "invite" else statement
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        status = 400
    outbox = MailMessage.objects.filter(trust=trust)
    counts = dict(outbox.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    return render(request, "charity/office_mail.html", {
        "trust": trust, "invite_form": invite, "statement_form": statement,
        "counts": [(label, counts.get(value, 0)) for value, label in MailStatus.choices],
        "outbox": outbox.select_related("donor", "donation").order_by("-created_at", "-pk")[:SHOWN],
        "can_record": allowed(request.user, RECORD, trust.book),
    }, status=status)
