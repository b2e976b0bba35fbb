"""The finance officer's donations: a list that pages, sorts, filters and exports as CSV; recording a gift (the
donor found as you type, or created); a gift's page with void-and-reissue of its receipt, a refund and its files
(``attaching``: ``attachment_add``).

Every write is one call of a service (``donor_create``, ``donation_record``, ``receipt_void``,
``donation_refund``) with ``request.user``: who may do it and what is refused are the services' rules. A form
checks only that its input has the right shape (a number, a date, a fund of this trust); a refusal by a service
is shown as an error on the field it names, with nothing changed. Reading needs ``read_books`` in the trust
(an auditor reads), writing ``record_transactions``, as the services require it.
"""

from __future__ import annotations

import csv
import re
import uuid
from decimal import Decimal

import django_filters
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from charity import services
from charity.api.donations import refunded_sum, valid_receipts
from charity.documents import receipt_pdf
from charity.errors import CharityError
from charity.idcodes import mask_id_code, may_see, shown_id_code
from charity.api.filters import official_filter
from charity.models import Channel, Donation, Donor, DonorKind, OfficialReceipt, Receipt
from charity.reports.writers import csv_cell
from charity.roles import READ, RECORD
from charity.services.donations import donation_unspent
from ledger.authority import allowed, require
from ledger.errors import LedgerError
from ledger.models import Fund

from . import attaching
from .common import trust_for

PAGE_SIZE = 50
MAX_MATCHES = 10
RECEIPT_LABEL = re.compile(r"^\s*(\d{4})-0*(\d{1,9})\s*$", re.ASCII)


def _url(name: str, trust, **kwargs) -> str:
    return f"{reverse(name, kwargs=kwargs or None)}?trust={trust.code}"


def _gift(trust, external_id: str) -> Donation:
    donation = (Donation.objects.filter(trust=trust, external_id=external_id)
                .select_related("donor", "fund", "entry", "trust__book", "created_by").first())
    if donation is None:
        raise Http404("no such gift in this trust")
    return donation


FORM_FIELDS = {"id_code": "donor_id_code"}  # a service's field -> the form's, where they differ


def _refused(form, exc) -> None:
    """A service's refusal as an error on the field it names (on the form when the form has no such field)."""
    field = getattr(exc, "field", None)
    if field in FORM_FIELDS and field not in form.fields:
        field = FORM_FIELDS[field]
    form.add_error(field if field in form.fields else None, exc.message)


# -- the list --------------------------------------------------------------------------------------------------


class GiftFilter(django_filters.FilterSet):
    receipt = django_filters.CharFilter(method="by_receipt", label=gettext_lazy("Receipt number"))
    donor = django_filters.CharFilter(method="by_donor", label=gettext_lazy("Donor"))
    date_from = django_filters.DateFilter(field_name="date", lookup_expr="gte", label=gettext_lazy("From"))
    date_to = django_filters.DateFilter(field_name="date", lookup_expr="lte", label=gettext_lazy("To"))
    fund = django_filters.ModelChoiceFilter(field_name="fund", to_field_name="code", queryset=Fund.objects.none(),
                                            label=gettext_lazy("Fund"))
    official = django_filters.ChoiceFilter(
        method="by_official", label=gettext_lazy("Official receipt"),
        choices=(("lacking", gettext_lazy("still lacking")), ("recorded", gettext_lazy("recorded"))))
    sort = django_filters.OrderingFilter(
        fields=(("date", "date"), ("amount_cny", "amount"), ("external_id", "number"), ("donor__name", "donor")),
        field_labels={"date": gettext_lazy("date"), "amount_cny": gettext_lazy("amount"),
                      "external_id": gettext_lazy("gift number"), "donor__name": gettext_lazy("donor")},
        label=gettext_lazy("Sort by"),
    )

    class Meta:
        model = Donation
        fields = ["receipt", "donor", "date_from", "date_to", "fund", "official"]

    def __init__(self, *args, trust, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["fund"].queryset = Fund.objects.filter(book_id=trust.book_id).order_by("code")
        self.trust = trust

    def by_receipt(self, queryset, name, value):
        """A receipt's label (2026-000123), or its number in any year; voided receipts find their gift too."""
        value = value.strip()
        match = RECEIPT_LABEL.match(value)
        if match:
            receipts = Receipt.objects.filter(trust=self.trust, year=int(match[1]), number=int(match[2]))
        elif value.isascii() and value.isdigit() and len(value) <= 9:
            receipts = Receipt.objects.filter(trust=self.trust, number=int(value))
        else:
            return queryset.none()
        return queryset.filter(pk__in=receipts.values("donation_id"))

    def by_official(self, queryset, name, value):
        """``lacking``: gifts not refunded in full without an official receipt yet; ``recorded``: with one."""
        return official_filter(queryset, value)

    def by_donor(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(donor__name__icontains=value) | Q(donor__external_id__iexact=value))


CSV_HEADER = ["external_id", "date", "receipt", "donor", "donor_id", "amount", "currency", "fx_rate", "amount_cny",
              "refunded_cny", "channel", "fund", "item", "quantity", "donor_id_code", "official_receipt"]


def official_label(donation: Donation) -> str:
    """``票据代码-票据号码`` of the gift's official receipt, or ``""``."""
    try:
        return donation.official_receipt.label
    except OfficialReceipt.DoesNotExist:
        return ""


def _csv(trust, gifts, *, reveal: bool) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="donations-{trust.code}.csv"'
    response.write("\ufeff")  # a spreadsheet opens the Chinese names as UTF-8
    writer = csv.writer(response)
    writer.writerow(CSV_HEADER)
    for d in gifts.iterator(chunk_size=500):
        receipt = d.valid_receipts[0].label if d.valid_receipts else ""
        writer.writerow([csv_cell(v) for v in (
            d.external_id, d.date, receipt, d.donor.name if d.donor else "", d.donor.external_id if d.donor else "",
            d.amount.amount, d.amount.currency.code, d.fx_rate, d.amount_cny, d.refunded, d.channel, d.fund.code,
            d.item, d.quantity,
            (d.donor.id_code if reveal else mask_id_code(d.donor.id_code)) if d.donor else "",
            official_label(d),
        )])
    return response


@login_required
def donation_list(request):
    trust = trust_for(request, READ)
    gifts = (Donation.objects.filter(trust=trust).select_related("donor", "fund", "official_receipt")
             .prefetch_related(valid_receipts()).annotate(refunded=refunded_sum()).order_by("-date", "-pk"))
    found = GiftFilter(request.GET or None, queryset=gifts, trust=trust)
    status = 200
    if found.is_bound and not found.is_valid():
        shown, status = gifts.none(), 400
    else:
        shown = found.qs if found.is_bound else gifts
        if found.is_bound and not found.form.cleaned_data.get("sort"):
            shown = shown.order_by("-date", "-pk")
    if request.GET.get("format") == "csv" and status == 200:
        return _csv(trust, shown, reveal=may_see(request.user, trust))
    page = Paginator(shown, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    query["trust"] = trust.code
    unsorted = query.copy()
    unsorted.pop("sort", None)
    current = request.GET.get("sort", "")
    columns = []
    for key, title in (("number", _("Gift number")), ("date", _("Date")), ("donor", _("Donor")),
                       ("amount", _("Amount"))):
        state = "asc" if current == key else "desc" if current == f"-{key}" else ""
        columns.append(({"next": f"-{key}" if state == "asc" else key, "current": state}, title))
    context = {
        "trust": trust, "filter": found, "page": page, "query": query.urlencode(),
        "sort_query": unsorted.urlencode(), "sort_columns": columns,
        "can_record": allowed(request.user, RECORD, trust.book),
    }
    fragment = request.htmx and not request.htmx.history_restore_request
    template = "charity/_donation_rows.html" if fragment else "charity/office_donations.html"
    return render(request, template, context, status=status)


# -- recording a gift ------------------------------------------------------------------------------------------


def new_gift_number() -> str:
    """A gift number for a new form: the same form posted twice records the gift once (``donation_record`` is
    idempotent on it)."""
    return f"G-{timezone.localdate():%Y%m%d}-{uuid.uuid4().hex[:8].upper()}"


class GiftForm(forms.Form):
    external_id = forms.CharField(label=gettext_lazy("Gift number"), max_length=64)
    date = forms.DateField(label=gettext_lazy("Date of the gift"))
    donor = forms.ModelChoiceField(queryset=Donor.objects.none(), required=False, widget=forms.HiddenInput)
    donor_name = forms.CharField(
        label=gettext_lazy("Donor"), max_length=200, required=False,
        help_text=gettext_lazy("Type to find the trust's donors and pick one; a name not picked becomes a new "
                               "donor; blank: an anonymous walk-in gift."))
    donor_kind = forms.ChoiceField(label=gettext_lazy("A new donor is"), choices=DonorKind.choices,
                                   initial=DonorKind.INDIVIDUAL)
    donor_id_code = forms.CharField(
        label=gettext_lazy("A new donor's identity number or credit code"), max_length=40, required=False,
        help_text=gettext_lazy("Optional: an individual's resident identity number or an organisation's unified "
                               "social credit code, printed on the acknowledgement."))
    channel = forms.ChoiceField(label=gettext_lazy("Channel"), choices=Channel.choices)
    fund = forms.ModelChoiceField(label=gettext_lazy("Fund"), queryset=Fund.objects.none(), to_field_name="code")
    amount = forms.DecimalField(label=gettext_lazy("Amount"), max_digits=14, decimal_places=2,
                                min_value=Decimal("0.01"))
    currency = forms.CharField(label=gettext_lazy("Currency"), max_length=3, min_length=3, initial="CNY")
    fx_rate = forms.DecimalField(label=gettext_lazy("Exchange rate (CNY per unit)"), required=False,
                                 max_digits=18, decimal_places=8,
                                 help_text=gettext_lazy("Only for a gift in another currency than CNY."))
    item = forms.CharField(label=gettext_lazy("Item (goods in kind)"), max_length=64, required=False)
    quantity = forms.IntegerField(label=gettext_lazy("Quantity"), min_value=1, max_value=1_000_000, required=False)
    description = forms.CharField(label=gettext_lazy("Description"), max_length=2000, required=False,
                                  widget=forms.Textarea(attrs={"rows": 2}))
    order_id = forms.CharField(
        label=gettext_lazy("Platform order id"), max_length=100, required=False,
        help_text=gettext_lazy("For a WeChat Pay or Alipay gift: the platform's order id (商户订单号), so that the "
                               "platform's statement and payout match this gift."))

    def __init__(self, *args, trust, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["donor"].queryset = Donor.objects.filter(trust=trust)  # another trust's donor: not a choice
        self.fields["fund"].queryset = Fund.objects.filter(book_id=trust.book_id).order_by("code")

    def clean_currency(self):
        code = self.cleaned_data["currency"].strip().upper()
        if not code.isascii() or not code.isalpha():
            raise forms.ValidationError(_("A currency is three letters, such as CNY or USD."))
        return code


def _donor_for(form, trust, user) -> Donor | None:
    """The donor picked, or a new one under the name typed (``donor_create``), or None: an anonymous gift."""
    data = form.cleaned_data
    if data["donor"] is not None:
        return data["donor"]
    name = (data.get("donor_name") or "").strip()
    if not name:
        return None
    return services.donor_create(trust=trust, kind=data["donor_kind"], name=name, by=user,
                                 id_code=data.get("donor_id_code") or "")


@login_required
def donation_new(request):
    trust = trust_for(request, RECORD)
    if request.method == "POST":
        form = GiftForm(request.POST, trust=trust)
        if form.is_valid():
            data = form.cleaned_data
            try:
                with transaction.atomic():  # a new donor is kept only with the gift that named it
                    donor = _donor_for(form, trust, request.user)
                    donation, created = services.donation_record(
                        trust=trust, user=request.user, donor=donor, external_id=data["external_id"],
                        date=data["date"], amount=data["amount"], currency=data["currency"],
                        fx_rate=data["fx_rate"], fund=data["fund"], channel=data["channel"],
                        item=data["item"], quantity=data["quantity"], description=data["description"],
                        order_id=data["order_id"],
                    )
            except (CharityError, LedgerError) as exc:
                _refused(form, exc)
            else:
                receipt = donation.receipts.filter(voided_at__isnull=True).order_by("-pk").first()
                messages.success(request, _("Gift %(id)s recorded; receipt %(receipt)s.") % {
                    "id": donation.external_id, "receipt": receipt.label if receipt else "—"}
                    if created else _("Gift %(id)s was already recorded.") % {"id": donation.external_id})
                # The receipt opens at once; the gift's page (with the message) is a click away.
                return redirect(_url("office-donation-receipt", trust, external_id=donation.external_id))
        chosen = getattr(form, "cleaned_data", {}).get("donor")
        return render(request, "charity/office_donation_new.html", {"trust": trust, "form": form, "chosen": chosen},
                      status=400)
    form = GiftForm(trust=trust, initial={"external_id": new_gift_number(), "date": timezone.localdate(),
                                          "currency": "CNY", "channel": Channel.BANK})
    return render(request, "charity/office_donation_new.html", {"trust": trust, "form": form})


@login_required
def donor_search(request):
    """The typeahead: the donors of THIS trust whose name, external id or phone holds what was typed (``q`` or the
    form's ``donor_name``), as a fragment of buttons; ``pick=<id>`` answers the chosen donor's hidden input."""
    trust = trust_for(request, RECORD)
    donors = Donor.objects.filter(trust=trust)
    if "pick" in request.GET:
        pick = request.GET["pick"]
        donor = donors.filter(pk=int(pick)).first() if pick.isascii() and pick.isdigit() and len(pick) < 12 else None
        return render(request, "charity/_donor_chosen.html", {"trust": trust, "donor": donor})
    q = (request.GET.get("q") or request.GET.get("donor_name") or "").strip()[:200].replace("\x00", "")
    matches = []
    if q:
        matches = list(donors.filter(Q(name__icontains=q) | Q(external_id__istartswith=q) | Q(phone__icontains=q))
                       .order_by("name", "pk")[:MAX_MATCHES])
    return render(request, "charity/_donor_matches.html", {"trust": trust, "q": q, "matches": matches})


# -- one gift ---------------------------------------------------------------------------------------------------


class ReissueForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=2000,
                             widget=forms.TextInput(attrs={"size": 40}))


class RefundForm(forms.Form):
    external_id = forms.CharField(label=gettext_lazy("Refund number"), max_length=64)
    date = forms.DateField(label=gettext_lazy("Date of the refund"))
    amount = forms.DecimalField(
        label=gettext_lazy("Amount"), max_digits=14, decimal_places=2, min_value=Decimal("0.01"), required=False,
        help_text=gettext_lazy("In the gift's currency; blank: all that is left of the gift."))
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=2000,
                             widget=forms.TextInput(attrs={"size": 40}))


class OfficialReceiptForm(forms.Form):
    receipt_code = forms.CharField(label=gettext_lazy("Receipt code (票据代码)"), max_length=8,
                                   help_text=gettext_lazy("8 digits"))
    receipt_number = forms.CharField(label=gettext_lazy("Receipt number (票据号码)"), max_length=10,
                                     help_text=gettext_lazy("10 digits"))
    check_code = forms.CharField(label=gettext_lazy("Check code (校验码)"), max_length=6,
                                 help_text=gettext_lazy("6 letters or digits"))
    issued_on = forms.DateField(label=gettext_lazy("Date of issue (开票日期)"))
    issuer = forms.CharField(label=gettext_lazy("Issuer"), max_length=200, required=False,
                             help_text=gettext_lazy("Blank: the trust's co-trustee."))


def _official(donation: Donation):
    return OfficialReceipt.objects.filter(donation=donation).first()


def _refund_number(donation: Donation) -> str:
    return f"RF-{donation.external_id}"[:54] + f"-{donation.refunds.count() + 1}"


def _gift_context(request, trust, donation, reissue=None, refund=None, attach=None, official=None) -> dict:
    receipts = list(donation.receipts.select_related("voided_by").order_by("-pk"))
    refunds = list(donation.refunds.select_related("created_by").order_by("date", "pk"))
    refunded = sum((r.amount.amount for r in refunds), Decimal("0"))
    return {
        "trust": trust, "gift": donation, "receipts": receipts,
        "valid": next((r for r in receipts if r.voided_at is None), None),
        "refunds": refunds, "left": donation.amount.amount - refunded,
        "unspent": donation_unspent(donation),
        "official": _official(donation),
        "official_form": official or OfficialReceiptForm(initial={"issuer": trust.co_trustee}),
        "donor_id_code": shown_id_code(donation.donor.id_code, user=request.user, trust=trust)
        if donation.donor else "",
        "can_record": allowed(request.user, RECORD, trust.book),
        "reissue_form": reissue or ReissueForm(),
        "refund_form": refund or RefundForm(initial={"external_id": _refund_number(donation),
                                                      "date": timezone.localdate()}),
        **attaching.context(request, trust, donation.attachments.all(), attach),
        **_mail_context(donation),
    }


def _mail_context(donation: Donation) -> dict:
    """The gift's link and QR code, and what was e-mailed about it (its receipt; the donor's invitations)."""
    from django.utils.safestring import mark_safe

    from charity.links import gift_url, qr_svg
    from charity.models import MailKind, MailMessage
    from charity.services.links import live_link

    link = live_link(donation)
    url = gift_url(link) if link else ""
    mail = MailMessage.objects.filter(donation=donation) if donation.donor_id is None else (
        MailMessage.objects.filter(Q(donation=donation) | Q(donor_id=donation.donor_id, kind__in=[
            MailKind.INVITATION, MailKind.CLAIM])))
    donor = donation.donor
    return {
        "link_url": url, "qr": mark_safe(qr_svg(url)) if url else "",  # our own SVG: digits and fixed markup
        "mail": mail.select_related("donor", "donation").order_by("-created_at", "-pk"),
        "can_invite": donor is not None and bool(donor.email) and donor.user_id is None,
        "email_receipts": donation.trust.email_receipts,
    }


MAIL_ACTIONS = ("link_revoke", "link_issue", "invite", "mail_retry", "mail_bounced")


def _mail_action(request, donation: Donation, action: str) -> bool:
    """One of the gift's link and e-mail buttons: one service call; a refusal is shown as a message."""
    from charity.models import MailMessage

    try:
        if action == "link_revoke":
            services.gift_link_revoke(donation=donation, user=request.user, reissue=True)
            messages.success(request, _("The old link no longer works; the gift has a new one."))
        elif action == "link_issue":
            services.gift_link_issue(donation=donation, user=request.user)
            messages.success(request, _("The gift has a link."))
        elif action == "invite":
            if donation.donor is None:
                raise CharityError(_("An anonymous walk-in gift has no donor to invite."), field="donor")
            services.invitation_send(donor=donation.donor, user=request.user)
            messages.success(request, _("Invitation sent to %(email)s.") % {"email": donation.donor.email})
        else:
            pk = request.POST.get("message", "")
            message = MailMessage.objects.filter(trust=donation.trust, pk=int(pk)).first() \
                if pk.isascii() and pk.isdigit() and len(pk) < 12 else None
            if message is None:
                raise CharityError(_("No such message."), field="message")
            if action == "mail_retry":
                services.mail_retry(message=message, user=request.user)
                messages.success(request, _("The message is queued again."))
            else:
                services.mail_mark_bounced(message=message, user=request.user, reason=request.POST.get("reason", ""))
                messages.success(request, _("The message is marked bounced."))
    except CharityError as exc:
        messages.error(request, exc.message)
        return False
    return True


@login_required
def donation_detail(request, external_id: str):
    trust = trust_for(request, READ)
    donation = _gift(trust, external_id)
    if request.method != "POST":
        return render(request, "charity/office_donation.html", _gift_context(request, trust, donation))
    require(request.user, RECORD, trust.book)  # the services' own rule, asked before the form (403, not 400)
    action = request.POST.get("action")
    reissue = refund = attach = official = None
    if action in (attaching.ATTACH, attaching.REMOVE):
        done, attach = attaching.handle(request, target=donation, attachments=donation.attachments.all())
        if done:
            return redirect(_url("office-donation", trust, external_id=donation.external_id))
    elif action in MAIL_ACTIONS:
        done = _mail_action(request, donation, action)
        if done:
            return redirect(_url("office-donation", trust, external_id=donation.external_id))
    elif action == "reissue":
        reissue = ReissueForm(request.POST)
        if reissue.is_valid():
            receipt = donation.receipts.filter(voided_at__isnull=True).order_by("-pk").first()
            if receipt is None:
                reissue.add_error(None, _("The gift has no valid receipt to void."))
            else:
                try:
                    new = services.receipt_void(receipt=receipt, user=request.user,
                                                reason=reissue.cleaned_data["reason"], reissue=True)
                except (CharityError, LedgerError) as exc:
                    _refused(reissue, exc)
                else:
                    messages.success(request, _("Receipt %(old)s voided; receipt %(new)s issued.") % {
                        "old": receipt.label, "new": new.label if new else "—"})
                    return redirect(_url("office-donation", trust, external_id=donation.external_id))
    elif action == "official":
        official = OfficialReceiptForm(request.POST)
        if official.is_valid():
            try:
                done = services.official_receipt_record(donation=donation, user=request.user, channel="web",
                                                        **official.cleaned_data)
            except (CharityError, LedgerError) as exc:
                _refused(official, exc)
            else:
                messages.success(request, _("Official receipt %(label)s recorded.") % {"label": done.label})
                return redirect(_url("office-donation", trust, external_id=donation.external_id))
    elif action == "refund":
        refund = RefundForm(request.POST)
        if refund.is_valid():
            data = refund.cleaned_data
            try:
                done = services.donation_refund(donation=donation, user=request.user, external_id=data["external_id"],
                                                date=data["date"], amount=data["amount"], reason=data["reason"])
            except (CharityError, LedgerError) as exc:
                _refused(refund, exc)
            else:
                messages.success(request, _("Refund %(id)s recorded: %(amount)s %(currency)s.") % {
                    "id": done.external_id, "amount": done.amount.amount, "currency": done.amount.currency.code})
                return redirect(_url("office-donation", trust, external_id=donation.external_id))
    else:
        messages.error(request, _("Choose what to do with the gift."))
    context = _gift_context(request, trust, _gift(trust, external_id), reissue=reissue, refund=refund,
                            attach=attach, official=official)
    return render(request, "charity/office_donation.html", context, status=400)


@login_required
def donation_receipt(request, external_id: str):
    """A receipt of the gift as PDF (the same document as the API's): the valid one, or ``?label=`` any of its
    receipts, voided ones included. Shown in the browser (inline)."""
    trust = trust_for(request, READ)
    donation = _gift(trust, external_id)
    receipts = donation.receipts.select_related("donation__entry").order_by("-pk")
    label = RECEIPT_LABEL.match(request.GET.get("label", ""))
    receipt = (receipts.filter(year=int(label[1]), number=int(label[2])) if label
               else receipts.filter(voided_at__isnull=True)).first()
    if receipt is None:
        raise Http404("no such receipt")
    response = HttpResponse(receipt_pdf(receipt, reveal_id_code=may_see(request.user, trust)),
                            content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="receipt-{receipt.label}.pdf"'
    return response

