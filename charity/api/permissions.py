"""Permission classes: read needs ``charity.read_books``; each write names the permission it needs. Both are
asked in the trust of the URL (``user.has_perm(perm, trust)``: a role held in another trust counts for nothing).

The services check the same permissions again, themselves; this class only answers early, before the body is
read, and lets lists outside a trust (``/api/trusts/``, ``/api/audit/``) through to querysets that show only the
user's trusts.
"""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from charity.roles import trusts_where


class BooksPermission(BasePermission):
    """Safe methods need ``read_perm``; unsafe ones need the view's ``write_perms[action]`` (or ``write_perm``)."""

    read_perm = "charity.read_books"

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated and user.is_active):
            return False
        if request.method in SAFE_METHODS:
            needed = getattr(view, "read_perm", self.read_perm)
        else:
            perms = getattr(view, "write_perms", {})
            needed = perms.get(getattr(view, "action", None)) or getattr(view, "write_perm", None)
        if not needed:
            return False
        trust = view.get_trust() if hasattr(view, "get_trust") and "trust_code" in view.kwargs else None
        if trust is None:  # a list outside a trust, for whoever holds the permission somewhere; its queryset is
            return request.method in SAFE_METHODS and trusts_where(user, needed).exists()  # scoped to the user
        return user.has_perm(needed, trust)
