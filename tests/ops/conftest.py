"""A trust with a gift, its users, and a standby: the ``replica`` alias, a TEST MIRROR of the test database.

The mirror is a second connection to the same database, so its reads see only what is committed: the tests here
commit for real (``transaction=True``). ``standby`` turns routing to it on (``DATABASE_REPLICA``), and counts the
statements each connection ran, so a test can say which database served a request.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from charity import roles
from charity.services import donation_record, donor_create, trust_create
from ledger.models import Fund
from ledger.services import system_user
from tests.conftest import grant

DATABASES = ["default", "replica"]


@pytest.fixture
def world(django_user_model):
    trust = trust_create(user=system_user(), code="CT", name="关爱妇女儿童慈善信托", name_en="Caring Trust")
    other = trust_create(user=system_user(), code="OT", name="另一个信托", name_en="Other Trust")
    gen = Fund.objects.get(book=trust.book, code="GEN")
    users = {}
    for name, role, where in (("officer", roles.OFFICER, trust), ("auditor", roles.AUDITOR, trust),
                              ("outsider", roles.OFFICER, other)):
        users[name] = grant(django_user_model.objects.create_user(name, password=f"pw-{name}-123"), role, where)
    users["donor"] = django_user_model.objects.create_user("donor", password="pw-donor-123")
    donor = donor_create(by=system_user(), trust=trust, kind="individual", name="甲捐赠人", external_id="D-A",
                         user=users["donor"])
    donation_record(trust=trust, external_id="DN-1", date=dt.date(2026, 3, 2), amount=Decimal("1200.00"), fund=gen,
                    channel="bank", user=users["officer"], donor=donor)
    trust.book.refresh_from_db()
    return {"trust": trust, "other": other, "users": users, "donor": donor}


@pytest.fixture
def client_for(world):
    def make(name: str) -> APIClient:
        client = APIClient()
        if name != "anonymous":
            client.force_login(world["users"][name])
        return client

    return make


class Served:
    """Statements run on each connection during the block: ``served.by`` is "replica", "default" or "both"."""

    def __enter__(self):
        self.captures = {alias: CaptureQueriesContext(connections[alias]) for alias in DATABASES}
        for capture in self.captures.values():
            capture.__enter__()
        return self

    def __exit__(self, *exc):
        for capture in self.captures.values():
            capture.__exit__(*exc)

    def count(self, alias: str) -> int:
        return len(self.captures[alias].captured_queries)


@pytest.fixture
def standby(settings):
    settings.DATABASE_REPLICA = True
    yield Served
    connections["replica"].close()  # a shared-cache SQLite mirror must not hold the tables when the test flushes
