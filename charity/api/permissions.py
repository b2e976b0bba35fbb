"""Permission classes: read needs ``charity.read_books``; each write names the permission it needs."""

from rest_framework.permissions import SAFE_METHODS, BasePermission


class BooksPermission(BasePermission):
    """Safe methods need ``read_perm``; unsafe ones need the view's ``write_perms[action]`` (or ``write_perm``)."""

    read_perm = "charity.read_books"

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if request.method in SAFE_METHODS:
            return user.has_perm(getattr(view, "read_perm", self.read_perm))
        perms = getattr(view, "write_perms", {})
        needed = perms.get(getattr(view, "action", None)) or getattr(view, "write_perm", None)
        return bool(needed) and user.has_perm(needed)


def has(user, perm: str) -> bool:
    return bool(user and user.is_authenticated and user.has_perm(perm))
