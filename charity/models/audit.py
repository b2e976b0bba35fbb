from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """Who changed what, when, and from which address. Append-only; auditors read it."""

    at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("who"),
    )
    username = models.CharField(_("username"), max_length=150, blank=True)
    address = models.GenericIPAddressField(_("from address"), null=True, blank=True)
    channel = models.CharField(_("channel"), max_length=16, default="web")  # web, api, admin, command
    method = models.CharField(max_length=8, blank=True)
    path = models.CharField(max_length=500, blank=True)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    action = models.CharField(_("what"), max_length=200)
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    # The trust the change was made in (from the URL's trust code or the page's ?trust=); none for sign-ins and
    # for what spans trusts. Who may read an event follows from it: see AuditLogViewSet.
    trust = models.ForeignKey("charity.Trust", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("trust"))

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit log")
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username} {self.action}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("audit events are append-only")


class IdempotencyRecord(models.Model):
    """The first response to a POST carrying an ``Idempotency-Key``, replayed for any repeat of it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64)
    in_progress = models.BooleanField(default=True)
    status = models.PositiveSmallIntegerField(null=True)
    body = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="charity_idempotency_unique_per_user")]
