"""A child process of the concurrency test: it sets Django up against the test database and pays grants.

Kept free of Django imports at module level: a 'spawn' child imports this module before Django is set up.
"""


def pay_all(db_name: str, pks: list[int], user_pk: int, barrier, results) -> None:
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "charity.settings")
    from django.conf import settings

    settings.DATABASES["default"]["NAME"] = db_name
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection

    from beneficiaries.errors import AidError
    from beneficiaries.models import Disbursement
    from beneficiaries.services import disbursement_pay

    user = get_user_model().objects.get(pk=user_pk)
    paid, refused = [], []
    barrier.wait()
    for pk in pks:
        try:
            disbursement_pay(disbursement=Disbursement.objects.get(pk=pk), user=user)
            paid.append(pk)
        except AidError as exc:
            refused.append(exc.code)
    connection.close()
    results.put((os.getpid(), paid, refused))
