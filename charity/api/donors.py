"""``donors/``: the trust's donors; recording one, changing one (never a receipt already issued)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from charity import services
from charity.idcodes import shown_id_code
from charity.models import Donor, DonorKind
from charity.roles import RECORD

from .base import BooksViewSet
from .fields import StrictInput, key_field, resolve_optional
from .filters import DonorFilter


class DonorSerializer(serializers.ModelSerializer):
    user = serializers.SlugRelatedField(slug_field="username", read_only=True, help_text="linked sign-in account")
    id_code = serializers.SerializerMethodField(
        help_text="identity number (individual) or unified social credit code (organisation); masked without "
                  "charity.view_donor_identity")

    class Meta:
        model = Donor
        fields = ["external_id", "kind", "name", "anonymous", "email", "phone", "address", "user", "created_at",
                  "id_code", "language"]

    def get_id_code(self, d) -> str:
        request = self.context.get("request")
        return shown_id_code(d.id_code, user=getattr(request, "user", None), trust=d.trust)


class DonorChangeSerializer(StrictInput):
    kind = serializers.ChoiceField(choices=DonorKind.choices, required=False)
    name = serializers.CharField(max_length=200, required=False)
    anonymous = serializers.BooleanField(required=False)
    email = serializers.CharField(max_length=254, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True)
    address = serializers.CharField(max_length=1000, required=False, allow_blank=True)
    id_code = serializers.CharField(max_length=40, required=False, allow_blank=True,
                                    help_text="resident identity number (individual) or unified social credit code "
                                              "(organisation), check character verified")
    language = serializers.ChoiceField(choices=settings.LANGUAGES, required=False,
                                       help_text="the language of the donor's e-mails")
    user = serializers.CharField(max_length=150, required=False, allow_null=True, allow_blank=True,
                                 help_text="username of the sign-in account to link (blank or null: unlink)")


class DonorCreateSerializer(DonorChangeSerializer):
    external_id = key_field()
    kind = serializers.ChoiceField(choices=DonorKind.choices, required=False, default=DonorKind.INDIVIDUAL)
    name = serializers.CharField(max_length=200)


class DonorViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BooksViewSet):
    """The trust's donors. Changing a donor never changes a receipt already issued."""

    serializer_class = DonorSerializer
    filterset_class = DonorFilter
    lookup_field = "external_id"
    lookup_value_regex = r"[^/]+"
    write_perm = RECORD
    queryset = Donor.objects.none()

    def scoped_queryset(self):
        return Donor.objects.filter(trust=self.trust).select_related("user", "trust").order_by("external_id", "pk")

    def _changes(self, data: dict) -> dict:
        if "user" in data:
            data["user"] = resolve_optional(get_user_model().objects.all(), "username", data["user"], field="user",
                                            what="user")
        return data

    def _shown(self, donor, code=status.HTTP_200_OK):
        return Response(DonorSerializer(self.scoped_queryset().get(pk=donor.pk), context={"request": self.request}).data,
                        status=code)

    @extend_schema(request=DonorCreateSerializer, responses={201: DonorSerializer})
    def create(self, request, *args, **kwargs):
        data = DonorCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        donor = services.donor_create(trust=self.trust, by=request.user, **self._changes(dict(data.validated_data)))
        return self._shown(donor, status.HTTP_201_CREATED)

    @extend_schema(request=DonorChangeSerializer, responses={200: DonorSerializer})
    def partial_update(self, request, *args, **kwargs):
        donor = self.get_object()
        data = DonorChangeSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        donor = services.donor_update(donor=donor, by=request.user, **self._changes(dict(data.validated_data)))
        return self._shown(donor)
