"""The admin saves through the services; posted records are read-only and never deleted."""

from decimal import Decimal

import pytest
from django.urls import reverse

from charity import chart
from charity.models import Donation, Donor, Expense, Receipt, Refund, Trust
from charity.services import donation_record
from ledger.models import Fund, JournalEntry

from .conftest import D

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_admin(client, django_user_model):
    user = django_user_model.objects.create_superuser("boss", "boss@example.org", "pw-boss-1")
    client.force_login(user)
    client.user = user
    return client


def add(client, model, data):
    return client.post(reverse(f"admin:charity_{model}_add"), data)


def donation_data(trust, funds, **kw):
    data = {"trust": trust.pk, "external_id": "DN-A1", "date": D.isoformat(), "amount_0": "1200.00",
            "amount_1": "CNY", "channel": "bank", "fund": funds["SMILE"].pk, "description": "admin gift"}
    data.update(kw)
    return data


def test_changelists_and_add_pages_render(client_admin, trust, funds):
    donation_record(trust=trust, external_id="DN-1", date=D, amount=Decimal("10"), fund=funds["GEN"],
                    channel="cash", user=client_admin.user)
    for model in ("trust", "donor", "donation", "refund", "receipt", "expense"):
        assert client_admin.get(reverse(f"admin:charity_{model}_changelist")).status_code == 200, model
    for model in ("trust", "donor", "donation", "refund", "expense"):
        assert client_admin.get(reverse(f"admin:charity_{model}_add")).status_code == 200, model
    assert client_admin.get(reverse("admin:ledger_fund_add")).status_code == 200
    assert client_admin.get(reverse("admin:ledger_fund_changelist")).status_code == 200


def test_donation_added_through_the_service(client_admin, trust, funds, books):
    response = add(client_admin, "donation", donation_data(trust, funds))
    assert response.status_code == 302, response.content.decode()[:2000]
    donation = Donation.objects.get()
    assert donation.created_by == client_admin.user and donation.entry_id
    assert books.fund("SMILE") == Decimal("1200.00")
    assert donation.receipts.get().officer_name == "boss"


def test_refusal_shows_on_the_form_and_writes_nothing(client_admin, trust, funds):
    response = add(client_admin, "donation", donation_data(trust, funds, amount_1="USD"))
    assert response.status_code == 200
    assert "needs fx_rate" in response.content.decode()
    response = add(client_admin, "expense", {
        "trust": trust.pk, "external_id": "EX-1", "date": D.isoformat(), "kind": "admin", "fund": funds["SMILE"].pk,
        "amount_0": "10.00", "amount_1": "CNY",
    })
    assert response.status_code == 200 and "fund SMILE is restricted" in response.content.decode()
    assert not Donation.objects.exists() and not Expense.objects.exists() and not JournalEntry.objects.exists()


def test_posted_donation_is_read_only_and_never_deleted(client_admin, trust, funds):
    add(client_admin, "donation", donation_data(trust, funds))
    donation = Donation.objects.get()
    url = reverse("admin:charity_donation_change", args=[donation.pk])
    page = client_admin.get(url)
    assert page.status_code == 200 and 'name="external_id"' not in page.content.decode()
    client_admin.post(url, donation_data(trust, funds, amount_0="1.00"))
    donation.refresh_from_db()
    assert donation.amount.amount == Decimal("1200.00")
    assert client_admin.get(reverse("admin:charity_donation_delete", args=[donation.pk])).status_code == 403
    assert client_admin.post(reverse("admin:charity_donation_delete", args=[donation.pk])).status_code == 403
    assert Donation.objects.count() == 1


def test_trust_fund_donor_expense_refund_through_the_admin(client_admin, trust, funds, books):
    assert add(client_admin, "trust", {"code": "T2", "name": "第二信托"}).status_code == 302
    assert Trust.objects.get(code="T2").book.accounts.count() == len(chart.DEFAULT_CHART)
    response = client_admin.post(reverse("admin:ledger_fund_add"), {
        "trust": trust.pk, "code": "DAWN", "name": "晨曦女童助学基金", "restriction": "restricted",
        "purpose": "study_grant",
    })
    assert response.status_code == 302 and Fund.objects.filter(code="DAWN").exists()
    response = add(client_admin, "donor", {"trust": trust.pk, "external_id": "D-1", "kind": "individual",
                                           "name": "熊慧"})
    assert response.status_code == 302
    donor = Donor.objects.get()
    response = client_admin.post(reverse("admin:charity_donor_change", args=[donor.pk]),
                                 {"kind": "individual", "name": "熊慧慧", "anonymous": "on"})
    assert response.status_code == 302
    donor.refresh_from_db()
    assert donor.name == "熊慧慧" and donor.anonymous
    add(client_admin, "donation", donation_data(trust, funds, fund=funds["GEN"].pk, donor=donor.pk))
    response = add(client_admin, "expense", {
        "trust": trust.pk, "external_id": "EX-1", "date": D.isoformat(), "kind": "bank_fee", "fund": funds["GEN"].pk,
        "amount_0": "20.00", "amount_1": "CNY", "payee": "托管银行",
    })
    assert response.status_code == 302 and books.balance("540101") == Decimal("20.00")
    response = add(client_admin, "refund", {"donation": Donation.objects.get().pk, "external_id": "RF-1",
                                            "date": D.isoformat(), "refund_amount": "100.00", "reason": "部分退回"})
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Refund.objects.get().amount.amount == Decimal("100.00")
    assert books.fund("GEN") == Decimal("1080.00")


def test_receipt_void_and_pdf_in_the_admin(client_admin, trust, funds):
    add(client_admin, "donation", donation_data(trust, funds))
    receipt = Receipt.objects.get()
    pdf = client_admin.get(reverse("admin:charity_receipt_pdf", args=[receipt.pk]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    url = reverse("admin:charity_receipt_change", args=[receipt.pk])
    assert client_admin.post(url, {"void": "wrong donor", "reissue": "on"}).status_code == 302
    receipt.refresh_from_db()
    assert receipt.voided and receipt.void_reason == "wrong donor"
    assert Receipt.objects.filter(voided_at__isnull=True).get().number == 2
    assert client_admin.post(reverse("admin:charity_receipt_delete", args=[receipt.pk])).status_code == 403
