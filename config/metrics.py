"""GET /metrics: Prometheus text, every name prefixed ``paycenter_``.

Two kinds of figures (docs/architecture.md, "Metrics and health"):
- events (requests, channel calls, callbacks) are counted by each process with prometheus-client
  in multiprocess mode and summed here from PROMETHEUS_MULTIPROC_DIR;
- the state of the books (open and stuck payments, refunds, webhooks, money at risk, …) is read
  from PostgreSQL at scrape time (config/metrics_db.py), so every web node answers the same.

Loopback clients only while METRICS_TOKEN is empty; once it is set, a Bearer token from anywhere.
"""

import hmac
import ipaddress
import os

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from config.metrics_db import DatabaseGauges

REQUESTS = Counter(
    "paycenter_http_requests",
    "HTTP requests answered, by route (the URL pattern), method and status",
    ["route", "method", "status"],
)
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestsCounted:
    """Middleware: count every answer by its URL pattern, never the raw path (unbounded).
    Sync only, like WhiteNoise below it, which makes the chain sync under ASGI anyway."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        match = request.resolver_match
        route = match.route if match else "unmatched"
        method = request.method if request.method in KNOWN_METHODS else "other"
        REQUESTS.labels(route, method, str(response.status_code)).inc()
        return response


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if refusal := _refusal(request):
        return refusal
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(settings.PROMETHEUS_MULTIPROC_DIR))
    registry.register(DatabaseGauges())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


def process_counts_clear() -> None:
    """Remove the count files of processes that are gone (named ``<kind>_<pid>.db``), at the
    start of a whole system: a new process that got an old pid would add to a dead one's
    counts, and the directory would grow with every worker ever run. A live process's file
    stays (another system or a test run on this host may be counting into it)."""
    for counts in settings.PROMETHEUS_MULTIPROC_DIR.glob("*.db"):
        pid = counts.stem.rpartition("_")[2]
        if pid.isdigit() and not _running(int(pid)):
            counts.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def _refusal(request: HttpRequest) -> HttpResponse | None:
    token = settings.METRICS_TOKEN
    if not token:
        if _is_loopback(request.META.get("REMOTE_ADDR", "")):
            return None
        return HttpResponse("metrics are served to loopback clients only\n", status=403)
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode()):
        return None
    response = HttpResponse("a Bearer token is required\n", status=401)
    response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False
