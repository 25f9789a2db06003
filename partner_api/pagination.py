"""Cursor pagination for order lists: stable under inserts, and a forged cursor is a 400."""

from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination

PAGE_PARAMETERS = [
    OpenApiParameter("cursor", str, description="from a previous page's `next` or `previous`"),
    OpenApiParameter("limit", int, description="page size, 1-100 (default 20)"),
]


class OrderCursorPagination(CursorPagination):
    ordering = "-created_at"
    page_size = 20
    page_size_query_param = "limit"
    max_page_size = 100

    def decode_cursor(self, request):
        try:
            cursor = super().decode_cursor(request)
            # The position goes into a query: it must be a timestamp this paginator wrote.
            if cursor and cursor.position is not None and not parse_datetime(cursor.position):
                raise NotFound
        except (NotFound, ValueError):
            raise ValidationError({"cursor": "invalid cursor"}) from None
        return cursor
