"""Global grants are answered by Django's own ModelBackend, cached on the user as Django caches them."""

import pytest
from django.contrib.auth.models import Permission

from ledger.services import system_user


@pytest.fixture
def officer(db, django_user_model):
    from charity.services import trust_create

    trust_create(user=system_user(), code="CT", name="信托")
    user = django_user_model.objects.create_user("officer")
    user.user_permissions.add(Permission.objects.get(codename="view_audit_log"))
    return type(user).objects.get(pk=user.pk)


def test_global_grants_in_two_queries_then_cached(officer, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):  # the user's own permissions, then their groups'
        assert officer.has_perm("charity.view_audit_log")
        assert not officer.has_perm("ledger.close_periods")
    with django_assert_max_num_queries(0):
        assert officer.has_perm("charity.view_audit_log")
