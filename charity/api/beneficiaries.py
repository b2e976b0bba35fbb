"""``beneficiaries/``: the registry. Registering and changing go through the registry service, which checks the
whole record; identity numbers and phones as in ``pii``."""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from beneficiaries import services as aid
from beneficiaries.authority import REGISTER
from beneficiaries.errors import DuplicateBeneficiary
from beneficiaries.models import Beneficiary, Gender
from beneficiaries.privacy import beneficiary_pii, ensure_match_logged

from .base import BooksViewSet
from .fields import StrictInput, blank, key_field, resolve_optional
from .filters import BeneficiaryFilter
from .pii import PiiFieldsMixin, pii_of


class BeneficiarySerializer(PiiFieldsMixin, serializers.ModelSerializer):
    household = serializers.SlugRelatedField(slug_field="external_id", read_only=True)
    guardian = serializers.SlugRelatedField(slug_field="external_id", read_only=True)

    class Meta:
        model = Beneficiary
        fields = ["external_id", "name", "id_number", "phone", "pii_masked", "birth_date", "gender", "household",
                  "guardian", "district", "community", "consent_date", "consent_given_by", "status", "exited_on",
                  "created_at", "updated_at"]


class BeneficiaryChangeSerializer(StrictInput):
    name = serializers.CharField(max_length=100, required=False)
    id_number = serializers.CharField(max_length=32, required=False)
    birth_date = serializers.DateField(required=False)
    gender = serializers.ChoiceField(choices=Gender.choices, required=False, allow_blank=True,
                                     help_text="default: from the identity number")
    household = key_field(required=False, allow_null=True, allow_blank=True, help_text="household id (created if new)")
    guardian = key_field(required=False, allow_null=True, allow_blank=True, help_text="the guardian's external id")
    district = serializers.CharField(max_length=100, required=False, allow_blank=True)
    community = serializers.CharField(max_length=200, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=20, required=False, allow_blank=True)
    consent_date = serializers.DateField(required=False, allow_null=True)
    consent_given_by = serializers.CharField(max_length=100, required=False, allow_blank=True)


class BeneficiaryRegisterSerializer(BeneficiaryChangeSerializer):
    external_id = key_field()
    name = serializers.CharField(max_length=100)
    id_number = serializers.CharField(max_length=32)
    birth_date = serializers.DateField()


class ExitSerializer(StrictInput):
    date = serializers.DateField()
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class BeneficiaryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BooksViewSet):
    """The registry. Registering and changing go through the registry service, which checks the whole record."""

    serializer_class = BeneficiarySerializer
    filterset_class = BeneficiaryFilter
    lookup_field = "external_id"
    lookup_value_regex = r"[^/]+"  # business keys may hold dots
    write_perm = REGISTER
    queryset = Beneficiary.objects.none()

    def scoped_queryset(self):
        return (Beneficiary.objects.filter(book=self.book).select_related("household", "guardian")
                .order_by("external_id"))

    def dispatch(self, request, *args, **kwargs):
        # A duplicate's lookup is logged by the registry service, but a refused request rolls its transaction
        # back (on PostgreSQL the whole request's): write the log row again once that is over.
        self._refused_duplicates = []
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            for error in self._refused_duplicates:
                ensure_match_logged(error)

    def handle_exception(self, exc):
        if isinstance(exc, DuplicateBeneficiary):
            self._refused_duplicates.append(exc)
        return super().handle_exception(exc)

    def _data(self, people, purpose: str, *, many: bool):
        context = self.get_serializer_context()
        if many:
            context["pii"] = pii_of(people, user=self.request.user, purpose=purpose)
            return BeneficiarySerializer(people, many=True, context=context).data
        context["pii"] = {people.pk: beneficiary_pii(beneficiary=people, user=self.request.user, purpose=purpose)}
        return BeneficiarySerializer(people, context=context).data

    def _fresh(self, person):
        return self.scoped_queryset().get(pk=person.pk)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self._data(page, "api: beneficiary list", many=True))

    def retrieve(self, request, *args, **kwargs):
        return Response(self._data(self.get_object(), "api: beneficiary", many=False))

    def _links(self, data: dict) -> dict:
        """Household and guardian from their ids (a new household id makes a household: the importer does too)."""
        links = {}
        if "guardian" in data:
            links["guardian"] = resolve_optional(Beneficiary.objects.filter(book=self.book), "external_id",
                                                 data["guardian"], field="guardian", what="beneficiary")
        if "household" in data:
            links["household"] = None if blank(data["household"]) else aid.household_get_or_create(
                book=self.book, external_id=data["household"], user=self.request.user)
        return links

    @extend_schema(request=BeneficiaryRegisterSerializer, responses={201: BeneficiarySerializer})
    def create(self, request, *args, **kwargs):
        data = BeneficiaryRegisterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        with transaction.atomic():
            values.update(self._links(values))
            person = aid.beneficiary_register(book=self.book, user=request.user, **values)
        return Response(self._data(self._fresh(person), "api: registered", many=False), status=status.HTTP_201_CREATED)

    @extend_schema(request=BeneficiaryChangeSerializer, responses={200: BeneficiarySerializer})
    def partial_update(self, request, *args, **kwargs):
        person = self.get_object()
        data = BeneficiaryChangeSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        with transaction.atomic():
            changes.update(self._links(changes))
            person = aid.beneficiary_update(beneficiary=person, user=request.user, **changes)
        return Response(self._data(self._fresh(person), "api: changed", many=False))

    @extend_schema(request=ExitSerializer, responses={200: BeneficiarySerializer})
    @action(detail=True, methods=["post"], url_path="exit")
    def exit(self, request, *args, **kwargs):
        person = self.get_object()
        data = ExitSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        person = aid.beneficiary_exit(beneficiary=person, user=request.user, **data.validated_data)
        return Response(self._data(self._fresh(person), "api: exited", many=False))
