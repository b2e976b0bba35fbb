from django.http import Http404

from charity.models import Trust


def current_trust(request) -> Trust:
    """The trust a page shows: ``?trust=CODE``, or the only one there is."""
    code = request.GET.get("trust")
    trusts = Trust.objects.select_related("book")
    if code:
        trust = trusts.filter(code=code).first()
    else:
        found = list(trusts.order_by("code")[:2])
        trust = found[0] if len(found) == 1 else None
        if len(found) > 1:
            trust = found[0]
    if trust is None:
        raise Http404("no trust")
    return trust
