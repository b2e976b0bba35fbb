"""Pages a donor opens from a link, without signing in: a gift's page (from the QR code on the receipt or the
link in the receipt e-mail) and an invitation to the donor portal.

A wrong, revoked, used or expired token answers 404 and says nothing more. A gift's page names nobody (not
even a donor who gave openly: whoever holds a printed receipt can scan it) and shows another gift of the
same donor nowhere; beneficiaries are counted, never named, a count from 1 to 4 shown as "少于5人 fewer than 5"
(``beneficiaries.privacy.shown_count``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django import forms
from django.contrib.auth import login
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from beneficiaries.models import Program
from beneficiaries.privacy import shown_count
from beneficiaries.selectors import reach_of_source
from charity.errors import InvalidToken, MailError
from charity.models import Donation, OfficialReceipt, Receipt
from charity.selectors import donation_trace
from charity.services import mail as mail_services


def official_receipt_number(donation: Donation) -> str:
    """The official receipt (公益事业捐赠票据) of the gift as 票据代码-票据号码, once the co-trustee has issued it."""
    official = OfficialReceipt.objects.filter(donation=donation).first()
    return f"{official.receipt_code}-{official.receipt_number}" if official else ""


@dataclass
class MonthUse:
    program: str
    month: str
    amount: Decimal


def _uses(donation: Donation, trace) -> tuple[list[MonthUse], list[dict]]:
    """What the gift paid for per program and month (in the order first spent), and per program how many people
    it reached (as a donor may see the count)."""
    programs = {p.code: p for p in Program.objects.filter(book_id=donation.trust.book_id)}

    def label(code: str) -> str:
        program = programs.get(code)
        return f"{program.name} · {program.name_en}" if program else _("Management and administration")

    months: dict[tuple[str, str], Decimal] = {}
    for use in trace.uses:
        key = (use.purpose or "administration", use.date.strftime("%Y-%m"))
        months[key] = months.get(key, Decimal("0.00")) + use.amount
    rows = [MonthUse(program=label(code), month=month, amount=amount) for (code, month), amount in months.items()]
    reach = [{"program": label(r.program_code), "amount": r.amount, "people": shown_count(r.beneficiaries)}
             for r in reach_of_source(entry=donation.entry)]
    return rows, reach


class ClaimForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("The e-mail address given with the gift"), max_length=254)


def gift_public(request, token: str):
    try:
        link = mail_services.link_of(token)
    except InvalidToken:
        raise Http404("no such gift") from None
    donation = link.donation
    form, claimed, status = ClaimForm(), False, 200
    if request.method == "POST":
        form = ClaimForm(request.POST)
        if form.is_valid():
            try:
                mail_services.gift_claim_request(token=token, email=form.cleaned_data["email"])
            except InvalidToken:
                raise Http404("no such gift") from None
            claimed = True  # the same answer whether or not the address matched
        else:
            status = 400
    trace = donation_trace(donation)
    months, reach = _uses(donation, trace)
    receipt = Receipt.objects.filter(donation=donation, voided_at__isnull=True).order_by("-pk").first()
    return render(request, "charity/gift_public.html", {
        "donation": donation, "trust": donation.trust, "trace": trace, "months": months, "reach": reach,
        "receipt": receipt, "official_receipt": official_receipt_number(donation),
        # Offered for every gift with a donor, whether or not an address is on file: the page does not say which.
        "can_claim": donation.donor_id is not None, "form": form,
        "claimed": claimed,
    }, status=status)


class PasswordForm(forms.Form):
    password1 = forms.CharField(label=gettext_lazy("Password"), strip=False, widget=forms.PasswordInput(
        attrs={"autocomplete": "new-password"}))
    password2 = forms.CharField(label=gettext_lazy("The same password again"), strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self):
        data = super().clean()
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", _("The two passwords differ."))
        return data


def invitation_accept(request, token: str):
    try:
        invitation = mail_services.invitation_of(token)
    except InvalidToken:
        raise Http404("no such invitation") from None
    form, status = PasswordForm(), 200
    if request.method == "POST":
        form = PasswordForm(request.POST)
        if form.is_valid():
            try:
                with transaction.atomic():
                    user = mail_services.invitation_accept(token=token, password=form.cleaned_data["password1"])
            except InvalidToken:
                raise Http404("no such invitation") from None
            except MailError as exc:
                form.add_error("password1", exc.message)
            else:
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                return redirect("donor-home")
        status = 400
    return render(request, "charity/invitation.html", {
        "invitation": invitation, "trust": invitation.donor.trust, "form": form,
        "username": mail_services.username_for(invitation.email),
    }, status=status)
