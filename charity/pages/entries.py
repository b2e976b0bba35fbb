"""手工凭证: the officer drafts a manual journal entry (legs of account, fund, debit, credit) for an approver.

The page only reads the form (a date, numbers) and calls ``manual_entry_draft``, which checks the entry as
posting would; its refusal is shown on the leg or field it names. The draft waits in /office/approvals/.
A small script (static/charity/entry_form.js) adds and removes rows and shows the running totals, per fund too.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from itertools import zip_longest

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from charity import services
from charity.errors import CharityError
from charity.roles import DRAFT_ENTRIES
from ledger.errors import LedgerError
from ledger.models import Account, Fund

from .common import trust_for

LEG_FIELD = re.compile(r"^legs\[(\d+)\]\.(\w+)$")
BLANK_ROWS = 2


def _amount(text: str):
    """A typed amount: '' -> None, else a Decimal (raises ValueError for what is not a number)."""
    text = (text or "").strip().replace(",", "")
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(text) from None
    if not value.is_finite():
        raise ValueError(text)
    return value


def _rows(post) -> list[dict]:
    columns = [post.getlist(name) for name in ("account", "fund", "debit", "credit")]
    return [{"account": (a or "").strip(), "fund": (f or "").strip(), "debit": (d or "").strip(),
             "credit": (c or "").strip(), "errors": []} for a, f, d, c in zip_longest(*columns, fillvalue="")]


def _context(trust, **extra) -> dict:
    return {
        "trust": trust,
        "accounts": Account.objects.filter(book=trust.book).order_by("code"),
        "funds": Fund.objects.filter(book=trust.book).order_by("code"),
        **extra,
    }


@login_required
def entry_new(request):
    trust = trust_for(request, DRAFT_ENTRIES)
    if request.method != "POST":
        rows = [{"account": "", "fund": "", "debit": "", "credit": "", "errors": []} for _i in range(BLANK_ROWS)]
        return render(request, "charity/office_entry_form.html",
                      _context(trust, rows=rows, date=timezone.localdate().isoformat(), memo="", errors=[]))
    rows = _rows(request.POST)
    errors: list[str] = []
    memo = request.POST.get("memo", "")
    date_text = request.POST.get("date", "").strip()
    try:
        date = forms.DateField().clean(date_text)
    except forms.ValidationError:
        date = None
        errors.append(_("Date: enter a date such as 2026-03-31."))
    legs, positions = [], []  # the legs sent to the service, and the row each came from
    for index, row in enumerate(rows):
        if not any(row[k] for k in ("account", "fund", "debit", "credit")):
            continue
        leg = {"account": row["account"], "fund": row["fund"]}
        for side in ("debit", "credit"):
            try:
                value = _amount(row[side])
            except ValueError:
                row["errors"].append(_("%(side)s is not a number") % {"side": _("Debit") if side == "debit"
                                                                      else _("Credit")})
                continue
            if value is not None:
                leg[side] = value
        legs.append(leg)
        positions.append(index)
    if not legs:
        errors.append(_("Enter the entry's legs."))
    status = 400
    if not errors and not any(row["errors"] for row in rows):
        try:
            draft = services.manual_entry_draft(trust=trust, date=date, memo=memo, legs=legs, user=request.user)
        except (CharityError, LedgerError) as exc:
            match = LEG_FIELD.match(exc.field or "")
            if match and int(match.group(1)) < len(positions):
                rows[positions[int(match.group(1))]]["errors"].append(exc.message)
            else:
                errors.append(exc.message)
        else:
            messages.success(request, _("Manual entry #%(pk)s was drafted: it waits for an approver (Approvals).")
                             % {"pk": draft.pk})
            return redirect(f"{reverse('office-approvals')}?trust={trust.code}")
    return render(request, "charity/office_entry_form.html",
                  _context(trust, rows=rows or [{"account": "", "fund": "", "debit": "", "credit": "", "errors": []}],
                           date=date_text, memo=memo, errors=errors), status=status)
