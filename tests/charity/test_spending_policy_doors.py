"""The doors to a trust's spending rule: the admin (administrators only, every save through
``spending_policy_set``, a bad field is a form error and writes nothing) and the API (read-only, to those who may
read the trust's books; no write route)."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from charity import roles, spending
from charity.models import SpendingPolicy
from charity.services import spending_policy_set
from ledger.services import system_user
from tests.conftest import grant

pytestmark = pytest.mark.django_db

DEED = {"preset": spending.CHARITY_TRUST_DEED, "base": spending.PRIOR_YEAR_INCOME, "floor": "0.70", "cap": "0.10",
        "deed_reference": "信托合同第十二条", "management_exempt_below": ""}


@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("boss", "boss@example.org", "pw-boss-1"))
    return client


def test_an_administrator_sets_the_rule_in_the_admin(admin_client, trust):
    assert admin_client.get(reverse("admin:charity_spendingpolicy_add")).status_code == 200
    response = admin_client.post(reverse("admin:charity_spendingpolicy_add"), {"trust": trust.pk, **DEED})
    assert response.status_code == 302, response.content.decode()[:3000]
    policy = SpendingPolicy.objects.get(trust=trust)
    assert (policy.preset, str(policy.floor), str(policy.cap), policy.count_in_kind) == (
        "charity_trust_deed", "0.7000", "0.1000", False)
    assert policy.updated_by.username == "boss"
    change = reverse("admin:charity_spendingpolicy_change", args=[policy.pk])
    assert admin_client.get(change).status_code == 200
    response = admin_client.post(change, {**DEED, "cap": "0.12", "count_in_kind": "on"})
    assert response.status_code == 302, response.content.decode()[:3000]
    policy.refresh_from_db()
    assert (str(policy.cap), policy.count_in_kind) == ("0.1200", True)


def test_a_bad_field_is_a_form_error_and_writes_nothing(admin_client, trust):
    response = admin_client.post(reverse("admin:charity_spendingpolicy_add"),
                                 {"trust": trust.pk, **DEED, "deed_reference": ""})
    assert response.status_code == 200
    assert "name the clause of the trust deed" in response.content.decode()
    response = admin_client.post(reverse("admin:charity_spendingpolicy_add"),
                                 {"trust": trust.pk, **DEED, "preset": spending.FOUNDATION_PUBLIC,
                                  "base": spending.PRIOR_NET_ASSETS})
    assert response.status_code == 200 and "is not allowed for foundation_public" in response.content.decode()
    assert not SpendingPolicy.objects.exists()


@pytest.mark.parametrize("role", [roles.OFFICER, roles.APPROVER, roles.AUDITOR])
def test_the_trusts_own_roles_cannot_reach_it_in_the_admin(client, trust, role):
    client.force_login(grant(get_user_model().objects.create_user(f"x-{role}"), role, trust))
    response = client.post(reverse("admin:charity_spendingpolicy_add"), {"trust": trust.pk, **DEED})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert not SpendingPolicy.objects.exists()


def test_the_api_shows_the_rule_read_only(client, trust):
    auditor = grant(get_user_model().objects.create_user("reader"), roles.AUDITOR, trust)
    client.force_login(auditor)
    url = f"/api/v1/trusts/{trust.code}/"
    assert client.get(url).json()["spending_policy"] is None
    spending_policy_set(trust=trust, preset=spending.FOUNDATION_PRIVATE, user=system_user())
    body = client.get(url).json()["spending_policy"]
    assert body == {"preset": "foundation_private", "base": "prior_net_assets", "floor": None, "cap": None,
                    "count_endowment_principal": False, "count_in_kind": True,
                    "management_exempt_below": "200000.00", "deed_reference": ""}
    for method in ("put", "patch"):
        response = getattr(client, method)(url, {"spending_policy": None}, content_type="application/json")
        assert response.status_code in (403, 405)
    assert SpendingPolicy.objects.get(trust=trust).preset == "foundation_private"
