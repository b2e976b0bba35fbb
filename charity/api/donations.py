"""``donations/``: gifts. Recording one posts it to the ledger and issues its receipt; a correction is a
refund. Where a gift went (``trace``) is told per program, with beneficiaries counted, never named, and a count
below five shown as "fewer than 5" (``beneficiaries.privacy.people_reached``, as on the donor portal)."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import DecimalField, Prefetch, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from beneficiaries.privacy import people_reached
from charity import services
from charity.idcodes import may_see
from charity.models import ANONYMOUS_NAME, Channel, Donation, Donor, OfficialReceipt, Receipt, Refund
from charity.roles import RECORD
from charity.selectors import donation_trace, gift_uses
from ledger.models import Fund

from .base import BooksViewSet
from .fields import DecimalAmount, DecimalRate, StrictInput, key_field, money, resolve, resolve_optional
from .filters import DonationFilter
from .idempotency import IDEMPOTENCY_KEY
from .receipts import PDF, pdf_response, valid_receipt


def valid_receipts():
    return Prefetch("receipts", queryset=Receipt.objects.filter(voided_at__isnull=True).order_by("-pk"),
                    to_attr="valid_receipts")


def refunded_sum():
    return Coalesce(Sum("refunds__amount_cny"), Value(Decimal(0)), output_field=DecimalField(max_digits=14,
                                                                                             decimal_places=2))


class GiftFieldsMixin(serializers.Serializer):
    amount = serializers.SerializerMethodField(help_text="in the gift's currency")
    currency = serializers.SerializerMethodField()
    fund = serializers.SlugRelatedField(slug_field="code", read_only=True)
    receipt = serializers.SerializerMethodField(help_text="label of the valid receipt (null when none)")
    refunded_cny = serializers.SerializerMethodField()
    official_receipt = serializers.SerializerMethodField(
        help_text="the official donation receipt (公益事业捐赠票据) issued by the co-trustee (null when none yet)")

    def get_official_receipt(self, d) -> dict | None:
        try:
            o = d.official_receipt
        except OfficialReceipt.DoesNotExist:
            return None
        return OfficialReceiptSerializer(o).data

    def get_amount(self, d) -> str:
        return str(d.amount.amount)

    def get_currency(self, d) -> str:
        return d.amount.currency.code

    def get_receipt(self, d) -> str | None:
        valid = getattr(d, "valid_receipts", None)
        if valid is None:
            valid = list(d.receipts.filter(voided_at__isnull=True).order_by("-pk"))
        return valid[0].label if valid else None

    def get_refunded_cny(self, d) -> str:
        refunded = getattr(d, "refunded", None)
        if refunded is None:
            refunded = d.refunds.aggregate(s=Sum("amount_cny"))["s"]
        return money(refunded)


class OfficialReceiptSerializer(serializers.ModelSerializer):
    donation = serializers.SlugRelatedField(slug_field="external_id", read_only=True)

    class Meta:
        model = OfficialReceipt
        fields = ["donation", "receipt_code", "receipt_number", "check_code", "issued_on", "issuer"]


class OfficialReceiptInputSerializer(StrictInput):
    receipt_code = serializers.CharField(max_length=8, help_text="票据代码, 8 digits")
    receipt_number = serializers.CharField(max_length=10, help_text="票据号码, 10 digits")
    check_code = serializers.CharField(max_length=6, help_text="校验码, 6 letters or digits")
    issued_on = serializers.DateField(help_text="开票日期")
    issuer = serializers.CharField(max_length=200, required=False, allow_blank=True, default="",
                                   help_text="blank: the trust's co-trustee")


class DonationSerializer(GiftFieldsMixin, serializers.ModelSerializer):
    donor = serializers.SlugRelatedField(slug_field="external_id", read_only=True)
    donor_name = serializers.SerializerMethodField()
    entry = serializers.SlugRelatedField(slug_field="sequence", read_only=True, help_text="ledger entry posted")
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Donation
        fields = ["external_id", "date", "donor", "donor_name", "amount", "currency", "fx_rate", "amount_cny",
                  "channel", "fund", "item", "quantity", "description", "order_id", "receipt", "refunded_cny", "entry",
                  "created_by", "created_at", "official_receipt"]

    def get_donor_name(self, d) -> str:
        return d.donor.name if d.donor else ANONYMOUS_NAME


class DonationRecordSerializer(StrictInput):
    external_id = key_field()
    date = serializers.DateField()
    amount = DecimalAmount(max_digits=14, help_text="in ``currency``, a decimal string with at most two places")
    currency = serializers.CharField(max_length=3, required=False, default="CNY")
    fx_rate = DecimalRate(required=False, allow_null=True, help_text="CNY per unit; required unless CNY")
    fund = serializers.CharField(max_length=32, help_text="fund code")
    channel = serializers.ChoiceField(choices=Channel.choices)
    donor = key_field(required=False, allow_null=True, allow_blank=True,
                 help_text="the donor's external id (blank: an anonymous walk-in gift)")
    item = serializers.CharField(max_length=64, required=False, allow_blank=True, default="",
                                 help_text="goods given in kind")
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000, required=False, allow_null=True)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    order_id = serializers.CharField(max_length=100, required=False, allow_blank=True, default="",
                                     help_text="the payment platform's order id (商户订单号), unique per channel")


class RefundSerializer(serializers.ModelSerializer):
    donation = serializers.SlugRelatedField(slug_field="external_id", read_only=True)
    amount = serializers.SerializerMethodField()
    currency = serializers.SerializerMethodField()
    entry = serializers.SlugRelatedField(slug_field="sequence", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Refund
        fields = ["external_id", "donation", "date", "amount", "currency", "amount_cny", "reason", "entry",
                  "created_by", "created_at"]

    def get_amount(self, r) -> str:
        return str(r.amount.amount)

    def get_currency(self, r) -> str:
        return r.amount.currency.code


class RefundInputSerializer(StrictInput):
    external_id = key_field(help_text="the refund's own id")
    date = serializers.DateField(required=False, help_text="default: today")
    reason = serializers.CharField(max_length=2000)
    amount = DecimalAmount(max_digits=14, required=False, allow_null=True,
                           help_text="in the gift's currency (default: all that is left of it)")


class TraceUseSerializer(serializers.Serializer):
    use = serializers.CharField(help_text="program code, or 'administration'")
    name = serializers.CharField()
    name_en = serializers.CharField()
    amount = serializers.CharField(help_text="CNY of the gift spent on it")
    percent = serializers.IntegerField(help_text="of the gift, rounded")
    first_date = serializers.DateField()
    last_date = serializers.DateField()
    beneficiaries_reached = serializers.CharField(
        allow_null=True, help_text="distinct beneficiaries (a count below 5 is 'fewer than 5'); null for "
        "spending that is not a program's")


class TraceSerializer(serializers.Serializer):
    donation = serializers.CharField()
    date = serializers.DateField()
    amount_cny = serializers.CharField()
    refunded = serializers.CharField()
    spent = serializers.CharField()
    unspent = serializers.CharField()
    uses = TraceUseSerializer(many=True)


def trace_data(donation: Donation) -> dict:
    """Where a gift went: per program, how much, when and how many beneficiaries; never who."""
    trace = donation_trace(donation)
    uses = [{
        "use": use.key,
        "name": use.program.name if use.program else "管理费用",
        "name_en": use.program.name_en if use.program else "Management and administration",
        "amount": money(use.amount),
        "percent": use.percent,
        "first_date": use.first, "last_date": use.last,
        "beneficiaries_reached": people_reached(use.beneficiaries) if use.program else None,
    } for use in gift_uses(trace)]
    return TraceSerializer({
        "donation": donation.external_id, "date": donation.date, "amount_cny": money(trace.amount_cny),
        "refunded": money(trace.refunded), "spent": money(trace.spent), "unspent": money(trace.unspent),
        "uses": uses,
    }).data


class DonationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BooksViewSet):
    """Gifts. Recording one posts it to the ledger and issues its receipt; a correction is a refund."""

    serializer_class = DonationSerializer
    filterset_class = DonationFilter
    lookup_field = "external_id"
    lookup_value_regex = r"[^/]+"
    write_perm = RECORD
    queryset = Donation.objects.none()

    def scoped_queryset(self):
        return (
            Donation.objects.filter(trust=self.trust)
            .select_related("donor", "fund", "entry", "created_by", "trust", "official_receipt")
            .prefetch_related(valid_receipts())
            .annotate(refunded=refunded_sum())
            .order_by("-date", "-pk")
        )

    def _shown(self, donation, code=status.HTTP_200_OK):
        return Response(DonationSerializer(self.scoped_queryset().get(pk=donation.pk)).data, status=code)

    @extend_schema(request=DonationRecordSerializer, responses={201: DonationSerializer, 200: DonationSerializer},
                   parameters=[IDEMPOTENCY_KEY])
    def create(self, request, *args, **kwargs):
        """Record a gift (201); the same gift under the same external id again is answered 200, writing nothing."""
        data = DonationRecordSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        trust = self.trust
        values["fund"] = resolve(Fund.objects.filter(book_id=trust.book_id), "code", values["fund"], field="fund",
                                 what="fund")
        values["donor"] = resolve_optional(Donor.objects.filter(trust=trust), "external_id", values.get("donor"),
                                           field="donor", what="donor")
        # A giving day's gifts arrive here by the thousand: their receipt e-mails wait for the mail worker
        # (send_mail_queue, at its bounded rate) instead of holding each request open on the mail server.
        donation, created = services.donation_record(trust=trust, user=request.user, notify="queue", **values)
        return self._shown(donation, status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(request=RefundInputSerializer, responses={201: RefundSerializer}, parameters=[IDEMPOTENCY_KEY])
    @action(detail=True, methods=["post"])
    def refund(self, request, *args, **kwargs):
        """Give back the unspent part of a gift (or all of it); its receipt is voided, and reissued for what the
        trust keeps after a partial refund."""
        donation = self.get_object()
        data = RefundInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values.setdefault("date", timezone.localdate())
        refund = services.donation_refund(donation=donation, user=request.user, **values)
        refund = Refund.objects.select_related("donation", "entry", "created_by").get(pk=refund.pk)
        return Response(RefundSerializer(refund).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=OfficialReceiptInputSerializer, responses={201: OfficialReceiptSerializer},
                   parameters=[IDEMPOTENCY_KEY])
    @action(detail=True, methods=["post"], url_path="official-receipt")
    def official_receipt(self, request, *args, **kwargs):
        """Record the official donation receipt (公益事业捐赠票据) the co-trustee issued for the gift: 票据代码,
        票据号码, 校验码, 开票日期 and the issuer. One per gift; refused for a gift refunded in full."""
        donation = self.get_object()
        data = OfficialReceiptInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        official = services.official_receipt_record(donation=donation, user=request.user, channel="api",
                                                    **data.validated_data)
        return Response(OfficialReceiptSerializer(official).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=PDF)
    @action(detail=True, methods=["get"])
    def receipt(self, request, *args, **kwargs):
        """The PDF of the gift's valid receipt (404 when every receipt of it was voided)."""
        return pdf_response(valid_receipt(self.get_object()), reveal_id_code=may_see(request.user, self.trust))

    @extend_schema(responses=TraceSerializer)
    @action(detail=True, methods=["get"])
    def trace(self, request, *args, **kwargs):
        """Where the money went: per program, amounts, dates and beneficiaries reached; what is unspent."""
        return Response(trace_data(self.get_object()))
