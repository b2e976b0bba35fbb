"""``expenses/`` (money paid out by a fund, recorded and posted at once) and ``expense-requests/`` (expenses
drafted for a second person's approval; those above the trust's threshold must be)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from beneficiaries.models import Program, StockItem
from charity import services
from charity.models import Expense, ExpenseKind, ExpensePayment, ExpenseRequest, PayableAccount, PaymentAccount
from charity.roles import APPROVE_EXPENSES, RECORD
from ledger.models import Fund

from .base import BooksViewSet
from .fields import DecimalAmount, ReasonSerializer, StrictInput, key_field, resolve, resolve_optional
from .filters import ExpenseFilter, ExpenseRequestFilter
from .idempotency import IDEMPOTENCY_KEY


class ExpenseSerializer(serializers.ModelSerializer):
    fund = serializers.SlugRelatedField(slug_field="code", read_only=True)
    item = serializers.SlugRelatedField(slug_field="code", read_only=True)
    program = serializers.SlugRelatedField(slug_field="code", read_only=True)
    amount = serializers.SerializerMethodField(help_text="CNY")
    entry = serializers.SlugRelatedField(slug_field="sequence", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Expense
        fields = ["external_id", "date", "kind", "fund", "amount", "item", "quantity", "unit_cost", "payee",
                  "invoice_number", "description", "program", "entry", "created_by", "created_at", "payable",
                  "due_date"]

    def get_amount(self, e) -> str:
        return str(e.amount.amount)


class ExpenseRecordSerializer(StrictInput):
    external_id = key_field()
    date = serializers.DateField()
    kind = serializers.ChoiceField(choices=ExpenseKind.choices)
    fund = serializers.CharField(max_length=32, help_text="fund code")
    amount = DecimalAmount(max_digits=14, help_text="CNY")
    item = serializers.CharField(max_length=64, required=False, allow_null=True, allow_blank=True,
                                 help_text="stock item code (inventory purchases only)")
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000, required=False, allow_null=True)
    unit_cost = DecimalAmount(max_digits=14, required=False, allow_null=True)
    payee = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    invoice_number = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    program = serializers.CharField(max_length=32, required=False, allow_null=True, allow_blank=True,
                                    help_text="program code (program_cost only, and required for it)")
    payable = serializers.ChoiceField(choices=PayableAccount.values, required=False, allow_blank=True, default="",
                                      help_text="2202 or 2209: recorded when invoiced and paid later "
                                                "(expense-payments/); blank: paid at once from the bank")
    due_date = serializers.DateField(required=False, allow_null=True, default=None,
                                     help_text="when a payable falls due (blank: at once)")


class ExpenseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BooksViewSet):
    """Money paid out by a fund: management, the trustee's, custodian's and supervisor's fees, fundraising, bank fees,
    a program's delivery costs (``program_cost``, naming the ``program``), stock bought for the aid inventory."""

    serializer_class = ExpenseSerializer
    filterset_class = ExpenseFilter
    lookup_field = "external_id"
    lookup_value_regex = r"[^/]+"
    write_perm = RECORD
    queryset = Expense.objects.none()

    def scoped_queryset(self):
        return (Expense.objects.filter(trust=self.trust).select_related("fund", "item", "program", "entry", "created_by")
                .order_by("-date", "-pk"))

    @extend_schema(request=ExpenseRecordSerializer, responses={201: ExpenseSerializer, 200: ExpenseSerializer},
                   parameters=[IDEMPOTENCY_KEY])
    def create(self, request, *args, **kwargs):
        """Record and post an expense paid from the bank (201); the same expense again is answered 200."""
        data = ExpenseRecordSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        trust = self.trust
        values["fund"] = resolve(Fund.objects.filter(book_id=trust.book_id), "code", values["fund"], field="fund",
                                 what="fund")
        values["item"] = resolve_optional(StockItem.objects.filter(book_id=trust.book_id), "code", values.get("item"),
                                          field="item", what="stock item")
        values["program"] = resolve_optional(Program.objects.filter(book_id=trust.book_id), "code",
                                             values.get("program"), field="program", what="program")
        expense, created = services.expense_record(trust=trust, user=request.user, **values)
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(ExpenseSerializer(self.scoped_queryset().get(pk=expense.pk)).data, status=code)


class ExpenseRequestSerializer(serializers.ModelSerializer):
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    expense = serializers.SlugRelatedField(slug_field="external_id", read_only=True)

    class Meta:
        model = ExpenseRequest
        fields = ["id", "external_id", "data", "status", "requested_by", "requested_at", "decided_by", "decided_at",
                  "reason", "expense"]


class ExpenseRequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BooksViewSet):
    """Expenses drafted for a second person's approval (those above the trust's threshold must be)."""

    serializer_class = ExpenseRequestSerializer
    filterset_class = ExpenseRequestFilter
    write_perm = RECORD
    write_perms = {"create": RECORD, "approve": APPROVE_EXPENSES, "reject": APPROVE_EXPENSES}
    queryset = ExpenseRequest.objects.none()

    def scoped_queryset(self):
        return ExpenseRequest.objects.filter(trust=self.trust).select_related(
            "requested_by", "decided_by", "expense").order_by("-pk")

    @extend_schema(request=ExpenseRecordSerializer, responses={202: ExpenseRequestSerializer})
    def create(self, request, *args, **kwargs):
        """Draft an expense; nothing is recorded until another user approves it."""
        data = ExpenseRecordSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        trust = self.trust
        values["fund"] = resolve(Fund.objects.filter(book_id=trust.book_id), "code", values["fund"], field="fund",
                                 what="fund")
        draft = services.expense_request_draft(trust=trust, user=request.user, **values)
        return Response(ExpenseRequestSerializer(draft).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={200: ExpenseRequestSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, *args, **kwargs):
        done = services.expense_request_approve(request=self.get_object(), user=request.user)
        return Response(ExpenseRequestSerializer(self.scoped_queryset().get(pk=done.pk)).data)

    @extend_schema(request=ReasonSerializer, responses={200: ExpenseRequestSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request, *args, **kwargs):
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        done = services.expense_request_reject(request=self.get_object(), user=request.user,
                                               reason=data.validated_data["reason"])
        return Response(ExpenseRequestSerializer(self.scoped_queryset().get(pk=done.pk)).data)


class ExpensePaymentSerializer(serializers.ModelSerializer):
    expense = serializers.SlugRelatedField(slug_field="external_id", read_only=True)
    entry = serializers.SlugRelatedField(slug_field="sequence", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    amount = serializers.SerializerMethodField(help_text="CNY")

    class Meta:
        model = ExpensePayment
        fields = ["external_id", "expense", "date", "amount", "account", "description", "entry", "created_by",
                  "created_at"]

    def get_amount(self, p) -> str:
        return str(p.amount)


class ExpensePaymentRecordSerializer(StrictInput):
    external_id = key_field()
    expense = serializers.CharField(max_length=64, help_text="the external id of an expense recorded as payable")
    date = serializers.DateField()
    amount = DecimalAmount(max_digits=14, help_text="CNY; never more than what is still owed")
    account = serializers.ChoiceField(choices=PaymentAccount.values, required=False, default=PaymentAccount.BANK,
                                      help_text="paid from: 100201 the bank (default) or 1001 cash")
    description = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ExpensePaymentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BooksViewSet):
    """Payments of expenses recorded as payable (2202/2209), in one or several parts, from the fund charged."""

    serializer_class = ExpensePaymentSerializer
    lookup_field = "external_id"
    lookup_value_regex = r"[^/]+"
    write_perm = RECORD
    queryset = ExpensePayment.objects.none()

    def scoped_queryset(self):
        return (ExpensePayment.objects.filter(trust=self.trust).select_related("expense", "entry", "created_by")
                .order_by("-date", "-pk"))

    @extend_schema(request=ExpensePaymentRecordSerializer, responses={201: ExpensePaymentSerializer,
                                                                       200: ExpensePaymentSerializer},
                   parameters=[IDEMPOTENCY_KEY])
    def create(self, request, *args, **kwargs):
        """Pay (part of) a payable (201); the same payment again is answered 200."""
        data = ExpensePaymentRecordSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        payment, created = services.expense_payment_record(
            trust=self.trust, user=request.user, external_id=values["external_id"], expense=values["expense"],
            date=values["date"], amount=values["amount"], account_code=values["account"],
            description=values["description"])
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(ExpensePaymentSerializer(self.scoped_queryset().get(pk=payment.pk)).data, status=code)
