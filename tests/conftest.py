"""Fixtures shared by every area: users, and fast password hashing."""

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
