"""CSV exports of admin lists: the rows the list shows (filters and search applied, every page),
amounts as integers in minor units beside their currency — never floats, never formatted."""

import csv
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from operator import attrgetter

from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.urls import path
from django.utils import timezone

# A cell starting like a formula is run by spreadsheets: text fields (notes, errors, anything a
# partner sent) are prefixed with a quote so a finance export can never execute.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class CsvExportMixin:
    """An "Export CSV" button on a ModelAdmin's list. csv_columns: (header, attribute path or
    function of the row)."""

    change_list_template = "admin/backoffice/change_list.html"
    csv_columns: tuple[tuple[str, str | Callable], ...] = ()

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_export"
        export = self.admin_site.admin_view(self.export_csv_view)
        return [path("export.csv", export, name=name), *super().get_urls()]

    def export_csv_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            rows = self.get_changelist_instance(request).queryset
        except IncorrectLookupParameters:
            return HttpResponseBadRequest("unknown filter")
        return csv_response(self.opts.model_name, self.csv_columns, rows.iterator())


def csv_response(name: str, columns, rows: Iterable) -> StreamingHttpResponse:
    """Stream rows as a CSV download named ``<name>-<UTC time>.csv``."""
    filename = f"{name}-{timezone.now():%Y%m%dT%H%M%SZ}.csv"
    return StreamingHttpResponse(
        _csv_lines(columns, rows),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


class _Line:
    """csv.writer writes into this and gets the line back, so rows stream one by one."""

    def write(self, line: str) -> str:
        return line


def _csv_lines(columns, rows: Iterable) -> Iterator[str]:
    writer = csv.writer(_Line())
    getters = [attrgetter(get) if isinstance(get, str) else get for _, get in columns]
    yield writer.writerow([header for header, _ in columns])
    for row in rows:
        yield writer.writerow([_cell(get(row)) for get in getters])


def _cell(value) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return "" if value is None else value
