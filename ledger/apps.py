from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LedgerConfig(AppConfig):
    name = "ledger"
    verbose_name = _("Ledger")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import locking
        from .models import Account, Book, Fund

        locking.register(Book, locking.BOOK)
        locking.register(Account, locking.ACCOUNT)
        locking.register(Fund, locking.FUND)
