"""Files on a page of the office: the list of what is attached to a gift, a disbursement or a journal entry, the
form that attaches one more, and the button that removes one while it may still go.

Every write is a call of the attachments service (``attachment_add``, ``attachment_remove``) with
``request.user``: the permission, the type judged by the content, the size and the rule that an attachment of a
posted entry stays for good are the service's. The pages add only that the form and the button are shown to the
users who hold ``record_transactions`` in the trust (an auditor sees neither).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from charity import services
from charity.errors import CharityError
from charity.roles import RECORD
from charity.services.attachments import is_posted
from ledger.authority import allowed

ATTACH, REMOVE = "attach", "remove-attachment"  # the forms' ``action``: distinct from every page's other actions


class AttachForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("File: PDF, JPEG or PNG"),
                           widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png"}))


def can_attach(request, trust) -> bool:
    return allowed(request.user, RECORD, trust.book)


def rows(request, trust, attachments) -> list:
    """The attachments to list, each marked ``removable`` when the user may record and it is not posted (the
    service has the last word)."""
    record = can_attach(request, trust)
    listed = list(attachments.select_related("uploaded_by", "entry", "disbursement", "expense_request"))
    for attachment in listed:
        attachment.removable = record and not is_posted(attachment)
    return listed


def context(request, trust, attachments, form: AttachForm | None = None) -> dict:
    """What ``charity/_attachments.html`` needs."""
    record = can_attach(request, trust)
    return {"attachments": rows(request, trust, attachments),
            "attach_form": (form or AttachForm()) if record else None}


def handle(request, *, target, attachments) -> tuple[bool, AttachForm | None]:
    """An ``attach`` or ``remove-attachment`` POST: ``(done, form)``. ``done`` is True when something changed (the
    page redirects); otherwise the form holds the refusal (or a message says it). The caller has checked that the
    user may write on the page; the service checks ``RECORD`` again (403)."""
    action = request.POST.get("action")
    if action == ATTACH:
        form = AttachForm(request.POST, request.FILES)
        if not form.is_valid():
            return False, form
        upload = form.cleaned_data["file"]
        try:
            attachment = services.attachment_add(target=target, upload=upload, user=request.user)
        except CharityError as exc:
            form.add_error("file" if exc.field in (None, "file", "target") else None, exc.message)
            return False, form
        messages.success(request, _("%(name)s attached.") % {"name": attachment.name})
        return True, None
    pk = request.POST.get("attachment", "")
    attachment = attachments.filter(pk=int(pk)).first() if pk.isdigit() else None
    if attachment is None:
        raise Http404("no such attachment here")
    try:
        services.attachment_remove(attachment=attachment, user=request.user)
    except CharityError as exc:
        messages.error(request, exc.message)
        return False, None
    messages.success(request, _("%(name)s removed.") % {"name": attachment.name})
    return True, None
