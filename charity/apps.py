from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class CharityConfig(AppConfig):
    name = "charity"
    verbose_name = _("Charity trust")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from ledger.signals import entries_posted

        from .metrics import on_entries_posted
        from .roles import ensure_roles

        post_migrate.connect(ensure_roles, sender=self, dispatch_uid="charity.ensure_roles")
        entries_posted.connect(on_entries_posted, dispatch_uid="charity.metrics")

        from ledger import locking

        from .models import ReceiptCounter

        locking.register(ReceiptCounter, locking.RECEIPT_COUNTER)

