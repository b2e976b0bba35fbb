"""Aid inventory: items, what each fund holds of them, and every movement (the inventory ledger).

Quantities are whole units; values are integer fen like the ledger's. Stock belongs to the fund that paid for
it (or received it), so handing it out spends that fund. A balance row is locked (ledger.locking) before
a movement and the database refuses a negative quantity or value (CHECK constraints).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ledger.models import Account, Book, Fund, JournalEntry, from_minor


class StockItem(models.Model):
    book = models.ForeignKey(Book, on_delete=models.PROTECT, related_name="stock_items")
    code = models.CharField(_("code"), max_length=64)
    name = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    unit = models.CharField(_("unit"), max_length=16, blank=True, default="")
    inventory_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("stock item")
        verbose_name_plural = _("stock items")
        ordering = ["book", "code"]
        constraints = [models.UniqueConstraint(fields=["book", "code"], name="beneficiaries_stockitem_unique")]

    def __str__(self) -> str:
        return self.name or self.code


class StockBalance(models.Model):
    item = models.ForeignKey(StockItem, on_delete=models.PROTECT, related_name="balances")
    fund = models.ForeignKey(Fund, on_delete=models.PROTECT, related_name="+")
    quantity = models.BigIntegerField(default=0)
    value = models.BigIntegerField(default=0, help_text=_("fen"))

    class Meta:
        verbose_name = _("stock on hand")
        verbose_name_plural = _("stock on hand")
        constraints = [
            models.UniqueConstraint(fields=["item", "fund"], name="beneficiaries_stockbalance_unique"),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="beneficiaries_stock_quantity_never_negative"),
            models.CheckConstraint(condition=Q(value__gte=0), name="beneficiaries_stock_value_never_negative"),
            models.CheckConstraint(
                condition=Q(quantity__gt=0) | Q(value=0), name="beneficiaries_stock_no_value_without_quantity"
            ),
        ]

    @property
    def value_amount(self):
        return from_minor(self.value)


class StockMoveKind(models.TextChoices):
    RECEIVED = "received", _("received (donated)")
    BOUGHT = "bought", _("bought")
    ISSUED = "issued", _("handed out")
    REVERSED = "reversed", _("reversed")


class StockMove(models.Model):
    """One movement; append-only. ``quantity`` and ``value`` are signed (negative: out of stock)."""

    item = models.ForeignKey(StockItem, on_delete=models.PROTECT, related_name="moves")
    fund = models.ForeignKey(Fund, on_delete=models.PROTECT, related_name="+")
    date = models.DateField()
    kind = models.CharField(max_length=16, choices=StockMoveKind.choices)
    quantity = models.BigIntegerField()
    value = models.BigIntegerField(help_text=_("fen"))
    entry = models.OneToOneField(JournalEntry, on_delete=models.PROTECT, related_name="stock_move")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        ordering = ["item", "date", "pk"]
        indexes = [models.Index(fields=["item", "date"], name="beneficiaries_stockmove_date")]

    @property
    def value_amount(self):
        return from_minor(self.value)
