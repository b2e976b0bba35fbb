"""Fixtures shared by every area: users, and fast password hashing."""

import datetime as dt
import os

import pytest


@pytest.fixture
def officer(django_user_model):
    return django_user_model.objects.create_user("officer", password="pw-officer-1")


@pytest.fixture
def approver(django_user_model):
    return django_user_model.objects.create_user("approver", password="pw-approver-1")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """PBKDF2 costs a third of a second per user on these shared machines; tests need no real hashing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_configure(config):
    """``CTL_CLOCK_SHIFT_DAYS=N`` runs the whole suite with the clock N days ahead (time-machine, ticking).

    CI runs the suite once two years ahead, so that no test can depend on today's date and expire later.
    """
    shift = os.environ.get("CTL_CLOCK_SHIFT_DAYS")
    if shift:
        import time_machine

        time_machine.travel(dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=int(shift)), tick=True).start()
