"""Gift links: every gift gets one when it is recorded (``donation_record``); an officer revokes a link (its QR
code and URL stop working) and may issue a new one, e.g. for a gift recorded before links existed."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from ledger.authority import require
from ledger.locking import lock

from ..audit import audit
from ..errors import MailError
from ..links import new_nonce
from ..models import Donation, GiftLink
from ..roles import RECORD


def live_link(donation: Donation) -> GiftLink | None:
    return GiftLink.objects.filter(donation=donation, revoked_at__isnull=True).first()


def _link_new(donation: Donation) -> GiftLink:
    return GiftLink.objects.create(donation=donation, nonce=new_nonce())


@transaction.atomic
def gift_link_issue(*, donation: Donation, user) -> GiftLink:
    """A link for a gift that has none live (the old one revoked, or recorded before links existed)."""
    require(user, RECORD, donation.trust.book)
    if live_link(donation) is not None:
        raise MailError(f"gift {donation.external_id} already has a live link; revoke it first", field="link")
    link = _link_new(donation)
    audit(user=user, action="gift link issued", trust=donation.trust,
          detail={"donation": donation.external_id, "link": link.pk})
    return link


@transaction.atomic
def gift_link_revoke(*, donation: Donation, user, reissue: bool = True) -> GiftLink | None:
    """Revoke the gift's live link (its URL and QR code answer 404 from now on); with ``reissue`` a new link is
    made at once and returned (a receipt printed from now on carries it)."""
    require(user, RECORD, donation.trust.book)
    link = next((ln for ln in lock(*GiftLink.objects.filter(donation=donation, revoked_at__isnull=True))
                 if ln.revoked_at is None), None)
    if link is None:
        raise MailError(f"gift {donation.external_id} has no live link to revoke", field="link")
    GiftLink.objects.filter(pk=link.pk).update(revoked_at=timezone.now(), revoked_by=user)
    new = _link_new(donation) if reissue else None
    audit(user=user, action="gift link revoked", trust=donation.trust,
          detail={"donation": donation.external_id, "link": link.pk, "new_link": new.pk if new else None})
    return new
