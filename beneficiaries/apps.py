from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BeneficiariesConfig(AppConfig):
    name = "beneficiaries"
    verbose_name = _("Beneficiaries and aid")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from ledger import locking

        from .models import StockBalance

        locking.register(StockBalance, locking.STOCK_BALANCE)
