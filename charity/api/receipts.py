"""``receipts/``: the receipt register (every number issued, valid or void), a receipt's PDF, voiding one."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from charity import services
from charity.documents import receipt_pdf
from charity.idcodes import may_see
from charity.models import ANONYMOUS_NAME, Donation, Receipt
from charity.roles import RECORD

from .base import BooksViewSet
from .fields import StrictInput
from .filters import ReceiptFilter

#: a PDF download in the OpenAPI schema
PDF = {(200, "application/pdf"): OpenApiTypes.BINARY}


class ReceiptSerializer(serializers.ModelSerializer):
    """A line of the receipt register; an anonymous donor's name is not shown."""

    label = serializers.CharField(read_only=True)
    status = serializers.SerializerMethodField()
    donation = serializers.SlugRelatedField(slug_field="external_id", read_only=True)
    donor = serializers.SerializerMethodField()
    amount = serializers.SerializerMethodField()
    currency = serializers.SerializerMethodField()
    fund = serializers.CharField(source="fund_code", read_only=True)
    officer = serializers.CharField(source="officer_name", read_only=True)
    voided_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Receipt
        fields = ["label", "year", "number", "status", "date", "donation", "donor", "amount", "currency", "fx_rate",
                  "amount_cny", "channel", "item", "quantity", "fund", "issued_at", "officer", "note", "voided_at",
                  "voided_by", "void_reason"]

    def get_status(self, r) -> str:
        return "void" if r.voided else "issued"

    def get_donor(self, r) -> str:
        return (r.donor_name if not r.donor_anonymous else "") or ANONYMOUS_NAME

    def get_amount(self, r) -> str:
        return str(r.amount.amount)

    def get_currency(self, r) -> str:
        return r.amount.currency.code


class VoidSerializer(StrictInput):
    reason = serializers.CharField(max_length=2000)
    reissue = serializers.BooleanField(required=False, default=False,
                                       help_text="issue a new receipt for the gift (the donor's details as now)")


class VoidResultSerializer(serializers.Serializer):
    voided = ReceiptSerializer()
    reissued = ReceiptSerializer(allow_null=True)


def pdf_response(receipt: Receipt, prefix: str = "receipt-", *, reveal_id_code: bool = True) -> HttpResponse:
    """The PDF; ``reveal_id_code`` false masks the donor's identity or credit code (a reader without
    ``charity.view_donor_identity``)."""
    response = HttpResponse(receipt_pdf(receipt, reveal_id_code=reveal_id_code), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{prefix}{receipt.label}.pdf"'
    return response


def valid_receipt(donation: Donation) -> Receipt:
    """The gift's valid receipt (404 when every receipt of it was voided)."""
    receipt = (donation.receipts.filter(voided_at__isnull=True)
               .select_related("donation__entry").order_by("-pk").first())
    if receipt is None:
        raise Http404("no valid receipt")
    return receipt


class ReceiptViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BooksViewSet):
    """The receipt register: every number issued, valid or void, in order. Looked up by label (2026-000123)."""

    serializer_class = ReceiptSerializer
    filterset_class = ReceiptFilter
    lookup_field = "label"
    lookup_value_regex = r"\d{4}-\d{6,}"
    write_perm = RECORD
    queryset = Receipt.objects.none()

    def scoped_queryset(self):
        return (Receipt.objects.filter(trust=self.trust).select_related("donation__entry", "voided_by")
                .order_by("year", "number"))

    def get_object(self):
        year, number = self.kwargs["label"].split("-", 1)
        receipt = self.get_queryset().filter(year=int(year), number=int(number)).first()
        if receipt is None:
            raise Http404("no such receipt")
        self.check_object_permissions(self.request, receipt)
        return receipt

    @extend_schema(responses=PDF)
    @action(detail=True, methods=["get"])
    def pdf(self, request, *args, **kwargs):
        return pdf_response(self.get_object(), reveal_id_code=may_see(request.user, self.trust))

    @extend_schema(request=VoidSerializer, responses={200: VoidResultSerializer})
    @action(detail=True, methods=["post"])
    def void(self, request, *args, **kwargs):
        """Void a receipt (its number stays, with the reason); ``reissue`` issues a new one for the same gift."""
        receipt = self.get_object()
        data = VoidSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        new = services.receipt_void(receipt=receipt, user=request.user, **data.validated_data)
        fresh = self.scoped_queryset()
        return Response({
            "voided": ReceiptSerializer(fresh.get(pk=receipt.pk)).data,
            "reissued": ReceiptSerializer(fresh.get(pk=new.pk)).data if new is not None else None,
        })
