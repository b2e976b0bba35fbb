"""Permission classes: read needs ``charity.read_books``; each write names the permission it needs."""

import functools

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from rest_framework.permissions import SAFE_METHODS, BasePermission

# The backends whose has_perm is exactly "active, and superuser or granted through the user or a group"
# (axes' backend grants nothing). With any other backend configured, ``has_one_perm`` asks ``user.has_perm``.
_MODEL_PERMISSIONS_ONLY = {
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "charity.backends.ModelBackend",  # Django's, reading the same grants in one statement
}


@functools.cache
def _one_perm_sql() -> str:
    """The permission's row, if the user holds it directly or through a group (table names from the models)."""
    user_perms = get_user_model().user_permissions.through._meta
    group_perms = Group.permissions.through._meta
    user_groups = get_user_model().groups.through._meta
    user_column = user_perms.get_field(get_user_model()._meta.model_name).column
    return (
        f"SELECT 1 FROM {Permission._meta.db_table} p"
        f" JOIN {ContentType._meta.db_table} ct ON ct.id = p.content_type_id"
        " WHERE ct.app_label = %s AND p.codename = %s AND ("
        f"EXISTS (SELECT 1 FROM {user_perms.db_table} up WHERE up.permission_id = p.id AND up.{user_column} = %s)"
        f" OR EXISTS (SELECT 1 FROM {group_perms.db_table} gp JOIN {user_groups.db_table} ug"
        f" ON ug.group_id = gp.group_id WHERE gp.permission_id = p.id"
        f" AND ug.{user_groups.get_field(get_user_model()._meta.model_name).column} = %s))"
    )


def has_one_perm(user, perm: str) -> bool:
    """``user.has_perm(perm)`` for a single permission, in one small query.

    ``ModelBackend`` answers by loading every permission of the user and of the user's groups (an auditor holds
    more than a hundred view permissions) in two queries, into a cache that lives as long as the user object:
    one API request, since token authentication loads the user afresh each time. For the one check a request
    makes, one EXISTS on the permission's row is cheaper; it is written in SQL because building the same query
    through the ORM cost more CPU (~3 ms) than the two queries it replaces (B6, BENCHMARKS.md finding 5).
    """
    if not (user and user.is_authenticated and user.is_active):
        return False
    if user.is_superuser:
        return True
    if hasattr(user, "_perm_cache") or set(settings.AUTHENTICATION_BACKENDS) - _MODEL_PERMISSIONS_ONLY:
        return user.has_perm(perm)
    app_label, _, codename = perm.partition(".")
    with connection.cursor() as cursor:
        cursor.execute(_one_perm_sql(), [app_label, codename, user.pk, user.pk])
        return cursor.fetchone() is not None


class BooksPermission(BasePermission):
    """Safe methods need ``read_perm``; unsafe ones need the view's ``write_perms[action]`` (or ``write_perm``)."""

    read_perm = "charity.read_books"

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if request.method in SAFE_METHODS:
            return has_one_perm(user, getattr(view, "read_perm", self.read_perm))
        perms = getattr(view, "write_perms", {})
        needed = perms.get(getattr(view, "action", None)) or getattr(view, "write_perm", None)
        return bool(needed) and has_one_perm(user, needed)


def has(user, perm: str) -> bool:
    return bool(user and user.is_authenticated and user.has_perm(perm))
