"""Attachments: files (PDF, JPEG, PNG) kept with a journal entry, a gift, an expense or its request, a
disbursement.

The type is found from the file's first bytes (``filetype``), never from its name; the size is limited by
``settings.ATTACHMENT_MAX_BYTES``. Attaching needs ``RECORD`` in the trust, reading needs ``READ``; an attachment
whose entry is posted is never removed (a database trigger refuses it too).
"""

from __future__ import annotations

import hashlib

import filetype
from django.conf import settings
from django.core.files.base import File
from django.db import transaction
from django.db.models import Q

from beneficiaries.models import Disbursement
from ledger.authority import require
from ledger.locking import lock_one
from ledger.models import EntryStatus, JournalEntry

from ..errors import AttachmentError
from ..models import Attachment, Donation, Expense, ExpenseRequest, Trust
from ..models.expenses import ExpenseRequestStatus
from ..roles import READ, RECORD

ALLOWED = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}
HEAD = 262  # what filetype needs to recognise any type it knows


def _target(target) -> tuple[str, Trust]:
    """(the attachment's column for ``target``, its trust)."""
    if isinstance(target, JournalEntry):
        return "entry", Trust.objects.select_related("book").get(book_id=target.book_id)
    if isinstance(target, Disbursement):
        return "disbursement", Trust.objects.select_related("book").get(book_id=target.book_id)
    for model, column in ((Donation, "donation"), (Expense, "expense"), (ExpenseRequest, "expense_request")):
        if isinstance(target, model):
            return column, Trust.objects.select_related("book").get(pk=target.trust_id)
    raise AttachmentError("files are attached to a journal entry, a gift, an expense or a disbursement",
                          field="target")


def attachment_check(upload) -> str:
    """The content type of ``upload`` (an uploaded or any Django ``File``) if it may be attached, else refused:
    at most ``ATTACHMENT_MAX_BYTES``, and a PDF, JPEG or PNG by its content."""
    if upload is None:
        raise AttachmentError("choose a file", field="file")
    limit = settings.ATTACHMENT_MAX_BYTES
    if upload.size is None or upload.size > limit:
        raise AttachmentError(f"a file is at most {limit // (1024 * 1024)} MB", field="file")
    if upload.size == 0:
        raise AttachmentError("the file is empty", field="file")
    upload.seek(0)
    head = upload.read(HEAD)
    upload.seek(0)
    kind = filetype.guess(head)
    if kind is None or kind.mime not in ALLOWED:
        raise AttachmentError("only PDF, JPEG and PNG files can be attached (judged by the file's content)",
                              field="file")
    return kind.mime


def _digest(upload) -> str:
    sha = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks() if hasattr(upload, "chunks") else iter(lambda: upload.read(65536), b""):
        sha.update(chunk)
    upload.seek(0)
    return sha.hexdigest()


def attachment_add(*, target, upload, user, name: str | None = None) -> Attachment:
    """Attach ``upload`` to ``target`` (a JournalEntry, Donation, Expense, ExpenseRequest or Disbursement)."""
    column, trust = _target(target)
    require(user, RECORD, trust.book)
    content_type = attachment_check(upload)
    name = (name or getattr(upload, "name", "") or "file").replace("\\", "/").rsplit("/", 1)[-1][:255]
    attachment = Attachment(trust=trust, name=name, content_type=content_type, size=upload.size,
                            sha256=_digest(upload), uploaded_by=user, **{column: target})
    with transaction.atomic():
        # upload_to (models.attachments.attachment_path) names it by its SHA-256; only the extension is used here
        attachment.file.save(f"upload.{ALLOWED[content_type]}", File(upload), save=False)
        try:
            attachment.save()
        except Exception:
            attachment.file.delete(save=False)
            raise
    return attachment


def is_posted(attachment: Attachment) -> bool:
    """Whether what ``attachment`` belongs to is posted (then the attachment stays for good)."""
    if attachment.donation_id or attachment.expense_id:
        return True  # posted when recorded
    if attachment.entry_id:
        return attachment.entry.status == EntryStatus.POSTED
    if attachment.expense_request_id:
        return attachment.expense_request.status != ExpenseRequestStatus.DRAFT
    if attachment.disbursement_id:
        return attachment.disbursement.entry_id is not None
    return False


@transaction.atomic
def attachment_remove(*, attachment: Attachment, user) -> None:
    """Remove an attachment of something not posted yet (a draft disbursement, a waiting expense request)."""
    require(user, RECORD, attachment.trust.book)
    locked = lock_one(attachment)
    if is_posted(locked):
        raise AttachmentError(f"{locked.name} belongs to a posted entry: it is never removed", field="attachment")
    name, storage = locked.file.name, locked.file.storage
    locked.delete()
    transaction.on_commit(lambda: storage.delete(name))


def attachment_open(*, attachment: Attachment, user):
    """The stored file, opened for reading, for a user who holds ``READ`` in the attachment's trust."""
    require(user, READ, attachment.trust.book)
    return attachment.file.open("rb")


def entry_attachments(entry: JournalEntry):
    """Every attachment of ``entry``: its own and those of the gift, expense (and its request) or disbursement it
    records."""
    return (Attachment.objects.filter(
        Q(entry=entry) | Q(donation__entry=entry) | Q(expense__entry=entry) | Q(expense_request__expense__entry=entry)
        | Q(disbursement__entry=entry)).order_by("pk"))
