"""``reconciliation/``: the trust's money accounts against their statements (issue 20), by account code.

Reading (everyone of the trust): the money accounts with what is unmatched (list), one account (detail), its
statement lines (``lines/``, ``?unmatched=true`` for those in no match) and its matches (``matches/``). Acting (the
finance officer): ``import/`` (multipart: ``file``, ``format``, ``dry_run``), ``match-auto/``, ``match/``,
``unmatch/``, ``book/`` (a line the books lack: a bank fee or interest) and ``reconcile/`` (a month). Each calls one
service of ``charity.services.reconciliation``, which checks the permission and the rules; amounts are decimal
strings in the account's currency, money into the account positive.
"""

from __future__ import annotations

from django.db.models import Max
from django.http import Http404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from charity import chart, services
from charity.models import ReconciledMonth, StatementLine, StatementMatch
from charity.pages.reconciliation import money_accounts
from charity.reconciliation import account_legs, leg_amount, match_days
from charity.roles import RECORD
from charity.models.reconciliation import MatchedLeg
from charity.services.reconciliation import BOOKING_KINDS, INCOME_ACCOUNTS
from charity.statement_formats import LAYOUTS
from ledger.models import Account, Leg, from_minor

from .base import BooksViewSet
from .fields import StrictInput
from .idempotency import IDEMPOTENCY_KEY


def _amount(minor: int | None) -> str | None:
    return None if minor is None else str(from_minor(minor))


class AccountSummarySerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    currency = serializers.CharField()
    last_statement_date = serializers.DateField(allow_null=True)
    unmatched_lines = serializers.IntegerField()
    unmatched_legs = serializers.IntegerField()
    last_reconciled_month = serializers.CharField(allow_null=True, help_text="YYYY-MM")
    match_days = serializers.IntegerField()


class StatementLineSerializer(serializers.ModelSerializer):
    amount = serializers.SerializerMethodField()
    balance = serializers.SerializerMethodField()

    class Meta:
        model = StatementLine
        fields = ["id", "date", "amount", "balance", "counterparty", "reference", "order_id", "memo", "format",
                  "line_number", "match"]

    def get_amount(self, line) -> str:
        return _amount(line.amount)

    def get_balance(self, line) -> str | None:
        return _amount(line.balance)


class MatchSerializer(serializers.ModelSerializer):
    lines = serializers.SerializerMethodField()
    legs = serializers.SerializerMethodField()
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = StatementMatch
        fields = ["id", "automatic", "lines", "legs", "created_by", "created_at"]

    def get_lines(self, match) -> list[int]:
        return sorted(line.pk for line in match.lines.all())

    def get_legs(self, match) -> list[dict]:
        return [{"id": ml.leg_id, "entry": ml.leg.entry.sequence, "date": ml.leg.date.isoformat(),
                 "amount": _amount(leg_amount(ml.leg))} for ml in match.legs.all()]


class ImportSerializer(StrictInput):
    file = serializers.FileField()
    format = serializers.ChoiceField(choices=list(LAYOUTS), default="generic")
    dry_run = serializers.BooleanField(default=False)


class HandMatchSerializer(StrictInput):
    lines = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1, max_length=1000)
    legs = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1, max_length=1000)


class UnmatchSerializer(StrictInput):
    match = serializers.IntegerField(min_value=1)


class BookSerializer(StrictInput):
    line = serializers.IntegerField(min_value=1)
    kind = serializers.ChoiceField(choices=list(BOOKING_KINDS))
    income_account = serializers.ChoiceField(choices=list(INCOME_ACCOUNTS), default=chart.OTHER_INCOME)
    fx_rate = serializers.DecimalField(max_digits=20, decimal_places=10, required=False, allow_null=True)
    date = serializers.DateField(required=False, allow_null=True,
                                 help_text="the entry's date (default: the line's; a later day when its period is closed)")


class MonthSerializer(StrictInput):
    month = serializers.RegexField(r"^\d{4}-\d{2}$", help_text="YYYY-MM")


class ReconciliationViewSet(BooksViewSet):
    """The money accounts (货币资金 明细) and their statements, by account code."""

    lookup_field = "code"
    lookup_value_regex = r"[0-9]+"
    write_perm = RECORD
    queryset = Account.objects.none()
    serializer_class = AccountSummarySerializer

    def _summary(self, account: Account) -> dict:
        lines = StatementLine.objects.filter(account=account)
        taken = MatchedLeg.objects.filter(match__account=account).values("leg_id")
        last = ReconciledMonth.objects.filter(account=account).aggregate(last=Max("month"))["last"]
        return {"code": account.code, "name": account.name, "currency": account.currency or "CNY",
                "last_statement_date": lines.aggregate(last=Max("date"))["last"],
                "unmatched_lines": lines.filter(match__isnull=True).count(),
                "unmatched_legs": account_legs(account).exclude(pk__in=taken).count(),
                "last_reconciled_month": f"{last:%Y-%m}" if last else None, "match_days": match_days(account)}

    def _account(self) -> Account:
        account = next((a for a in money_accounts(self.trust) if a.code == self.kwargs["code"]), None)
        if account is None:
            raise Http404("no such money account")
        return account

    @extend_schema(responses={200: AccountSummarySerializer(many=True)})
    def list(self, request, *args, **kwargs):
        return Response([self._summary(a) for a in money_accounts(self.trust)])

    def retrieve(self, request, *args, **kwargs):
        return Response(self._summary(self._account()))

    @extend_schema(responses={200: StatementLineSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def lines(self, request, *args, **kwargs):
        """The account's statement lines by date; ``?unmatched=true`` for those in no match."""
        lines = StatementLine.objects.filter(account=self._account()).order_by("date", "pk")
        if request.query_params.get("unmatched") in ("1", "true"):
            lines = lines.filter(match__isnull=True)
        page = self.paginate_queryset(lines)
        return self.get_paginated_response(StatementLineSerializer(page, many=True).data)

    @extend_schema(responses={200: MatchSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def matches(self, request, *args, **kwargs):
        matches = (StatementMatch.objects.filter(account=self._account()).select_related("created_by")
                   .prefetch_related("lines", "legs__leg__entry").order_by("pk"))
        page = self.paginate_queryset(matches)
        return self.get_paginated_response(MatchSerializer(page, many=True).data)

    @extend_schema(request={"multipart/form-data": ImportSerializer}, parameters=[IDEMPOTENCY_KEY],
                   responses={200: inline_serializer("StatementImportResult", {
                       "format": serializers.CharField(), "sha256": serializers.CharField(),
                       "rows": serializers.IntegerField(), "created": serializers.IntegerField(),
                       "skipped": serializers.IntegerField(), "dry_run": serializers.BooleanField()})})
    @action(detail=True, methods=["post"], url_path="import", url_name="import")
    def import_(self, request, *args, **kwargs):
        """Import a statement, all or nothing: any bad row is a 400 listing every row and column."""
        data = ImportSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        result = services.statement_import(trust=self.trust, account=self._account(), data=values["file"].read(),
                                           fmt=values["format"], user=request.user, dry_run=values["dry_run"])
        if result.errors:
            first = result.errors[0]
            return Response({"error": {
                "code": "reconciliation_error", "field": "file",
                "message": f"{len(result.errors)} problem(s) in {result.rows} line(s); nothing was imported",
                "rows": [{"row": e.row, "column": e.column, "message": e.message} for e in result.errors[:1000]],
                "first": str(first)}}, status=400)
        return Response({"format": result.format, "sha256": result.sha256, "rows": result.rows,
                         "created": result.created, "skipped": result.skipped, "dry_run": result.dry_run})

    @extend_schema(request=None, responses={200: inline_serializer("AutoMatched", {
        "matched": serializers.IntegerField()})})
    @action(detail=True, methods=["post"], url_path="match-auto")
    def match_auto(self, request, *args, **kwargs):
        return Response({"matched": services.statement_match_auto(account=self._account(), user=request.user)})

    @extend_schema(request=HandMatchSerializer, responses={201: MatchSerializer})
    @action(detail=True, methods=["post"])
    def match(self, request, *args, **kwargs):
        """Match by hand: lines and legs (ids) of this account whose totals are equal."""
        data = HandMatchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        account = self._account()
        lines = list(StatementLine.objects.filter(account=account, pk__in=data.validated_data["lines"]))
        legs = list(Leg.objects.filter(account=account, pk__in=data.validated_data["legs"]))
        if len(lines) != len(set(data.validated_data["lines"])) or len(legs) != len(set(data.validated_data["legs"])):
            return Response({"error": {"code": "reconciliation_error", "field": "lines",
                                       "message": "a line or leg is not of this account"}}, status=400)
        match = services.statement_match(lines=lines, legs=legs, user=request.user)
        return Response(MatchSerializer(match).data, status=201)

    @extend_schema(request=UnmatchSerializer, responses={204: None})
    @action(detail=True, methods=["post"])
    def unmatch(self, request, *args, **kwargs):
        data = UnmatchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        match = StatementMatch.objects.filter(account=self._account(), pk=data.validated_data["match"]).first()
        if match is None:
            return Response({"error": {"code": "reconciliation_error", "field": "match",
                                       "message": "no such match of this account"}}, status=400)
        services.statement_unmatch(match=match, user=request.user)
        return Response(status=204)

    @extend_schema(request=BookSerializer, parameters=[IDEMPOTENCY_KEY], responses={200: inline_serializer(
        "LineBooked", {"line": serializers.IntegerField(), "kind": serializers.CharField(),
                       "entry": serializers.IntegerField(allow_null=True),
                       "match": serializers.IntegerField(allow_null=True),
                       "expense_request": serializers.CharField(allow_null=True)})})
    @action(detail=True, methods=["post"])
    def book(self, request, *args, **kwargs):
        """Book a line the books lack (``bank_fee`` or ``interest``) and match it; a bank fee above the approval
        threshold comes back with its ``expense_request`` and no entry (matched once approved)."""
        data = BookSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        line = StatementLine.objects.filter(account=self._account(), pk=values["line"]).first()
        if line is None:
            return Response({"error": {"code": "reconciliation_error", "field": "line",
                                       "message": "no such statement line of this account"}}, status=400)
        booking = services.statement_line_book(line=line, kind=values["kind"], user=request.user,
                                               income_account=values["income_account"], fx_rate=values.get("fx_rate"),
                                               date=values.get("date"))
        return Response({"line": line.pk, "kind": booking.kind,
                         "entry": booking.entry.sequence if booking.entry else None,
                         "match": booking.match.pk if booking.match else None,
                         "expense_request": booking.request.external_id if booking.request else None})

    @extend_schema(request=MonthSerializer, responses={200: inline_serializer("MonthReconciled", {
        "month": serializers.CharField(), "book_balance": serializers.CharField(),
        "statement_balance": serializers.CharField()})})
    @action(detail=True, methods=["post"])
    def reconcile(self, request, *args, **kwargs):
        """Mark a month reconciled: refused unless the adjusted balances agree at its last day."""
        data = MonthSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        done = services.month_reconcile(account=self._account(), month=data.validated_data["month"],
                                        user=request.user)
        return Response({"month": f"{done.month:%Y-%m}", "book_balance": _amount(done.book_balance),
                         "statement_balance": _amount(done.statement_balance)})
