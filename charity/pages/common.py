from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _

from beneficiaries.privacy import people_reached
from charity.models import Trust
from charity.roles import trusts_where


def current_trust(request) -> Trust:
    """The trust a public page shows: ``?trust=CODE``, or the first there is."""
    code = request.GET.get("trust")
    trusts = Trust.objects.select_related("book")
    trust = trusts.filter(code=code).first() if code else trusts.order_by("code").first()
    if trust is None:
        raise Http404("no trust")
    return trust


def trust_for(request, perm: str) -> Trust:
    """The trust a signed-in page works in: ``?trust=CODE`` among the trusts where the user holds ``perm``, or the
    first of them. Refused (403) when the user holds ``perm`` in no trust, or not in the one named."""
    trusts = trusts_where(request.user, perm).select_related("book").order_by("code")
    code = request.GET.get("trust") or request.POST.get("trust")
    trust = trusts.filter(code=code).first() if code else trusts.first()
    if trust is None:
        raise PermissionDenied
    return trust


def nav(request) -> dict:
    """The navigation's links for the signed-in user: which pages she may use in some trust (roles are per trust,
    so the template's global ``perms`` would not see them). A context processor (settings.TEMPLATES)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": {}}
    from charity.roles import READ, RECORD, is_administrator
    from ledger.authority import CLOSE_PERIODS

    return {"nav": {
        "reads": trusts_where(user, READ).exists(),
        "records": trusts_where(user, RECORD).exists(),
        "closes": trusts_where(user, CLOSE_PERIODS).exists(),
        "admin": is_administrator(user),
    }}


def people(count: int) -> str:
    """Beneficiaries reached, as a page shows them to the public or a donor (``people_reached``, in the page's
    language)."""
    return people_reached(count, fewer=_("fewer than 5"))
