"""Fixtures shared by every area: users, and the database vendor."""

import pytest
from django.db import connection


@pytest.fixture
def officer(django_user_model):
    return django_user_model.objects.create_user("officer", password="pw-officer-1")


@pytest.fixture
def approver(django_user_model):
    return django_user_model.objects.create_user("approver", password="pw-approver-1")


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


requires_postgres = pytest.mark.skipif(
    "not config.getoption('--no-migrations') and False", reason="placeholder"
)
