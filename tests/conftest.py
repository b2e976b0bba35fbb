"""Fixtures shared by every area: users, and fast password hashing."""

import datetime as dt
import os

import pytest


def grant(user, role: str, trust=None):
    """Give ``user`` the role in ``trust`` (a membership), or in every trust there is when ``trust`` is None.
    ``role`` may be a role name (charity.roles) or ``"administrator"`` (the global group)."""
    from django.contrib.auth.models import Group

    from charity.models import Membership, Trust
    from charity.roles import ADMINISTRATOR

    if role == ADMINISTRATOR:
        user.groups.add(Group.objects.get(name=ADMINISTRATOR))
    else:
        for t in [trust] if trust is not None else Trust.objects.all():
            Membership.objects.get_or_create(user=user, trust=t, role=role)
    user.__dict__.pop("_trust_perm_cache", None)
    user.__dict__.pop("_perm_cache", None)
    return user


@pytest.fixture
def cast(db):
    """The (user, role) pairs that join every trust: those there now (``grant``) and those a test creates later.

    Service tests make their trust in a fixture of their own area, in any order with the users; the officer and
    the approver below hold their role in each of them. A test of the boundary between trusts makes its own
    outsider (tests/charity/test_authority.py)."""
    from django.db.models.signals import post_save

    from charity.models import Membership, Trust

    joined: list = []

    def join(sender, instance, created, **kwargs):
        if created:
            for user, role in joined:
                Membership.objects.get_or_create(user=user, trust=instance, role=role)
                user.__dict__.pop("_trust_perm_cache", None)

    post_save.connect(join, sender=Trust, weak=False, dispatch_uid="tests.cast")
    yield joined
    post_save.disconnect(sender=Trust, dispatch_uid="tests.cast")


@pytest.fixture
def officer(django_user_model, cast):
    from charity.roles import OFFICER

    user = grant(django_user_model.objects.create_user("officer", password="pw-officer-1"), OFFICER)
    cast.append((user, OFFICER))
    return user


@pytest.fixture
def approver(django_user_model, cast):
    from charity.roles import APPROVER

    user = grant(django_user_model.objects.create_user("approver", password="pw-approver-1"), APPROVER)
    cast.append((user, APPROVER))
    return user


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """PBKDF2 is slow on purpose (that is its job against password guessing); tests need no real hashing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_configure(config):
    """``CTL_CLOCK_SHIFT_DAYS=N`` runs the whole suite with the clock N days ahead (time-machine, ticking).

    CI runs the suite once two years ahead, so that no test can depend on today's date and expire later.
    """
    shift = os.environ.get("CTL_CLOCK_SHIFT_DAYS")
    if shift:
        import time_machine

        time_machine.travel(dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=int(shift)), tick=True).start()


@pytest.fixture
def both(django_user_model, cast):
    """One person who is officer and approver in every trust: the four-eyes rule must still stop her approving
    what she drafted herself."""
    from charity.roles import APPROVER, OFFICER

    user = django_user_model.objects.create_user("both", password="pw-both-1")
    for role in (OFFICER, APPROVER):
        grant(user, role)
        cast.append((user, role))
    return user


@pytest.fixture(scope="session", autouse=True)
def _media_root(tmp_path_factory):
    """Attachments are stored under MEDIA_ROOT: a directory of the test session's own, never the work tree's."""
    from django.test import override_settings

    with override_settings(MEDIA_ROOT=str(tmp_path_factory.mktemp("media"))):
        yield
