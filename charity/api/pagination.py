"""The API's one pagination (``DEFAULT_PAGINATION_CLASS``): ``?page=`` and ``?page_size=`` (at most 200; the
default is ``PAGE_SIZE``, 50)."""

from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200
