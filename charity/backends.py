"""The trust-scoped permission backend. Global grants (the administrator's) are Django's own ``ModelBackend``'s."""

from __future__ import annotations

from django.contrib.auth import backends
from django.contrib.auth.backends import ModelBackend


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
