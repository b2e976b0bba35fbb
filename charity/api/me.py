"""``/me/``: the donor's own corner, looked up through the signed-in user's own ``Donor``. Another donor's gift
is not found (404, never 403, so its existence is not revealed), and a user without a donor record gets 404."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.response import Response

from charity.dbrouter import standby_read
from charity.models import Donation, Donor

from .donations import GiftFieldsMixin, TraceSerializer, refunded_sum, trace_data, valid_receipts
from .receipts import PDF, pdf_response, valid_receipt
from .reports import report_response


class MeSerializer(serializers.ModelSerializer):
    trust = serializers.SlugRelatedField(slug_field="code", read_only=True)
    trust_name = serializers.CharField(source="trust.name", read_only=True)

    class Meta:
        model = Donor
        fields = ["external_id", "kind", "name", "anonymous", "email", "phone", "address", "id_code", "trust",
                  "trust_name"]


class MyDonationSerializer(GiftFieldsMixin, serializers.ModelSerializer):
    fund_name = serializers.CharField(source="fund.name", read_only=True)

    class Meta:
        model = Donation
        fields = ["external_id", "date", "amount", "currency", "fx_rate", "amount_cny", "channel", "fund",
                  "fund_name", "item", "quantity", "description", "receipt", "refunded_cny", "official_receipt"]


def own_donor(request) -> Donor:
    donor = Donor.objects.filter(user=request.user).select_related("trust__book").first() \
        if request.user.is_authenticated else None
    if donor is None:
        raise Http404("no donor record for this user")
    return donor


class MeViewSet(viewsets.GenericViewSet):
    """The signed-in donor's own record and annual statement."""

    serializer_class = MeSerializer
    queryset = Donor.objects.none()
    pagination_class = None

    @extend_schema(responses=MeSerializer)
    def retrieve(self, request, *args, **kwargs):
        return Response(MeSerializer(own_donor(request)).data)

    @extend_schema(
        parameters=[OpenApiParameter("year", OpenApiTypes.INT, description="default: this year")],
        responses={**PDF, 400: OpenApiResponse(description="a bad year")},
    )
    @standby_read
    def statement(self, request, *args, **kwargs):
        """The donor statement of a year as PDF: each gift, its receipt, where it went."""
        donor = own_donor(request)
        if not donor.external_id:  # the report finds a donor by external id; this one cannot be found
            raise Http404("no statement for this donor")
        query = {"format": "pdf", "donor": donor.external_id}
        if request.query_params.get("year"):
            query["year"] = request.query_params["year"]
        return report_response(book=donor.trust.book, name="donor-statement", query=query, filename_prefix="my-")


class MyDonationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The signed-in donor's own gifts; anyone else's is simply not found."""

    serializer_class = MyDonationSerializer
    lookup_field = "external_id"
    queryset = Donation.objects.none()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return (
            Donation.objects.filter(donor=own_donor(self.request))
            .select_related("fund", "entry", "trust", "official_receipt")
            .prefetch_related(valid_receipts())
            .annotate(refunded=refunded_sum())
            .order_by("-date", "-pk")
        )

    @extend_schema(responses=TraceSerializer)
    def trace(self, request, *args, **kwargs):
        """Where my money went: per program, amounts, dates and how many beneficiaries (never who)."""
        return Response(trace_data(self.get_object()))

    @extend_schema(responses=PDF, operation_id="v1_me_donations_receipt")
    def receipt(self, request, *args, **kwargs):
        """The PDF of my gift's valid receipt."""
        return pdf_response(valid_receipt(self.get_object()))
