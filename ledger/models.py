"""The double-entry engine's tables.

Design overview
---------------
* A ``Book`` is one set of books. Everything else hangs off a book and nothing crosses books.
* ``JournalEntry`` + ``Leg``: legs carry a debit or a credit (exactly one above zero), in the leg's currency and
  in CNY at the entry's rate. Amounts are stored as **integer minor units** (fen for CNY): sums are exact on
  every engine (SQLite has no decimal type and would sum ``REAL`` values), and the database triggers compare
  integers. The Python side only ever sees ``Decimal`` (see ``Leg.debit_amount`` and friends).
* An entry is inserted as ``draft``, its legs are inserted under it, and the change ``draft -> posted`` is what
  the database checks (balance per currency, per fund and in CNY; purpose rules). Posted entries and their legs
  can no longer be inserted into, updated or deleted; ``migrations/sql/`` holds the triggers, one file per
  engine and guard migration (see ``ledger.dbguards``).
* Running totals: ``DailyBalance`` holds, per account, fund and day, the CNY debits and credits posted; a
  balance at any date is a sum over days, not over legs. ``BalanceCheckpoint`` snapshots cumulative totals at
  each period close, so the sum over days starts at the last closed month. ``Fund.net_assets`` is the fund's
  running net assets, checked (>= 0 for restricted funds and endowments) by the service and by a CHECK.
* ``FundSource`` and ``Allocation`` trace which income paid for which spending inside a fund (FIFO).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

CENT = Decimal("0.01")


def to_minor(amount: Decimal) -> int:
    """Decimal with at most two places -> integer minor units (the caller has validated the places)."""
    return int((amount * 100).to_integral_value())


def from_minor(value: int) -> Decimal:
    return (Decimal(value) / 100).quantize(CENT)


class Book(models.Model):
    """One set of books. ``last_sequence`` and ``head_hash`` are the chain's tip, updated under a row lock."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)
    last_sequence = models.BigIntegerField(default=0)
    head_hash = models.CharField(max_length=64, blank=True, default="")
    closed_through = models.DateField(null=True, blank=True, help_text=_("no entry may be dated on or before this"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("book")
        verbose_name_plural = _("books")
        # Asked with the book as the object: ``user.has_perm("ledger.post_entries", book)`` (ledger.authority).
        permissions = [
            ("post_entries", _("Can post entries to the book")),
            ("close_periods", _("Can close periods of the book")),
            ("manage_funds", _("Can open funds in the book")),
        ]

    def __str__(self) -> str:
        return self.code


class AccountType(models.TextChoices):
    ASSET = "asset", _("asset")
    LIABILITY = "liability", _("liability")
    NET_ASSETS = "net_assets", _("net assets")
    INCOME = "income", _("income")
    EXPENSE = "expense", _("expense")


DEBIT_NORMAL = frozenset({AccountType.ASSET, AccountType.EXPENSE})
# The accounts whose movements change a fund's net assets.
NET_ASSET_TYPES = frozenset({AccountType.INCOME, AccountType.EXPENSE, AccountType.NET_ASSETS})


class Account(models.Model):
    book = models.ForeignKey(Book, on_delete=models.PROTECT, related_name="accounts")
    code = models.CharField(_("code"), max_length=32)
    name = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    type = models.CharField(_("type"), max_length=16, choices=AccountType.choices)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    # For expense accounts: the purpose they serve. A restricted fund may only be debited on expense accounts
    # whose purpose equals its own; an expense account without a purpose serves only unrestricted money.
    purpose = models.CharField(_("purpose"), max_length=32, blank=True, default="")
    # For income accounts: the restriction of the money it receives, used by reports (free text to the engine).
    restriction = models.CharField(_("restriction"), max_length=16, blank=True, default="")
    # For a foreign-currency account (a bank account in USD): the currency it holds; blank for the base currency
    # or any. Informative: the services route foreign-currency money to it; the legs carry their own currency.
    currency = models.CharField(_("currency"), max_length=3, blank=True, default="")

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        ordering = ["book", "code"]
        constraints = [
            models.UniqueConstraint(fields=["book", "code"], name="ledger_account_code_unique_per_book"),
            models.CheckConstraint(
                condition=Q(type__in=[c.value for c in AccountType]), name="ledger_account_type_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def debit_normal(self) -> bool:
        return self.type in DEBIT_NORMAL


class Restriction(models.TextChoices):
    UNRESTRICTED = "unrestricted", _("unrestricted")
    RESTRICTED = "restricted", _("restricted")
    ENDOWMENT = "endowment", _("endowment")


class Fund(models.Model):
    book = models.ForeignKey(Book, on_delete=models.PROTECT, related_name="funds")
    code = models.CharField(_("code"), max_length=32)
    name = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    restriction = models.CharField(_("restriction"), max_length=16, choices=Restriction.choices)
    purpose = models.CharField(_("purpose"), max_length=32, blank=True, default="")
    description = models.TextField(_("description"), blank=True)
    # Running net assets of the fund in fen (credit-normal: income - expense + net asset movements).
    net_assets = models.BigIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("fund")
        verbose_name_plural = _("funds")
        ordering = ["book", "code"]
        constraints = [
            models.UniqueConstraint(fields=["book", "code"], name="ledger_fund_code_unique_per_book"),
            models.CheckConstraint(
                condition=Q(restriction="unrestricted") | Q(net_assets__gte=0),
                name="ledger_fund_restricted_never_below_zero",
            ),
            models.CheckConstraint(
                condition=Q(restriction__in=[c.value for c in Restriction]), name="ledger_fund_restriction_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def net_assets_amount(self) -> Decimal:
        return from_minor(self.net_assets)


class EntryStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    POSTED = "posted", _("posted")


class JournalEntry(models.Model):
    # No index of its own: (book, sequence) and (book, date) lead with it. Every index is written on every post.
    book = models.ForeignKey(Book, on_delete=models.PROTECT, related_name="entries", db_index=False)
    sequence = models.BigIntegerField(_("sequence number"))
    date = models.DateField(_("date"))
    memo = models.TextField(_("memo"), blank=True)
    status = models.CharField(max_length=8, choices=EntryStatus.choices, default=EntryStatus.DRAFT)
    source_type = models.CharField(_("source type"), max_length=32, blank=True, default="")
    source_id = models.CharField(_("source id"), max_length=64, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by")
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("approved by"),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)
    payload_hash = models.CharField(max_length=64, blank=True, default="")
    fx_rate = models.DecimalField(max_digits=18, decimal_places=8, null=True, blank=True)
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )
    previous_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    # A closing entry (结转) moves a year's income and expense balances, and restricted net assets released, to
    # net assets: it changes no fund's net assets, opens no fund source and spends none, and reports of income
    # and expenses leave it out (``selectors.movements(closing=False)``). Hashed only when true (ledger.hashing).
    # Last, as in ``services.rows.ENTRY_COLUMNS``: instances are made from rows in field order.
    closing = models.BooleanField(_("closing entry"), default=False, db_default=False)

    #: Not a column: ``entry_post`` sets it on the entry it returns for an idempotency key already used (a retry),
    #: so a caller knows it wrote nothing and may look for what the first request made.
    replayed = False
    #: Not a column: the legs ``entry_post`` wrote with the entry it returns (a sequence of ``Leg``, in position
    #: order). Inside a posting batch they reach the database when the batch is flushed, so a caller reads these
    #: rather than querying.
    posted_legs = None

    class Meta:
        verbose_name = _("journal entry")
        verbose_name_plural = _("journal entries")
        ordering = ["book", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["book", "sequence"], name="ledger_entry_sequence_unique_per_book"),
            models.UniqueConstraint(
                fields=["book", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="ledger_entry_idempotency_key_unique_per_book",
            ),
            models.CheckConstraint(condition=Q(sequence__gt=0), name="ledger_entry_sequence_positive"),
            models.CheckConstraint(condition=Q(status__in=["draft", "posted"]), name="ledger_entry_status_valid"),
        ]
        indexes = [
            models.Index(fields=["book", "date"], name="ledger_entry_book_date"),
            models.Index(fields=["source_type", "source_id"], name="ledger_entry_source"),
            # The few closing entries, found without reading the others (reports that leave them out).
            models.Index(fields=["book", "date"], name="ledger_entry_closing", condition=Q(closing=True)),
        ]

    def __str__(self) -> str:
        return f"{self.book.code}#{self.sequence}"


class Leg(models.Model):
    """One line of an entry. Amounts in integer minor units; see the module docstring."""

    # No indexes of their own: (entry, position), (account, date) and (fund, date) lead with them.
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="legs", db_index=False)
    position = models.PositiveSmallIntegerField()
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="legs", db_index=False)
    fund = models.ForeignKey(Fund, on_delete=models.PROTECT, related_name="legs", db_index=False)
    currency = models.CharField(max_length=3)
    debit = models.BigIntegerField(default=0)
    credit = models.BigIntegerField(default=0)
    debit_cny = models.BigIntegerField(default=0)
    credit_cny = models.BigIntegerField(default=0)
    # Denormalised from the entry so that (account, date) range scans need no join.
    date = models.DateField()

    class Meta:
        verbose_name = _("leg")
        verbose_name_plural = _("legs")
        ordering = ["entry", "position"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(debit__gt=0, credit=0) | Q(debit=0, credit__gt=0)),
                name="ledger_leg_exactly_one_side",
            ),
            models.CheckConstraint(
                condition=(
                    Q(debit__gt=0, debit_cny__gte=0, credit_cny=0) | Q(credit__gt=0, credit_cny__gte=0, debit_cny=0)
                ),
                name="ledger_leg_cny_same_side",
            ),
            models.CheckConstraint(
                condition=~Q(currency="CNY") | (Q(debit_cny=F("debit")) & Q(credit_cny=F("credit"))),
                name="ledger_leg_cny_equals_amount_in_cny",
            ),
            models.UniqueConstraint(fields=["entry", "position"], name="ledger_leg_position_unique"),
        ]
        indexes = [
            models.Index(fields=["account", "date"], name="ledger_leg_account_date"),
            models.Index(fields=["fund", "date"], name="ledger_leg_fund_date"),
        ]

    @property
    def debit_amount(self) -> Decimal:
        return from_minor(self.debit)

    @property
    def credit_amount(self) -> Decimal:
        return from_minor(self.credit)

    @property
    def debit_cny_amount(self) -> Decimal:
        return from_minor(self.debit_cny)

    @property
    def credit_cny_amount(self) -> Decimal:
        return from_minor(self.credit_cny)


class DailyBalance(models.Model):
    """CNY debits and credits posted per account, fund and day (a running aggregate of ``Leg``)."""

    # book and account: (book, date) and (account, fund, date) lead with them.
    book = models.ForeignKey(Book, on_delete=models.PROTECT, related_name="+", db_index=False)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+", db_index=False)
    fund = models.ForeignKey(Fund, on_delete=models.PROTECT, related_name="+")
    date = models.DateField()
    debit = models.BigIntegerField(default=0)
    credit = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "fund", "date"], name="ledger_daily_balance_unique"),
        ]
        indexes = [
            models.Index(fields=["book", "date"], name="ledger_daily_book_date"),
            # One account's days since a checkpoint, across all its funds (account_balance without a fund): the
            # unique (account, fund, date) index cannot range over the date without a fund.
            models.Index(fields=["account", "date"], name="ledger_daily_account_date"),
        ]


class Period(models.Model):
    """A closed month. Closing is monotonic: the book's ``closed_through`` only moves forward."""

    book = models.ForeignKey(Book, on_delete=models.PROTECT, related_name="periods")
    month = models.DateField(_("month"), help_text=_("first day of the month"))
    closed_at = models.DateTimeField(_("closed at"))
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("period")
        verbose_name_plural = _("periods")
        ordering = ["book", "month"]
        constraints = [models.UniqueConstraint(fields=["book", "month"], name="ledger_period_unique")]


class YearClose(models.Model):
    """A closed year (年度结转): its closing entries are posted and it takes no more entries, ever."""

    book = models.ForeignKey(Book, on_delete=models.PROTECT, related_name="year_closes")
    year = models.PositiveSmallIntegerField(_("year"))
    closed_at = models.DateTimeField(_("closed at"))
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("closed year")
        verbose_name_plural = _("closed years")
        ordering = ["book", "year"]
        constraints = [models.UniqueConstraint(fields=["book", "year"], name="ledger_year_close_unique")]

    def __str__(self) -> str:
        return f"{self.book.code} {self.year}"


class BalanceCheckpoint(models.Model):
    """Cumulative CNY debits and credits per account and fund through the last day of a closed period."""

    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="checkpoints")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    fund = models.ForeignKey(Fund, on_delete=models.PROTECT, related_name="+")
    through = models.DateField()
    debit = models.BigIntegerField()
    credit = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["period", "account", "fund"], name="ledger_checkpoint_unique"),
        ]
        indexes = [models.Index(fields=["account", "through"], name="ledger_checkpoint_acct_through")]


class FundSource(models.Model):
    """A leg that brought money into a fund (a credit to an income account), with what is left of it."""

    leg = models.OneToOneField(Leg, on_delete=models.PROTECT, related_name="as_source", primary_key=True)
    fund = models.ForeignKey(Fund, on_delete=models.PROTECT, related_name="sources")
    date = models.DateField()
    sequence = models.BigIntegerField()
    amount = models.BigIntegerField()
    remaining = models.BigIntegerField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(remaining__gte=0) & Q(remaining__lte=F("amount")), name="ledger_source_remaining_bounds"
            ),
        ]
        indexes = [
            models.Index(
                fields=["fund", "date", "sequence"], name="ledger_source_fifo", condition=Q(remaining__gt=0)
            )
        ]

    @property
    def remaining_amount(self) -> Decimal:
        return from_minor(self.remaining)


class AllocationKind(models.TextChoices):
    USE = "use", _("spent")
    REFUND = "refund", _("given back")


class Allocation(models.Model):
    """``amount`` fen of ``source`` consumed by ``leg`` (negative: released again by a reversal)."""

    source = models.ForeignKey(FundSource, on_delete=models.PROTECT, related_name="allocations")
    leg = models.ForeignKey(Leg, on_delete=models.PROTECT, related_name="allocations", db_index=False)  # Meta's index
    kind = models.CharField(max_length=8, choices=AllocationKind.choices)
    amount = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["leg"], name="ledger_allocation_leg")]
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="ledger_allocation_nonzero")]

    @property
    def amount_value(self) -> Decimal:
        return from_minor(self.amount)
