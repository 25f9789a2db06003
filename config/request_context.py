"""Every request gets an id, bound to its log lines and returned in the `Request-Id` header.

The middleware binds the context every log line of the request carries (request id, and the
order, payment, refund or channel the URL names); the doors add who is acting (the partner API
binds its merchant). Each request ends with one `request` line: method, path, status.
"""

import logging

from structlog.contextvars import bind_contextvars, clear_contextvars

from orders.audit import Actor
from orders.enums import ActorKind
from orders.ids import new_public_id

logger = logging.getLogger("paycenter.requests")

REQUEST_ID_HEADER = "Request-Id"
# URL arguments that name what a request is about, and the log field each becomes.
URL_CONTEXT = {
    "order_id": "order",
    "payment_id": "payment",
    "refund_id": "refund",
    "channel": "channel",
}


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        clear_contextvars()  # a worker thread serves many requests: nothing carries over
        request_id = new_public_id("req")
        bind_contextvars(request_id=request_id)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        logger.info(
            "request",
            extra={"method": request.method, "path": request.path, "status": response.status_code},
        )
        clear_contextvars()
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        bind_contextvars(
            **{
                field: view_kwargs[name]
                for name, field in URL_CONTEXT.items()
                if name in view_kwargs
            }
        )
        # The back office's staff (only there: reading the user elsewhere would load sessions).
        if request.resolver_match.app_name == "admin" and request.user.is_authenticated:
            bind_contextvars(actor=str(Actor(ActorKind.ADMIN, request.user.get_username())))
