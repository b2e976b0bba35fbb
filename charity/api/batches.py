"""``batches/``: a day's aid approved and posted as a whole. Disbursements join a draft batch when drafted with
its code."""

from __future__ import annotations

from django.db.models import Count, Q, Sum
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from beneficiaries import services as aid
from beneficiaries.authority import APPROVE, DRAFT
from beneficiaries.models import LIVE_STATUSES, POSTED_STATUSES, DisbursementBatch, DisbursementStatus

from .base import BooksViewSet
from .fields import ReasonSerializer, StrictInput, key_field, money
from .filters import BatchFilter
from .idempotency import IDEMPOTENCY_KEY


class BatchSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    approved_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    posted_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    counts = serializers.SerializerMethodField(help_text="disbursements in the batch by status")
    total_amount = serializers.SerializerMethodField(help_text="CNY of live disbursements with a known amount")
    posted_amount = serializers.SerializerMethodField(help_text="CNY paid or delivered")
    total_quantity = serializers.SerializerMethodField(help_text="units of live disbursements")

    class Meta:
        model = DisbursementBatch
        fields = ["code", "description", "status", "created_by", "created_at", "approved_by", "approved_at",
                  "approved_outside", "posted_by", "posted_at", "counts", "total_amount", "posted_amount",
                  "total_quantity"]

    @extend_schema_field(serializers.DictField(child=serializers.IntegerField()))
    def get_counts(self, batch):
        counts = {s: getattr(batch, f"n_{s}", 0) for s in DisbursementStatus.values}
        counts["total"] = sum(counts.values())
        return counts

    def get_total_amount(self, batch) -> str:
        return money(batch.live_amount)

    def get_posted_amount(self, batch) -> str:
        return money(batch.posted_amount)

    def get_total_quantity(self, batch) -> int:
        return batch.live_quantity or 0


class BatchCreateSerializer(StrictInput):
    code = key_field()
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class BatchViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BooksViewSet):
    """A day's aid approved and posted as a whole. Disbursements join a draft batch when drafted with its code."""

    serializer_class = BatchSerializer
    filterset_class = BatchFilter
    lookup_field = "code"
    lookup_value_regex = r"[^/]+"  # business keys may hold dots
    write_perms = {"create": DRAFT, "approve": APPROVE, "post_batch": APPROVE, "cancel": APPROVE}
    queryset = DisbursementBatch.objects.none()

    def scoped_queryset(self):
        live = Q(disbursements__status__in=LIVE_STATUSES)
        per_status = {f"n_{s}": Count("disbursements", filter=Q(disbursements__status=s))
                      for s in DisbursementStatus.values}
        return (
            DisbursementBatch.objects.filter(book=self.book)
            .select_related("created_by", "approved_by", "posted_by")
            .annotate(
                live_amount=Sum("disbursements__amount", filter=live),
                live_quantity=Sum("disbursements__quantity", filter=live),
                posted_amount=Sum("disbursements__amount", filter=Q(disbursements__status__in=POSTED_STATUSES)),
                **per_status,
            )
            .order_by("code")
        )

    def _shown(self, batch, code=status.HTTP_200_OK):
        return Response(BatchSerializer(self.scoped_queryset().get(pk=batch.pk)).data, status=code)

    @extend_schema(request=BatchCreateSerializer, responses={201: BatchSerializer})
    def create(self, request, *args, **kwargs):
        data = BatchCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        batch = aid.batch_create(book=self.book, user=request.user, **data.validated_data)
        return self._shown(batch, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: BatchSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, *args, **kwargs):
        return self._shown(aid.batch_approve(batch=self.get_object(), user=request.user))

    @extend_schema(request=None, responses={200: BatchSerializer}, parameters=[IDEMPOTENCY_KEY])
    @action(detail=True, methods=["post"], url_path="post")
    def post_batch(self, request, *args, **kwargs):
        """Post every disbursement of the approved batch in one transaction: all or none."""
        return self._shown(aid.batch_post(batch=self.get_object(), user=request.user))

    @extend_schema(request=ReasonSerializer, responses={200: BatchSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, *args, **kwargs):
        batch = self.get_object()
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._shown(aid.batch_cancel(batch=batch, user=request.user, **data.validated_data))
