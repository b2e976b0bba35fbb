"""The cast for permission tests: an officer, an approver, an auditor, two donors, an outsider, anonymous."""

from ledger.services import system_user
import pytest
from tests.conftest import grant
from rest_framework.test import APIClient

from charity import roles
from charity.services import trust_create

CAST = ["officer", "approver", "auditor", "donor_a", "donor_b", "outsider", "anonymous"]
ROLE_OF = {
    "officer": roles.OFFICER,
    "approver": roles.APPROVER,
    "auditor": roles.AUDITOR,
    "donor_a": roles.DONOR,
    "donor_b": roles.DONOR,
    "outsider": None,
}


@pytest.fixture
def trust(db):
    return trust_create(user=system_user(), code="CT", name="关爱妇女儿童慈善信托", name_en="Caring for Women and Children Charity Trust")


@pytest.fixture
def users(db, django_user_model, trust):
    made = {}
    for name, role in ROLE_OF.items():
        user = django_user_model.objects.create_user(name, password=f"pw-{name}-123")
        if role and role != roles.DONOR:
            grant(user, role, trust)
        made[name] = user
    return made


@pytest.fixture
def client_for(users):
    def make(name: str) -> APIClient:
        client = APIClient()
        if name != "anonymous":
            client.force_authenticate(users[name])
        return client

    return make
