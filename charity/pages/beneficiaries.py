"""The register of beneficiaries for the office: a list to page through, sort and filter (and take away as CSV,
masked exactly as shown), a person's page with her household, history and aid, and the forms that register,
change and exit her.

Every write is one registry service called with ``request.user`` (the service checks the permission, the
identity number, the guardian of a child, consent and duplicates); a refusal is shown on the form beside the
field it names. Identity numbers and phones are masked unless the user may see them
(``beneficiaries.privacy``); every unmasked view is logged, as the API logs them.
"""

from __future__ import annotations

import csv
import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from beneficiaries import services as aid
from beneficiaries.authority import REGISTER
from beneficiaries.errors import AidError, DuplicateBeneficiary
from beneficiaries.models import Beneficiary, BeneficiaryStatus
from beneficiaries.privacy import beneficiary_pii, can_view_pii, ensure_match_logged
from charity.api.pii import pii_of
from charity.reports.writers import csv_cell
from charity.roles import READ

from .common import trust_for
from .filters import BeneficiaryPageFilter
from .forms import BeneficiaryForm, ExitForm, service_error

PER_PAGE = 50
CSV_COLUMNS = ["external_id", "name", "id_number", "phone", "birth", "gender", "household", "guardian", "district",
               "community", "status", "consent_date"]


def _filtered(request, trust):
    people = (Beneficiary.objects.filter(book=trust.book).select_related("household", "guardian")
              .order_by("external_id"))
    filters = BeneficiaryPageFilter(request.GET or None, queryset=people, book=trust.book)
    return filters, (filters.qs if not filters.errors else people.none())


def _rows(people, user, purpose: str) -> list[dict]:
    pii = pii_of(people, user=user, purpose=purpose)
    return [{"person": p, "pii": pii[p.pk]} for p in people]


@login_required
def beneficiary_list(request):
    trust = trust_for(request, READ)
    filters, people = _filtered(request, trust)
    page = Paginator(people, PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "trust": trust, "filters": filters, "page": page, "query": query.urlencode(),
        "rows": _rows(list(page.object_list), request.user, "page: beneficiary list"),
        "masked": not can_view_pii(request.user), "can_register": request.user.has_perm(REGISTER, trust),
    }
    return render(request, "charity/office_beneficiaries.html", context, status=400 if filters.errors else 200)


@login_required
def beneficiary_csv(request):
    """The list as filtered and sorted on the page (every page of it), with the same masks."""
    trust = trust_for(request, READ)
    filters, people = _filtered(request, trust)
    if filters.errors:
        return HttpResponse("; ".join(f"{k}: {' '.join(v)}" for k, v in filters.errors.items()),
                            status=400, content_type="text/plain; charset=utf-8")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in _rows(list(people), request.user, "page: beneficiary CSV"):
        p, pii = row["person"], row["pii"]
        writer.writerow([csv_cell(v) for v in (
            p.external_id, p.name, pii.id_number, pii.phone, pii.birth, p.gender,
            p.household.external_id if p.household else "", p.guardian.external_id if p.guardian else "",
            p.district, p.community, p.status, p.consent_date)])
    response = HttpResponse(("\ufeff" + out.getvalue()).encode("utf-8"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{trust.code}-beneficiaries.csv"'
    return response


def _guardian(book, data: dict, form):
    """The guardian named by her id, or None; False (and an error on the form) when nobody has that id here."""
    typed = (data.get("guardian") or "").strip()
    if not typed:
        return None
    guardian = Beneficiary.objects.filter(book=book, external_id=typed).first()
    if guardian is None:
        form.add_error("guardian", _("No beneficiary %(id)s in this trust.") % {"id": typed})
        return False
    return guardian


def _household(book, data: dict, user):
    """The household named by its id, created if new (by the registry service, in the write's transaction)."""
    typed = (data.get("household") or "").strip()
    return aid.household_get_or_create(book=book, external_id=typed, user=user) if typed else None


def _write(form, call) -> bool:
    """Run a registry service; a refusal goes on the form (and a duplicate's lookup stays logged)."""
    try:
        with transaction.atomic():
            call()
    except DuplicateBeneficiary as exc:
        ensure_match_logged(exc)
        service_error(form, exc)
    except AidError as exc:
        service_error(form, exc)
    else:
        return True
    return False


def _require_register(request, trust) -> None:
    if not request.user.has_perm(REGISTER, trust):
        raise PermissionDenied


@login_required
def beneficiary_new(request):
    trust = trust_for(request, REGISTER)
    form = BeneficiaryForm(request.POST or None)
    if request.method == "POST":
        done = {}
        if form.is_valid():
            data = dict(form.cleaned_data)
            guardian = _guardian(trust.book, data, form)
            if guardian is not False:
                def register():
                    done["person"] = aid.beneficiary_register(
                        book=trust.book, user=request.user,
                        **{**data, "guardian": guardian, "household": _household(trust.book, data, request.user)})

                _write(form, register)
        if done:
            messages.success(request, _("Beneficiary %(id)s registered.") % {"id": done["person"].external_id})
            return redirect(f"{reverse('office-beneficiary', args=[done['person'].external_id])}?trust={trust.code}")
        return render(request, "charity/office_beneficiary_new.html", {"trust": trust, "form": form}, status=400)
    return render(request, "charity/office_beneficiary_new.html", {"trust": trust, "form": form})


def _person(trust, external_id) -> Beneficiary:
    person = (Beneficiary.objects.filter(book=trust.book, external_id=external_id)
              .select_related("household", "household__mother", "guardian").first())
    if person is None:
        raise Http404("no such beneficiary in this trust")
    return person


def _history(person) -> list[dict]:
    """The history rows with each change as (field, before, after); PII in them was stored masked."""
    rows = []
    for h in person.history.select_related("changed_by").order_by("-pk")[:50]:
        changes = [(field, *(change if isinstance(change, list) and len(change) == 2 else ("", change)))
                   for field, change in (h.changes or {}).items()]
        rows.append({"h": h, "changes": changes})
    return rows


def _initial(person, pii) -> dict:
    return {
        "name": person.name, "id_number": "" if pii.masked else pii.id_number,
        "birth_date": "" if pii.masked else person.birth_date, "gender": person.gender,
        "household": person.household.external_id if person.household else "",
        "guardian": person.guardian.external_id if person.guardian else "", "district": person.district,
        "community": person.community, "phone": "" if pii.masked else pii.phone,
        "consent_date": person.consent_date, "consent_given_by": person.consent_given_by,
    }


@login_required
def beneficiary_detail(request, external_id):
    trust = trust_for(request, READ)
    person = _person(trust, external_id)
    masked = not can_view_pii(request.user)
    edit = exit_form = None
    status = 200
    if request.method == "POST":
        _require_register(request, trust)
        action = request.POST.get("action", "")
        if action == "set-mother" and person.household is not None:
            try:
                aid.household_set_mother(household=person.household, mother=person, user=request.user)
            except AidError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, _("%(id)s is now the mother of household %(household)s.") % {
                    "id": person.external_id, "household": person.household.external_id})
                return redirect(f"{reverse('office-beneficiary', args=[person.external_id])}?trust={trust.code}")
        elif action == "exit":
            exit_form = ExitForm(request.POST)
            if exit_form.is_valid() and _write(exit_form, lambda: aid.beneficiary_exit(
                    beneficiary=person, user=request.user, **exit_form.cleaned_data)):
                messages.success(request, _("Beneficiary %(id)s has exited.") % {"id": person.external_id})
                return redirect(f"{reverse('office-beneficiary', args=[person.external_id])}?trust={trust.code}")
        else:
            edit = BeneficiaryForm(request.POST, edit=True, masked=masked)
            if edit.is_valid():
                data = dict(edit.cleaned_data)
                if masked:  # blank: kept as it is
                    data = {k: v for k, v in data.items()
                            if not (k in ("id_number", "birth_date", "phone") and v in ("", None))}

                guardian = _guardian(trust.book, data, edit)

                def change():
                    aid.beneficiary_update(
                        beneficiary=person, user=request.user,
                        **{**data, "guardian": guardian, "household": _household(trust.book, data, request.user)})

                if guardian is not False and _write(edit, change):
                    messages.success(request, _("Beneficiary %(id)s changed.") % {"id": person.external_id})
                    return redirect(f"{reverse('office-beneficiary', args=[person.external_id])}?trust={trust.code}")
        status = 400
        person = _person(trust, external_id)
    pii = beneficiary_pii(beneficiary=person, user=request.user, purpose="page: beneficiary")
    can_register = request.user.has_perm(REGISTER, trust)
    active = person.status == BeneficiaryStatus.ACTIVE
    if can_register and active:
        edit = edit or BeneficiaryForm(initial=_initial(person, pii), edit=True, masked=masked)
        exit_form = exit_form or ExitForm()
    else:
        edit = exit_form = None
    members = list(person.household.members.order_by("birth_date", "external_id")) if person.household else []
    context = {
        "trust": trust, "person": person, "pii": pii, "edit": edit, "exit_form": exit_form,
        "members": members, "history": _history(person),
        "disbursements": person.disbursements.select_related("program", "batch").order_by("-date", "-pk")[:50],
    }
    return render(request, "charity/office_beneficiary.html", context, status=status)
