"""``entries/`` (the journal: drafting a manual entry, asking for a reversal) and ``manual-entries/`` (those
drafts, waiting for a second person to approve, which posts, or reject)."""

from __future__ import annotations

from django.db.models import Prefetch
from django.utils import timezone
from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from charity import services
from charity.models import Attachment, ManualEntry
from charity.roles import APPROVE_ENTRIES, DRAFT_ENTRIES
from ledger.models import JournalEntry, Leg

from .base import BooksViewSet
from .fields import DecimalAmount
from .filters import JournalEntryFilter, ManualEntryFilter


class LegSerializer(serializers.ModelSerializer):
    account = serializers.SlugRelatedField(slug_field="code", read_only=True)
    fund = serializers.SlugRelatedField(slug_field="code", read_only=True)
    debit = serializers.SerializerMethodField()
    credit = serializers.SerializerMethodField()
    debit_cny = serializers.SerializerMethodField()
    credit_cny = serializers.SerializerMethodField()

    class Meta:
        model = Leg
        fields = ["position", "account", "fund", "currency", "debit", "credit", "debit_cny", "credit_cny"]

    def get_debit(self, leg) -> str:
        return str(leg.debit_amount)

    def get_credit(self, leg) -> str:
        return str(leg.credit_amount)

    def get_debit_cny(self, leg) -> str:
        return str(leg.debit_cny_amount)

    def get_credit_cny(self, leg) -> str:
        return str(leg.credit_cny_amount)


class EntrySerializer(serializers.ModelSerializer):
    legs = LegSerializer(many=True, read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    approved_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    reverses = serializers.SlugRelatedField(slug_field="sequence", read_only=True)
    fx_rate = serializers.DecimalField(max_digits=18, decimal_places=8, read_only=True)

    class Meta:
        model = JournalEntry
        fields = [
            "sequence", "date", "memo", "source_type", "source_id", "created_by", "approved_by", "created_at",
            "fx_rate", "reverses", "previous_hash", "hash", "legs",
        ]


class AttachmentSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="download (needs read access to the trust)")

    class Meta:
        model = Attachment
        fields = ["name", "size", "sha256", "url"]
        read_only_fields = fields

    def get_url(self, attachment) -> str:
        path = reverse("attachment-download", kwargs={"pk": attachment.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class EntryDetailSerializer(EntrySerializer):
    """One entry, with the files attached to it or to the gift, expense or disbursement it records."""

    attachments = serializers.SerializerMethodField()

    class Meta(EntrySerializer.Meta):
        fields = [*EntrySerializer.Meta.fields, "attachments"]

    @extend_schema_field(AttachmentSerializer(many=True))
    def get_attachments(self, entry) -> list[dict]:
        return AttachmentSerializer(services.entry_attachments(entry), many=True, context=self.context).data


class LegInputSerializer(serializers.Serializer):
    account = serializers.CharField(max_length=32, help_text="account code")
    fund = serializers.CharField(max_length=32, help_text="fund code")
    debit = DecimalAmount(required=False)
    credit = DecimalAmount(required=False)
    currency = serializers.CharField(max_length=3, required=False, default="CNY")

    def validate(self, attrs):
        if ("debit" in attrs) == ("credit" in attrs):
            raise serializers.ValidationError({"debit": "give exactly one of debit and credit"})
        return attrs


class EntryInputSerializer(serializers.Serializer):
    date = serializers.DateField()
    memo = serializers.CharField(max_length=2000, allow_blank=True, required=False, default="")
    fx_rate = serializers.DecimalField(max_digits=18, decimal_places=8, required=False, min_value=0)
    legs = LegInputSerializer(many=True)


class ReverseInputSerializer(serializers.Serializer):
    date = serializers.DateField(required=False)
    reason = serializers.CharField(max_length=500)


class RejectInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class ManualEntrySerializer(serializers.ModelSerializer):
    drafted_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    reverses = serializers.SlugRelatedField(slug_field="sequence", read_only=True)
    entry = serializers.SlugRelatedField(slug_field="sequence", read_only=True)
    fx_rate = serializers.DecimalField(max_digits=18, decimal_places=8, read_only=True)

    class Meta:
        model = ManualEntry
        fields = ["id", "kind", "status", "date", "memo", "fx_rate", "legs", "reverses", "reason", "drafted_by",
                  "drafted_at", "decided_by", "decided_at", "entry"]


class JournalEntryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BooksViewSet):
    serializer_class = EntrySerializer
    lookup_field = "sequence"
    lookup_value_regex = r"\d+"
    filterset_class = JournalEntryFilter
    write_perms = {"create": DRAFT_ENTRIES, "reverse": DRAFT_ENTRIES}
    queryset = JournalEntry.objects.none()

    def get_serializer_class(self):
        return EntryDetailSerializer if self.action == "retrieve" else EntrySerializer

    def scoped_queryset(self):
        legs = Leg.objects.select_related("account", "fund").order_by("position")
        return (
            JournalEntry.objects.filter(book=self.book)
            .select_related("created_by", "approved_by", "reverses")
            .prefetch_related(Prefetch("legs", queryset=legs))
            .order_by("sequence")
        )

    @extend_schema(request=EntryInputSerializer, responses={202: ManualEntrySerializer})
    def create(self, request, *args, **kwargs):
        """Draft a manual entry. Nothing is posted until another user approves it (``manual-entries``)."""
        data = EntryInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        draft = services.manual_entry_draft(
            trust=self.trust, date=values["date"], memo=values["memo"], fx_rate=values.get("fx_rate"),
            legs=[{k: v for k, v in leg.items()} for leg in values["legs"]], user=request.user)
        return Response(ManualEntrySerializer(draft).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=ReverseInputSerializer, responses={202: ManualEntrySerializer})
    @action(detail=True, methods=["post"])
    def reverse(self, request, *args, **kwargs):
        """Ask for this entry's reversal; another user approves (and posts it) or rejects."""
        entry = self.get_object()
        data = ReverseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        draft = services.manual_reversal_draft(
            entry=entry, date=data.validated_data.get("date") or timezone.localdate(),
            reason=data.validated_data["reason"], user=request.user)
        return Response(ManualEntrySerializer(draft).data, status=status.HTTP_202_ACCEPTED)


class ManualEntryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BooksViewSet):
    """Manual entries and reversals as drafted, waiting for a second person: approve (posts) or reject."""

    serializer_class = ManualEntrySerializer
    filterset_class = ManualEntryFilter
    write_perms = {"approve": APPROVE_ENTRIES, "reject": APPROVE_ENTRIES}
    queryset = ManualEntry.objects.none()

    def scoped_queryset(self):
        return ManualEntry.objects.filter(trust=self.trust).select_related(
            "drafted_by", "decided_by", "reverses", "entry").order_by("-pk")

    @extend_schema(request=None, responses={200: ManualEntrySerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, *args, **kwargs):
        done = services.manual_entry_approve(manual=self.get_object(), user=request.user)
        return Response(ManualEntrySerializer(self.get_queryset().get(pk=done.pk)).data)

    @extend_schema(request=RejectInputSerializer, responses={200: ManualEntrySerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request, *args, **kwargs):
        data = RejectInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        done = services.manual_entry_reject(manual=self.get_object(), user=request.user,
                                            reason=data.validated_data["reason"])
        return Response(ManualEntrySerializer(self.get_queryset().get(pk=done.pk)).data)
