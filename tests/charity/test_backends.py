"""charity.backends.ModelBackend answers every permission question as Django's own ModelBackend does."""

from ledger.services import system_user
import pytest
from django.contrib.auth import backends as django_backends
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from charity import roles
from charity.backends import ModelBackend


@pytest.fixture
def cast(db, django_user_model):
    from charity.services import trust_create

    trust_create(user=system_user(), code="CT", name="信托")
    make = django_user_model.objects.create_user
    officer = make("officer")
    officer.user_permissions.add(Permission.objects.get(codename="post_journal_entries"),
                                 Permission.objects.get(codename="read_books"))
    both = make("both")
    both.groups.add(Group.objects.get(name=roles.ADMINISTRATOR))
    both.user_permissions.add(Permission.objects.get(codename="view_audit_log"),
                              Permission.objects.get(codename="add_group"))
    own = make("own")
    own.user_permissions.add(Permission.objects.get(codename="add_group"))
    inactive = make("inactive", is_active=False)
    inactive.groups.add(Group.objects.get(name=roles.ADMINISTRATOR))
    return [officer, both, own, inactive, make("nobody"), make("root", is_superuser=True)]


def _fresh(user):
    return type(user).objects.get(pk=user.pk)


def test_same_permissions_as_djangos_backend(cast):
    ours, django = ModelBackend(), django_backends.ModelBackend()
    assert "charity.post_journal_entries" in django.get_all_permissions(_fresh(cast[0]))  # the cast has some
    for user in cast:
        expected = django.get_all_permissions(_fresh(user))
        assert ours.get_all_permissions(_fresh(user)) == expected, user.username
        for perm in ["charity.post_journal_entries", "charity.read_books", "charity.view_audit_log", "auth.add_group",
                     "auth.delete_group", "ledger.close_periods"]:
            assert ours.has_perm(_fresh(user), perm) == django.has_perm(_fresh(user), perm), (user.username, perm)
    assert ours.get_all_permissions(_fresh(cast[0]), obj=object()) == set()


def test_one_statement_then_cached_on_the_user(cast):
    officer = _fresh(cast[0])
    with CaptureQueriesContext(connection) as queries:
        assert officer.has_perm("charity.post_journal_entries")
        assert not officer.has_perm("ledger.close_periods")
    assert len(queries) == 1
