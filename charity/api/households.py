"""``households/``: households with their members; identity numbers and phones masked unless the user may see
them (``pii``)."""

from __future__ import annotations

from django.db.models import Prefetch
from rest_framework import mixins, serializers
from rest_framework.response import Response

from beneficiaries.models import Beneficiary, Household
from beneficiaries.selectors import household_list

from .base import BooksViewSet
from .pii import PiiFieldsMixin, pii_of


class MemberSerializer(PiiFieldsMixin, serializers.ModelSerializer):
    guardian = serializers.SlugRelatedField(slug_field="external_id", read_only=True)

    class Meta:
        model = Beneficiary
        fields = ["external_id", "name", "id_number", "phone", "pii_masked", "birth_date", "gender", "guardian",
                  "status"]


class HouseholdSerializer(serializers.ModelSerializer):
    mother = serializers.SlugRelatedField(slug_field="external_id", read_only=True)
    members = MemberSerializer(many=True, read_only=True)

    class Meta:
        model = Household
        fields = ["external_id", "mother", "created_at", "members"]


class HouseholdViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BooksViewSet):
    """Households with their members; members' identity numbers and phones masked unless the user may see them."""

    serializer_class = HouseholdSerializer
    lookup_field = "external_id"
    lookup_value_regex = r"[^/]+"  # business keys may hold dots
    queryset = Household.objects.none()

    def scoped_queryset(self):
        members = Beneficiary.objects.select_related("guardian").order_by("birth_date", "external_id")
        return household_list(book=self.book).prefetch_related(None).prefetch_related(
            Prefetch("members", queryset=members)
        )

    def _shown(self, households, purpose: str):
        people = [m for h in households for m in h.members.all()]
        context = self.get_serializer_context()
        context["pii"] = pii_of(people, user=self.request.user, purpose=purpose)
        return HouseholdSerializer(households, many=True, context=context).data

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self._shown(page, "api: household list"))

    def retrieve(self, request, *args, **kwargs):
        return Response(self._shown([self.get_object()], "api: household")[0])
