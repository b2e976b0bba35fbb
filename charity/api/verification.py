"""``ledger/verify/``: the hash chain of the trust's journal checked end to end."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from ledger.models import JournalEntry
from ledger.verification import verify_book

from .base import BooksViewSet


class VerifyViewSet(BooksViewSet):
    queryset = JournalEntry.objects.none()

    @extend_schema(responses=inline_serializer("Verification", {
        "ok": serializers.BooleanField(), "entries": serializers.IntegerField(),
        "head_hash": serializers.CharField(), "line": serializers.CharField(), "problem": serializers.CharField(),
    }))
    def list(self, request, *args, **kwargs):
        verdict = verify_book(self.book)
        return Response({
            "ok": verdict.ok, "entries": verdict.count, "head_hash": verdict.head, "line": verdict.line(),
            "problem": verdict.problem,
        })
