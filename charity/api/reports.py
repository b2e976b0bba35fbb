"""Every report of docs/formats.md over HTTP: /api/v1/trusts/{code}/reports/{name}/?format=csv&from=...&to=...

Query parameters mirror the command's options: ``as_of``, ``from``, ``to``, ``year``, ``fund``, ``donor`` and
``format`` (csv, json or pdf). An option the report does not take is a 400 naming it.

Renderings go through the report cache (``charity.reports.cache``) after the permission check; the
``X-Report-Cache`` header says ``hit``, ``miss`` or ``off`` (a report that is never cached).
"""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from charity.dbrouter import standby_read
from charity.reports import REPORTS, ReportError, render_cached, report_names, resolve_params
from ledger.models import JournalEntry

from .base import BooksViewSet
from .errors import error_body

CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json", "pdf": "application/pdf"}


def report_response(*, book, name: str, query, filename_prefix: str = "",
                    head: tuple[int, str] | None = None) -> HttpResponse | Response:
    """Parse report options from a query dict, render (or take from the report cache), and wrap as a download
    (shared by the API and pages). The caller has authorised the request. ``head``: the book's
    (last_sequence, head_hash) when the caller read the book row in this request (else the cache reads it)."""
    cls = REPORTS.get(name)
    if cls is None:
        raise NotFound(f"no report {name!r}; reports: {', '.join(report_names())}")
    fmt = query.get("format") or ("csv" if "csv" in cls.formats else cls.formats[0])
    date = serializers.DateField()
    options = {}
    try:
        for key, target in (("as_of", "as_of"), ("from", "date_from"), ("to", "date_to")):
            if query.get(key):
                options[target] = date.to_internal_value(query[key])
    except serializers.ValidationError as exc:
        return Response(error_body("invalid", f"{key}: {exc.detail[0]}", key), status=400)
    if query.get("year"):
        if not str(query["year"]).isdigit():
            return Response(error_body("invalid", "year: not a year", "year"), status=400)
        options["year"] = int(query["year"])
    for key in ("fund", "donor", "account"):
        if query.get(key):
            options[key] = query[key]
    try:
        params = resolve_params(cls, book, **options)
        content, cached = render_cached(book=book, report=cls, params=params, fmt=fmt, head=head)
    except ReportError as exc:
        field = exc.field or ("format" if "format" in str(exc) else None)
        return Response(error_body("report_error", str(exc), field), status=400)
    response = HttpResponse(content, content_type=CONTENT_TYPES.get(fmt, "application/octet-stream"))
    response["X-Report-Cache"] = cached
    stamp = (params.as_of or params.date_to).isoformat() if (params.as_of or params.date_to) else "all"
    filename = f"{filename_prefix}{book.code}-{name}-{stamp}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class ReportViewSet(BooksViewSet):
    queryset = JournalEntry.objects.none()
    lookup_field = "name"
    lookup_value_regex = r"[a-z-]+"

    @extend_schema(responses={200: OpenApiResponse(description="the list of report names")})
    def list(self, request, *args, **kwargs):
        self.get_trust()
        return Response([
            {"name": cls.name, "title": cls.title, "title_en": cls.title_en, "formats": list(cls.formats),
             "options": cls.takes()}
            for cls in (REPORTS[n] for n in report_names())
        ])

    @extend_schema(
        parameters=[
            OpenApiParameter("format", OpenApiTypes.STR, enum=["csv", "json", "pdf"]),
            OpenApiParameter("as_of", OpenApiTypes.DATE), OpenApiParameter("from", OpenApiTypes.DATE),
            OpenApiParameter("to", OpenApiTypes.DATE), OpenApiParameter("year", OpenApiTypes.INT),
            OpenApiParameter("fund", OpenApiTypes.STR), OpenApiParameter("donor", OpenApiTypes.STR),
        ],
        responses={(200, "text/csv"): OpenApiTypes.BINARY, (200, "application/pdf"): OpenApiTypes.BINARY,
                   (200, "application/json"): OpenApiTypes.OBJECT},
    )
    @standby_read
    def retrieve(self, request, *args, **kwargs):
        book = self.get_trust().book  # read in this request: its head is current
        return report_response(book=book, name=kwargs["name"], query=request.query_params,
                               head=(book.last_sequence, book.head_hash))
