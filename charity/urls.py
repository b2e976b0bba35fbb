from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path
from django.views.defaults import page_not_found
from drf_spectacular.views import SpectacularAPIView

from charity import health
from charity.api.docs import SwaggerDocsView
from charity.api.token import obtain_auth_token

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("metrics", health.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("charity.api.urls")),
    path("api/v1/auth/token/", obtain_auth_token, name="api-token"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SwaggerDocsView.as_view(url_name="schema"), name="api-docs"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("charity.pages.urls")),
]
if settings.DEBUG:
    urlpatterns += static(settings.STATIC_URL, document_root=settings.STATIC_ROOT)


def not_found(request, exception=None):
    """A URL that matches no route: under /api/ the API's JSON error body, elsewhere Django's 404 page. (A
    route's own 404 already comes from the API's exception handler; this covers paths that match no route at
    all, e.g. a lookup value the router's pattern does not accept.)"""
    if request.path.startswith("/api/"):
        return JsonResponse({"error": {"code": "not_found", "message": "no such URL", "field": None}}, status=404)
    return page_not_found(request, exception)


handler404 = not_found
