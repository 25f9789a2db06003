"""The channel's HTTP API and wallet pages: routing, fault wrapping, and thin handlers."""

import re
import time
from dataclasses import dataclass
from datetime import date
from urllib.parse import quote

from channel_sim import wallet as wallet_return
from channel_sim import web
from channel_sim.calls import CallLog
from channel_sim.web import Response, html_response, json_response

from . import bad_answers, home, notifier, validation, wallet
from .errors import ApiError, invalid
from .faults import ApiFault, Faults
from .refunds import Refunds
from .statement import statement_csv
from .store import Store
from .trades import Trades
from .web import Request, error_response

DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
MERCHANT_NUMBERS = ("out_refund_no", "out_trade_no")  # most specific first


@dataclass(frozen=True)
class Route(web.Route):
    operation: str | None  # the fault-injection key (faults.OPERATIONS), if any


class App:
    def __init__(
        self,
        store: Store,
        faults: Faults,
        trades: Trades,
        refunds: Refunds,
        channels: tuple[str, ...],
    ):
        self._store = store
        self._faults = faults
        self._trades = trades
        self._refunds = refunds
        self._channels = channels
        self._calls = CallLog()
        segment = r"(?P<{}>[^/]+)"
        trade = "/v1/trades/" + segment.format("out_trade_no")
        wallet_trade = "/wallet/" + segment.format("trade_no")
        table = [
            ("GET", "/", self.home, None),
            ("GET", "/favicon.ico", self.favicon, None),
            ("GET", "/healthz", self.healthz, None),
            ("POST", "/v1/trades", self.create_trade, "create"),
            ("GET", trade, self.query_trade, "query"),
            ("POST", trade + "/close", self.close_trade, "close"),
            ("POST", trade + "/pay", self.pay_trade, None),
            ("POST", trade + "/console_refund", self.console_refund, None),
            ("POST", "/v1/refunds", self.create_refund, "refund"),
            (
                "GET",
                "/v1/refunds/" + segment.format("out_refund_no"),
                self.query_refund,
                "refund_query",
            ),
            ("GET", "/v1/statements/" + segment.format("day"), self.statement, "statement"),
            ("GET", "/v1/faults", self.get_faults, None),
            ("POST", "/v1/faults", self.set_faults, None),
            ("GET", "/v1/notifications", self.notifications, None),
            ("GET", "/v1/calls", self.calls, None),
            ("GET", wallet_trade, self.wallet_page, None),
            ("POST", wallet_trade + "/pay", self.wallet_pay, None),
        ]
        self._routes = [
            Route(method, re.compile(pattern), handler, operation)
            for method, pattern, handler, operation in table
        ]

    def __call__(self, request: Request) -> Response:
        route, arguments, path_known = web.find_route(self._routes, request)
        if route is not None:
            return self._run(route, request, arguments)
        if path_known:
            return error_response(ApiError(405, "METHOD_NOT_ALLOWED", request.method))
        return error_response(ApiError(404, "NOT_FOUND", f"no route for {request.path}"))

    def _run(self, route: Route, request: Request, arguments: dict[str, str]) -> Response:
        if not route.operation:
            return self._answer(route, request, arguments)
        asked = _asked(request, arguments)
        # Logged under its path argument, else under the body's most specific merchant number.
        key = next(iter(arguments.values()), None) or next(iter(asked.values()), None)
        self._calls.record({"operation": route.operation, "key": key, "at": time.time()})
        time.sleep(self._faults.random_delay("api_latency_ms"))
        fault = self._faults.api_fault(route.operation)
        if fault is ApiFault.ERROR:
            return error_response(ApiError(503, "SYSTEM_ERROR", "injected fault"))
        if fault is ApiFault.TIMEOUT_BEFORE_WORK:
            return self._hang()
        if fault is ApiFault.BAD_ANSWER_BEFORE_WORK:
            return self._bad_answer(None, asked)
        response = self._answer(route, request, arguments)
        if fault is ApiFault.TIMEOUT_AFTER_WORK:
            return self._hang()
        if fault is ApiFault.HANG:
            # Slower than any caller's timeout, but the work is done and the answer is true.
            time.sleep(self._faults.seconds("hang_long_ms"))
        if fault is ApiFault.BAD_ANSWER_AFTER_WORK:
            return self._bad_answer(response, asked)
        return response

    @staticmethod
    def _answer(route: Route, request: Request, arguments: dict[str, str]) -> Response:
        try:
            return route.handler(request, **arguments)
        except ApiError as error:
            return error_response(error)

    def _bad_answer(self, response: Response | None, asked: dict[str, str]) -> Response:
        return bad_answers.bad_answer(self._faults.choice(bad_answers.SHAPES), response, asked)

    def calls(self, request: Request) -> Response:
        return json_response(self._calls.matching(request.query, ("operation", "key")))

    def _hang(self) -> Response:
        # Long enough to outlast the caller's timeout; the caller never learns what happened.
        time.sleep(self._faults.seconds("hang_ms"))
        return error_response(ApiError(504, "TIMEOUT", "injected fault"))

    def healthz(self, request: Request) -> Response:
        return json_response({"status": "ok"})

    def create_trade(self, request: Request) -> Response:
        return json_response(self._trades.create(request.json()))

    def query_trade(self, request: Request, out_trade_no: str) -> Response:
        return json_response(self._trades.query(out_trade_no))

    def close_trade(self, request: Request, out_trade_no: str) -> Response:
        return json_response(self._trades.close(out_trade_no))

    def pay_trade(self, request: Request, out_trade_no: str) -> Response:
        validation.body_object(request.json())  # optional and unused, but must not be garbage
        return json_response(self._trades.pay(out_trade_no=out_trade_no))

    def create_refund(self, request: Request) -> Response:
        return json_response(self._refunds.create(request.json()))

    def console_refund(self, request: Request, out_trade_no: str) -> Response:
        return json_response(self._refunds.create_at_console(out_trade_no, request.json()))

    def query_refund(self, request: Request, out_refund_no: str) -> Response:
        return json_response(self._refunds.get(out_refund_no))

    def statement(self, request: Request, day: str) -> Response:
        try:
            parsed = date.fromisoformat(day) if DAY.fullmatch(day) else None
        except ValueError:
            parsed = None
        if parsed is None:
            raise invalid("the statement date must be YYYY-MM-DD")
        channel = request.query.get("channel")
        if channel is not None and channel not in self._channels:
            raise ApiError(400, "UNKNOWN_CHANNEL", f"channel must be one of {self._channels}")
        csv_text = statement_csv(self._store, parsed, channel)
        return Response(200, csv_text.encode(), "text/csv; charset=utf-8")

    def get_faults(self, request: Request) -> Response:
        return json_response(self._faults.snapshot())

    def set_faults(self, request: Request) -> Response:
        return json_response(self._faults.replace(request.json()))

    def notifications(self, request: Request) -> Response:
        return json_response(notifier.list_attempts(self._store, request.query.get("out_trade_no")))

    def home(self, request: Request) -> Response:
        return html_response(home.home_page(self._trades.recent()))

    def favicon(self, request: Request) -> Response:
        return Response(
            200, home.FAVICON.encode(), "image/svg+xml", {"Cache-Control": "max-age=86400"}
        )

    def wallet_page(self, request: Request, trade_no: str) -> Response:
        try:
            trade, return_url, payable = self._trades.for_wallet(trade_no)
        except ApiError:
            return html_response(wallet.not_found_page(), 404)
        paid_just_now = wallet_return.just_paid(request.query)
        return wallet_return.page_response(
            wallet.trade_page(trade, return_url, payable, just_paid=paid_just_now)
        )

    def wallet_pay(self, request: Request, trade_no: str) -> Response:
        try:
            self._trades.pay(trade_no=trade_no)
        except ApiError as error:
            if error.status == 404:
                return html_response(wallet.not_found_page(), 404)
            trade, return_url, payable = self._trades.for_wallet(trade_no)
            page = wallet.trade_page(trade, return_url, payable, problem=error.message)
            return wallet_return.page_response(page, error.status)
        # Post/redirect/get: reloading the result page must not pay again.
        return wallet_return.after_pay(f"/wallet/{quote(trade_no)}")


def _asked(request: Request, arguments: dict[str, str]) -> dict[str, str]:
    """The merchant numbers a call is about, from its path or (for creates) its body."""
    asked = {key: value for key, value in arguments.items() if key in MERCHANT_NUMBERS}
    if not arguments and request.body:
        try:
            body = request.json()
        except ApiError:
            body = None
        if isinstance(body, dict):
            for key in MERCHANT_NUMBERS:
                if isinstance(body.get(key), str):
                    asked[key] = body[key]
    return asked
