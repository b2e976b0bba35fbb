"""Attachments read on the web: the download (never a public media URL) and the auditor's view of one entry with
its files and their SHA-256."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import render

from charity import services
from charity.models import Attachment
from charity.roles import READ
from ledger.models import JournalEntry

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
    trust = trust_for(request, READ)
    entry = (JournalEntry.objects.filter(book=trust.book, sequence=sequence)
             .select_related("created_by", "approved_by").first())
    if entry is None:
        raise Http404("no such entry")
    legs = entry.legs.select_related("account", "fund").order_by("position")
    return render(request, "charity/auditor_entry.html", {
        "trust": trust, "entry": entry, "legs": legs,
        "attachments": services.entry_attachments(entry).select_related("uploaded_by"),
    })
