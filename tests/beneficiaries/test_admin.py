"""The admin shows PII masked unless the user may see it, logs unmasked views, and acts through the services."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from beneficiaries.models import Disbursement, PiiAccessLog
from beneficiaries.services import batch_create, disbursement_draft

from charity.roles import ADMINISTRATOR
from tests.conftest import grant

from .conftest import D2, give


def staff(django_user_model, name, *codenames):
    """An administrator (the admin is for them alone), plus the named permissions of beneficiaries."""
    user = django_user_model.objects.create_user(name, password="pw", is_staff=True)
    grant(user, ADMINISTRATOR)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="beneficiaries", codename__in=codenames))
    return user


@pytest.fixture
def clerk(django_user_model):
    return staff(django_user_model, "clerk", "view_beneficiary", "change_beneficiary", "view_household")


@pytest.fixture
def caseworker(django_user_model):
    return staff(django_user_model, "caseworker2", "view_beneficiary", "change_beneficiary", "view_pii")


def test_masked_for_a_user_without_the_permission(client, clerk, mother):
    client.force_login(clerk)
    page = client.get("/admin/beneficiaries/beneficiary/").content.decode()
    full_birth = (mother.birth_date.isoformat(), f"{mother.birth_date.year}年{mother.birth_date.month}月")
    assert mother.id_number not in page and mother.id_number[:2] + "*" * 16 in page
    assert mother.id_number[-4:] not in page and not any(b in page for b in full_birth)
    page = client.get(f"/admin/beneficiaries/beneficiary/{mother.pk}/change/").content.decode()
    assert mother.id_number not in page and "13812345678" not in page and "138****5678" in page
    assert not any(b in page for b in full_birth)
    page = client.get(f"/admin/beneficiaries/household/{mother.household_id}/change/").content.decode()
    assert mother.id_number not in page and not any(b in page for b in full_birth)
    assert not PiiAccessLog.objects.exists()


def test_unmasked_with_the_permission_and_logged(client, caseworker, mother):
    client.force_login(caseworker)
    page = client.get("/admin/beneficiaries/beneficiary/").content.decode()
    assert mother.id_number not in page  # lists stay masked
    page = client.get(f"/admin/beneficiaries/beneficiary/{mother.pk}/change/").content.decode()
    assert mother.id_number in page and "13812345678" in page
    log = PiiAccessLog.objects.get()
    assert (log.user, log.beneficiary) == (caseworker, mother)


def test_change_goes_through_the_service_and_keeps_history(client, clerk, mother):
    client.force_login(clerk)
    response = client.post(
        f"/admin/beneficiaries/beneficiary/{mother.pk}/change/",
        {"name": mother.name, "household": mother.household_id, "guardian": "", "district": "海珠区",
         "community": "", "consent_date": "", "consent_given_by": "",
         "history-TOTAL_FORMS": "1", "history-INITIAL_FORMS": "1", "history-MIN_NUM_FORMS": "0",
         "history-MAX_NUM_FORMS": "1000", "history-0-id": mother.history.get().pk, "history-0-beneficiary": mother.pk},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    mother.refresh_from_db()
    assert mother.district == "海珠区" and mother.phone == "13812345678"
    assert mother.history.filter(action="updated").get().changed_by == clerk


def test_batch_actions_call_the_services(client, aid, officer, approver, child, django_user_model):
    give(aid, aid.study, "5000", officer)
    batch = batch_create(book=aid.book, code="day", user=officer)
    disbursement_draft(book=aid.book, external_id="DS-1", beneficiary=child, program=aid.study_grant,
                       fund=aid.study, date=D2, amount=Decimal("1000"), user=officer, batch=batch)
    officer.is_staff = officer.is_superuser = True
    officer.save()
    client.force_login(officer)
    url = "/admin/beneficiaries/disbursementbatch/"
    refused = client.post(url, {"action": "approve", "_selected_action": [batch.pk]}, follow=True)
    # Four eyes: the drafter cannot approve, and the page says so in the service's own words.
    shown = [(m.level_tag, m.message) for m in refused.context["messages"]]
    assert shown == [("error", f"{batch}: batch day (or a disbursement in it) was drafted by officer; another user "
                               "must approve it")]
    batch.refresh_from_db()
    assert (batch.status, batch.approved_by, batch.approved_at) == ("draft", None, None)
    assert Disbursement.objects.get().status == "draft" and Disbursement.objects.get().approved_by is None
    approver.is_staff = approver.is_superuser = True
    approver.save()
    client.force_login(approver)
    client.post(url, {"action": "approve", "_selected_action": [batch.pk]})
    client.post(url, {"action": "post", "_selected_action": [batch.pk]})
    batch.refresh_from_db()
    assert batch.status == "posted" and Disbursement.objects.get().status == "paid"
