from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .trust import Trust

ANONYMOUS_NAME = "匿名捐赠人 Anonymous donor"


class DonorKind(models.TextChoices):
    INDIVIDUAL = "individual", _("individual")
    ORGANISATION = "organisation", _("organisation")


class Donor(models.Model):
    """A person or organisation that gives. Editable (it is not a posted record); receipts copy what they show."""

    trust = models.ForeignKey(Trust, on_delete=models.PROTECT, related_name="donors", verbose_name=_("trust"))
    external_id = models.CharField(_("external id"), max_length=64, blank=True, default="")
    kind = models.CharField(_("kind"), max_length=16, choices=DonorKind.choices, default=DonorKind.INDIVIDUAL)
    name = models.CharField(_("name"), max_length=200)
    anonymous = models.BooleanField(
        _("anonymous"), default=False, help_text=_("the name never appears in public or other donors' output")
    )
    email = models.EmailField(_("email"), blank=True)
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default="zh-hans",
        help_text=_("the language of the e-mails the donor receives"),
    )
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    address = models.TextField(_("address"), blank=True)
    id_code = models.CharField(
        _("identity number or unified social credit code"), max_length=18, blank=True, default="",
        help_text=_("an individual's resident identity number or an organisation's unified social credit code; "
                    "printed on the donor's receipts, masked for anyone without the permission to see it"),
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="donor",
        verbose_name=_("user account"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("donor")
        verbose_name_plural = _("donors")
        ordering = ["trust", "name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["trust", "external_id"], condition=~Q(external_id=""), name="charity_donor_external_id_unique"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["individual", "organisation"]), name="charity_donor_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.external_id})" if self.external_id else self.name

    @property
    def public_name(self) -> str:
        """The name for public and other donors' eyes: hidden when the donor asked for anonymity."""
        return ANONYMOUS_NAME if self.anonymous else self.name
