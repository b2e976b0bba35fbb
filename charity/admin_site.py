"""The admin is for administrators: officers, approvers and auditors work on the office pages and the API.

Django's admin lets in any active staff user and then shows what their model permissions allow; here nobody but
an administrator (a superuser, or a member of the ``administrator`` group) gets past the sign-in, so no role can
read credentials, sessions, tokens or login records there, nor run an admin action. The actions themselves go
through the services, which check the acting user's permission in the trust again.
"""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig


class AdministratorsSite(admin.AdminSite):
    def has_permission(self, request):
        from .roles import is_administrator

        return is_administrator(request.user)


class AdminConfig(DjangoAdminConfig):
    """Django's admin app with ``AdministratorsSite`` as ``admin.site`` (INSTALLED_APPS names this class)."""

    default_site = "charity.admin_site.AdministratorsSite"
