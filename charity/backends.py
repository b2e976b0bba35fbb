"""Django's ``ModelBackend``, with a user's permissions read in one statement.

An API request authenticates by token and gets a fresh ``User`` each time, so the permission check of every
request loads the user's permissions again: Django's backend does it with two ORM queries (the user's own,
then their groups'), which cost more to build than to run. This one asks for both in one SQL statement and
caches the result on the user object exactly where Django's does (``_perm_cache``), so everything else
(``has_perm``, ``has_module_perms``, the admin, superusers, inactive users) behaves as Django's.
"""

from __future__ import annotations

from django.contrib.auth import backends, get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection


def _sql() -> str:
    user_model = get_user_model()
    user_perms = user_model._meta.get_field("user_permissions").remote_field.through._meta
    user_groups = user_model._meta.get_field("groups").remote_field.through._meta
    group_perms = Group._meta.get_field("permissions").remote_field.through._meta
    return (
        f"SELECT ct.app_label, p.codename FROM {Permission._meta.db_table} p "
        f"JOIN {ContentType._meta.db_table} ct ON ct.id = p.content_type_id WHERE p.id IN ("
        f"SELECT up.permission_id FROM {user_perms.db_table} up WHERE up.{user_perms.get_field('user').column} = %s "
        f"UNION SELECT gp.permission_id FROM {group_perms.db_table} gp "
        f"JOIN {user_groups.db_table} ug ON ug.{user_groups.get_field('group').column} = gp.group_id "
        f"WHERE ug.{user_groups.get_field('user').column} = %s)"
    )


class ModelBackend(backends.ModelBackend):
    _query: str | None = None

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None or user_obj.is_superuser:
            return super().get_all_permissions(user_obj, obj)
        if not hasattr(user_obj, "_perm_cache"):
            if ModelBackend._query is None:
                ModelBackend._query = _sql()
            with connection.cursor() as cursor:
                cursor.execute(ModelBackend._query, [user_obj.pk, user_obj.pk])
                user_obj._perm_cache = {f"{app_label}.{codename}" for app_label, codename in cursor.fetchall()}
        return user_obj._perm_cache


class MembershipBackend(backends.BaseBackend):
    """Permissions in one trust: ``user.has_perm(perm, obj)`` where ``obj`` is a trust, a book, or a record that
    belongs to one (it has ``book_id`` or ``trust_id``).

    The answer is the union of the roles the user holds in that trust (``Membership``, ``roles.ROLE_PERMISSIONS``)
    and the permissions granted to the user globally (directly or through a group: the administrator's), which
    count in every trust. Asked without an object, this backend grants nothing: Django's ``ModelBackend`` answers
    for global permissions alone. The answer is cached on the user object per book, as Django caches its own.
    """

    def get_all_permissions(self, user_obj, obj=None):
        if obj is None or not user_obj.is_active or user_obj.is_anonymous:
            return set()
        book_id = book_id_of(obj)
        if book_id is None:
            return set()
        cache = user_obj.__dict__.setdefault("_trust_perm_cache", {})
        if book_id not in cache:
            from .models import Membership
            from .roles import ROLE_PERMISSIONS

            roles = Membership.objects.filter(user=user_obj, trust__book_id=book_id).values_list("role", flat=True)
            granted = set(ModelBackend().get_all_permissions(user_obj))
            for role in roles:
                granted |= ROLE_PERMISSIONS.get(role, frozenset())
            cache[book_id] = granted
        return cache[book_id]

    def has_perm(self, user_obj, perm, obj=None):
        return perm in self.get_all_permissions(user_obj, obj)


def book_id_of(obj) -> int | None:
    """The id of the book ``obj`` belongs to: a ``Book`` itself, a ``Trust``, or a record with a book or trust."""
    from ledger.models import Book

    from .models import Trust

    if isinstance(obj, Book):
        return obj.pk
    if isinstance(obj, Trust):
        return obj.book_id
    if getattr(obj, "book_id", None) is not None:
        return obj.book_id
    if getattr(obj, "trust_id", None) is not None:
        return Trust.objects.filter(pk=obj.trust_id).values_list("book_id", flat=True).first()
    return None
