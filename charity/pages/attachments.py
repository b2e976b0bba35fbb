"""Attachments on the web: the download (never a public media URL) and the view of one entry with its files and
their SHA-256, where a user who records in the trust attaches one more (an auditor only reads)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from charity import services
from charity.models import Attachment
from charity.roles import READ
from ledger.models import JournalEntry

from . import attaching
from .common import trust_for


@login_required
def attachment_download(request, pk: int):
    attachment = Attachment.objects.select_related("trust__book").filter(pk=pk).first()
    if attachment is None:
        raise Http404("no such attachment")
    handle = services.attachment_open(attachment=attachment, user=request.user)  # READ in its trust, or 403
    return FileResponse(handle, as_attachment=True, filename=attachment.name, content_type=attachment.content_type)


@login_required
def entry_detail(request, sequence: int):
    """One entry, its legs and its files; a user who records in the trust attaches a file to the entry here."""
    trust = trust_for(request, READ)
    entry = (JournalEntry.objects.filter(book=trust.book, sequence=sequence)
             .select_related("created_by", "approved_by").first())
    if entry is None:
        raise Http404("no such entry")
    attachments = services.entry_attachments(entry)
    form, status = None, 200
    if request.method == "POST":
        if not attaching.can_attach(request, trust):
            raise PermissionDenied
        if request.POST.get("action") in (attaching.ATTACH, attaching.REMOVE):
            done, form = attaching.handle(request, target=entry, attachments=attachments)
            if done:
                return redirect(f"{reverse('auditor-entry', args=[entry.sequence])}?trust={trust.code}")
        else:
            messages.error(request, _("Choose what to do with the entry."))
        status = 400
    legs = entry.legs.select_related("account", "fund").order_by("position")
    return render(request, "charity/auditor_entry.html", {
        "trust": trust, "entry": entry, "legs": legs, **attaching.context(request, trust, attachments, form),
    }, status=status)
