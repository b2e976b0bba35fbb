"""``/api/docs/``: Swagger UI from drf-spectacular-sidecar's static files (no CDN), its init script served from
the same URL with ``?script`` and its page style from a static file, so that the site's Content-Security-Policy
(``default-src 'self'``, no inline script or style) holds here too."""

from drf_spectacular.views import SpectacularSwaggerSplitView


class SwaggerDocsView(SpectacularSwaggerSplitView):
    template_name = "charity/swagger_ui.html"
