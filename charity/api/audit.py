"""``/audit/``: who changed what, when and from which address."""

from __future__ import annotations

from rest_framework import mixins, serializers, viewsets

from charity.models import AuditEvent
from charity.roles import trusts_where

from .filters import AuditEventFilter
from .permissions import BooksPermission


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = ["id", "at", "username", "address", "channel", "method", "path", "status", "action", "detail"]


class AuditLogViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Who changed what, when and from which address (newest first). Needs ``charity.view_audit_log``."""

    permission_classes = [BooksPermission]
    read_perm = "charity.view_audit_log"
    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilter
    queryset = AuditEvent.objects.order_by("-at", "-pk")

    def get_queryset(self):
        """An administrator reads every event; anyone else those of the trusts where they may read the log."""
        user = self.request.user
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        if user.has_perm(self.read_perm):  # a global grant: the administrator's
            return self.queryset
        return self.queryset.filter(trust__in=trusts_where(user, self.read_perm))
