"""Append-only records: a posted donation, refund, expense or receipt is never deleted (pretix ``Invoice``)."""

from django.db import models

from ..errors import ImmutableRecord


class AppendOnlyQuerySet(models.QuerySet):
    def delete(self):
        raise ImmutableRecord(f"{self.model._meta.verbose_name_plural} are never deleted; post a correction")


class AppendOnly(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def delete(self, *args, **kwargs):
        raise ImmutableRecord(
            f"a {self._meta.verbose_name} is never deleted; post a correction (a refund or a void) instead",
            field="id",
        )


