"""The last touches of the demo year: one voided receipt, and the demo donor's sign-in linked to a real donor."""

from django.contrib.auth import get_user_model
from django.db.models import Count

from charity.models import Donor, Receipt
from charity.services import donor_update, receipt_void
from ledger.services import system_user


def finish(*, trust, year, today, stdout) -> None:
    users = get_user_model().objects
    donor_user = users.filter(username="donor").first()
    donor = (
        Donor.objects.filter(trust=trust, anonymous=False, kind="individual", user__isnull=True)
        .annotate(n=Count("donations")).filter(n__gte=3).order_by("-n", "external_id").first()
    )
    if donor_user is not None and donor is not None:
        donor_update(donor=donor, user=donor_user, by=system_user())
        stdout.write(f"the demo user 'donor' signs in as {donor.name} ({donor.external_id}, {donor.n} gifts)")
    # One receipt voided and issued again (a typo in the donor's name on the first print, say).
    receipt = (
        Receipt.objects.filter(trust=trust, year=year, voided_at__isnull=True, donation__donor__isnull=False)
        .order_by("number").first()
    )
    if receipt is not None:
        officer = users.get(username="officer")
        receipt_void(receipt=receipt, user=officer, reason="打印时捐赠人姓名有误，作废重开 (misprinted name, reissued)",
                     reissue=True)
        stdout.write(f"voided receipt {receipt.label} and issued it again")
