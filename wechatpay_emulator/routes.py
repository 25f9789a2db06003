"""The v3 API and the test doors: routing, request signatures, fault wrapping, answer signing.

Every ``/v3/`` call must carry a valid merchant signature (else 401 SIGN_ERROR) and every answer
to one is signed, errors included, except the bill download (WeChat does not sign the file).
``/_emulator/`` is for tests and people only, never faulted nor signed.
"""

import contextlib
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from cryptography.hazmat.primitives import serialization

from channel_sim import wallet as wallet_return
from channel_sim import web
from channel_sim.calls import CallLog
from channel_sim.ledger import since_of
from channel_sim.web import Response, html_response
from sandbox_channel.errors import ApiError
from sandbox_channel.faults import ApiFault, Faults

from . import bad_answers, clock, crypto, keys, notifier, wallet
from .bills import Bills
from .errors import WechatError, param_error, system_error
from .refunds import Refunds
from .signer import Signer
from .store import Store
from .trades import Trades
from .web import Request, error_response, json_response

NO_CONTENT = Response(204, b"", "application/json; charset=utf-8")
PAY_OUTCOMES = ("SUCCESS", "PAYERROR")
CERTIFICATE_VALIDITY = ("not_before_in", "not_after_in")
MAX_VALIDITY_SECONDS = 100 * 365 * 86400  # NaN and infinities fail this too

# The sandbox's fault keys this emulator gives a WeChat meaning (docs/wechatpay.md, Faults).
SUPPORTED_FAULTS = {
    "api_error_rate",
    "api_timeout_rate",
    "api_hang_rate",
    "api_latency_ms",
    "bad_answer_rate",
    "hang_ms",
    "hang_long_ms",
    "query_stale_rate",
    "close_unknown_rate",
    "pay_after_expire",
    "refund_fail_rate",
    "refund_async",
    "refund_async_ms",
    "refund_conflict_rate",
    "notify_amount_tamper_rate",
    "notify_drop",
    "notify_duplicate",
    "notify_delay_ms",
    "notify_reorder",
    "reorder_window_ms",
    "seed",
}


class Kind:
    API = "api"  # merchant-signed request, platform-signed answer
    DOWNLOAD = "download"  # merchant-signed request, unsigned file
    DOOR = "door"  # test-only, open


@dataclass(frozen=True)
class Route(web.Route):
    kind: str
    operation: str | None  # the fault-injection key (sandbox_channel.faults.OPERATIONS)


class App:
    def __init__(
        self,
        *,
        store: Store,
        faults: Faults,
        signer: Signer,
        trades: Trades,
        refunds: Refunds,
        bills: Bills,
        public_url: str,
    ):
        self._store = store
        self._faults = faults
        self._signer = signer
        self._trades = trades
        self._refunds = refunds
        self._bills = bills
        self._public_url = public_url.rstrip("/")
        self._calls = CallLog()
        self._refunds_in_flight: set[str] = set()
        self._in_flight_guard = threading.Lock()
        segment = "(?P<{}>[^/]+)"
        by_out_trade_no = "/v3/pay/transactions/out-trade-no/" + segment.format("out_trade_no")
        wallet_page = "/_emulator/wallet/" + segment.format("prepay_id")
        refund = segment.format("out_refund_no")
        api, download, door = Kind.API, Kind.DOWNLOAD, Kind.DOOR
        table = [
            ("GET", "/healthz", self.healthz, door, None),
            ("POST", "/v3/pay/transactions/native", self.create_native, api, "create"),
            ("POST", "/v3/pay/transactions/h5", self.create_h5, api, "create"),
            ("GET", by_out_trade_no, self.query_by_out_trade_no, api, "query"),
            (
                "GET",
                "/v3/pay/transactions/id/" + segment.format("transaction_id"),
                self.query_by_transaction_id,
                api,
                "query",
            ),
            ("POST", by_out_trade_no + "/close", self.close, api, "close"),
            ("POST", "/v3/refund/domestic/refunds", self.create_refund, api, "refund"),
            (
                "GET",
                "/v3/refund/domestic/refunds/" + refund,
                self.query_refund,
                api,
                "refund_query",
            ),
            ("GET", "/v3/bill/tradebill", self.trade_bill, api, "statement"),
            ("GET", "/v3/billdownload/file", self.download_bill, download, None),
            ("GET", "/v3/certificates", self.certificates, api, None),
            ("POST", "/_emulator/pay/" + segment.format("out_trade_no"), self.pay, door, None),
            ("GET", wallet_page, self.wallet_page, door, None),
            ("POST", wallet_page + "/pay", self.wallet_pay, door, None),
            ("POST", "/_emulator/refunds/" + refund + "/settle", self.settle_refund, door, None),
            (
                "POST",
                "/_emulator/refund/" + segment.format("out_trade_no"),
                self.console_refund,
                door,
                None,
            ),
            ("POST", "/_emulator/certificates/rotate", self.rotate_certificate, door, None),
            ("POST", "/_emulator/bill_summary", self.misstate_bill_summary, door, None),
            ("GET", "/_emulator/faults", self.get_faults, door, None),
            ("POST", "/_emulator/faults", self.set_faults, door, None),
            ("GET", "/_emulator/calls", self.calls, door, None),
            ("GET", "/_emulator/notifications", self.notifications, door, None),
            ("GET", "/_emulator/ledger", self.ledger, door, None),
        ]
        self._routes = [
            Route(method, re.compile(pattern), handler, kind, operation)
            for method, pattern, handler, kind, operation in table
        ]

    def __call__(self, request: Request) -> Response:
        route, arguments, path_known = web.find_route(self._routes, request)
        if route is not None:
            return self._run(route, request, arguments)
        if path_known:
            return self._answer(request, WechatError(405, "INVALID_REQUEST", request.method))
        return self._answer(request, WechatError(404, "NOT_FOUND", f"no route {request.path}"))

    def _run(self, route: Route, request: Request, arguments: dict[str, str]) -> Response:
        if route.kind == Kind.DOOR:
            try:
                return route.handler(request, **arguments)
            except WechatError as error:
                return error_response(error)
        call = self._log_call(route, request, arguments)
        try:
            self._signer.check_request(request)
            with self._refund_in_flight(route, call["key"]):
                response = self._faulted(route, request, arguments)
        except WechatError as error:
            response = error_response(error)
        call["status"] = response.status
        if route.kind == Kind.DOWNLOAD and response.status == 200:
            return response
        return self._signed(request, response)

    def _faulted(self, route: Route, request: Request, arguments: dict[str, str]) -> Response:
        if not route.operation:
            return route.handler(request, **arguments)
        time.sleep(self._faults.random_delay("api_latency_ms"))
        fault = self._faults.api_fault(route.operation)
        if fault is ApiFault.ERROR:
            raise system_error("injected fault")
        if fault is ApiFault.TIMEOUT_BEFORE_WORK:
            self._hang()
        if fault is ApiFault.BAD_ANSWER_BEFORE_WORK:
            return self._bad_answer(None, request, arguments)
        try:
            response = route.handler(request, **arguments)
        except WechatError:
            if fault is ApiFault.TIMEOUT_AFTER_WORK:
                self._hang()  # a refusal is an answer too: the caller must not see it
            raise
        if fault is ApiFault.TIMEOUT_AFTER_WORK:
            self._hang()
        if fault is ApiFault.HANG:
            # Slower than any caller's timeout, but the work is done and the answer is true.
            time.sleep(self._faults.seconds("hang_long_ms"))
        if fault is ApiFault.BAD_ANSWER_AFTER_WORK:
            return self._bad_answer(response, request, arguments)
        return response

    def _bad_answer(
        self, response: Response | None, request: Request, arguments: dict[str, str]
    ) -> Response:
        asked = {k: v for k, v in arguments.items() if k in ("out_trade_no", "out_refund_no")}
        if not asked and request.body:
            with contextlib.suppress(WechatError):
                body = request.json_object()
                asked = {
                    k: body[k]
                    for k in ("out_refund_no", "out_trade_no")
                    if isinstance(body.get(k), str)
                }
        return bad_answers.bad_answer(self._faults.choice(bad_answers.SHAPES), response, asked)

    @contextmanager
    def _refund_in_flight(self, route: Route, out_refund_no: str | None) -> Iterator[None]:
        """WeChat answers 429 FREQUENCY_LIMITED to a refund whose earlier call is still running."""
        if route.operation != "refund" or out_refund_no is None:
            yield
            return
        with self._in_flight_guard:
            if out_refund_no in self._refunds_in_flight:
                raise WechatError(429, "FREQUENCY_LIMITED", "频率限制 (this refund is in progress)")
            self._refunds_in_flight.add(out_refund_no)
        try:
            yield
        finally:
            with self._in_flight_guard:
                self._refunds_in_flight.discard(out_refund_no)

    def _answer(self, request: Request, error: WechatError) -> Response:
        response = error_response(error)
        return self._signed(request, response) if request.path.startswith("/v3/") else response

    def _signed(self, request: Request, response: Response) -> Response:
        headers = self._signer.headers(response.body, request.headers.get("wechatpay-serial"))
        return Response(
            response.status,
            response.body,
            response.content_type,
            {**response.headers, **headers, "Request-ID": crypto.nonce(24)},
        )

    def _hang(self) -> None:
        # Long enough to outlast the caller's timeout; the caller never learns what happened.
        time.sleep(self._faults.seconds("hang_ms"))
        raise system_error("injected timeout")

    def _log_call(self, route: Route, request: Request, arguments: dict[str, str]) -> dict:
        key = next(iter(arguments.values()), None)
        if key is None and request.body:
            try:
                body = request.json_object()
            except WechatError:
                body = {}
            key = body.get("out_refund_no") or body.get("out_trade_no")
        call = {
            "operation": route.operation or route.handler.__name__,
            "method": request.method,
            "path": request.path,
            "key": key if isinstance(key, str) else None,
            "status": None,
            "at": time.time(),
        }
        return self._calls.record(call)

    # -- the v3 API ----------------------------------------------------------------------

    def healthz(self, request: Request) -> Response:
        return json_response({"status": "ok"})

    def create_native(self, request: Request) -> Response:
        return json_response(self._trades.create("NATIVE", request.json_object()))

    def create_h5(self, request: Request) -> Response:
        return json_response(self._trades.create("H5", request.json_object()))

    def query_by_out_trade_no(self, request: Request, out_trade_no: str) -> Response:
        answer = self._trades.query("out_trade_no", out_trade_no, request.query.get("mchid"))
        return json_response(answer)

    def query_by_transaction_id(self, request: Request, transaction_id: str) -> Response:
        answer = self._trades.query("transaction_id", transaction_id, request.query.get("mchid"))
        return json_response(answer)

    def close(self, request: Request, out_trade_no: str) -> Response:
        self._trades.close(out_trade_no, request.json_object())
        return NO_CONTENT

    def create_refund(self, request: Request) -> Response:
        return json_response(self._refunds.create(request.json_object()))

    def query_refund(self, request: Request, out_refund_no: str) -> Response:
        return json_response(self._refunds.get(out_refund_no))

    def trade_bill(self, request: Request) -> Response:
        return json_response(self._bills.apply(request.query))

    def download_bill(self, request: Request) -> Response:
        item = self._bills.download(request.query.get("token"))
        content_type = "application/x-gzip" if item.gzipped else "text/plain; charset=utf-8"
        return Response(200, item.content, content_type)

    def certificates(self, request: Request) -> Response:
        apiv3_key = self._signer.keys.apiv3_key
        entries = [
            {
                "serial_no": platform.serial,
                "effective_time": clock.rfc3339(
                    platform.certificate.not_valid_before_utc.timestamp()
                ),
                "expire_time": clock.rfc3339(platform.certificate.not_valid_after_utc.timestamp()),
                "encrypt_certificate": crypto.encrypt_resource(
                    apiv3_key,
                    platform.certificate.public_bytes(serialization.Encoding.PEM),
                    "certificate",
                ),
            }
            for platform in self._signer.keys.platform_certificates
        ]
        return json_response({"data": entries})

    # -- test doors ----------------------------------------------------------------------

    def pay(self, request: Request, out_trade_no: str) -> Response:
        body = request.json_object() if request.body.strip() else {}
        outcome = body.get("outcome", "SUCCESS")
        if outcome not in PAY_OUTCOMES:
            raise param_error(f"outcome must be one of {', '.join(PAY_OUTCOMES)}")
        trade = self._trades.pay("out_trade_no", out_trade_no, outcome)
        return json_response({"out_trade_no": out_trade_no, "trade_state": trade["trade_state"]})

    def wallet_page(self, request: Request, prepay_id: str) -> Response:
        trade = self._trades.for_wallet(prepay_id)
        if trade is None:
            return html_response(wallet.not_found_page(), 404)
        page = wallet.trade_page(
            trade,
            self._wallet_url(prepay_id),
            _redirect_url(request.query),
            just_paid=wallet_return.just_paid(request.query),
        )
        return wallet_return.page_response(page)

    def wallet_pay(self, request: Request, prepay_id: str) -> Response:
        form = dict(parse_qsl(request.body.decode("utf-8", "replace")))
        redirect_url = _redirect_url(form)
        try:
            self._trades.pay("prepay_id", prepay_id)
        except WechatError as error:
            trade = self._trades.for_wallet(prepay_id)
            if trade is None:
                return html_response(wallet.not_found_page(), 404)
            page = wallet.trade_page(
                trade, self._wallet_url(prepay_id), redirect_url, problem=error.message
            )
            return wallet_return.page_response(page, error.status)
        # Post/redirect/get: reloading the result page must not pay again.
        location = f"/_emulator/wallet/{quote(prepay_id)}"
        if redirect_url:
            location += f"?redirect_url={quote(redirect_url, safe='')}"
        return wallet_return.after_pay(location)

    def settle_refund(self, request: Request, out_refund_no: str) -> Response:
        status = request.json_object().get("status")
        return json_response(self._refunds.force(out_refund_no, status))

    def console_refund(self, request: Request, out_trade_no: str) -> Response:
        return json_response(self._refunds.create_at_console(out_trade_no, request.json_object()))

    def misstate_bill_summary(self, request: Request) -> Response:
        return json_response(self._bills.misstate_fee_total(request.json_object()))

    def rotate_certificate(self, request: Request) -> Response:
        body = request.json_object() if request.body.strip() else {}
        try:
            validity = keys.Validity(
                **{name: float(body[name]) for name in CERTIFICATE_VALIDITY if name in body}
            )
        except (TypeError, ValueError, OverflowError):
            raise param_error(
                f"{' and '.join(CERTIFICATE_VALIDITY)} are seconds from now"
            ) from None
        bounds = (validity.not_before_in, validity.not_after_in)
        if not all(abs(seconds) <= MAX_VALIDITY_SECONDS for seconds in bounds):
            raise param_error(f"validity must lie within {MAX_VALIDITY_SECONDS:g} s of now")
        if validity.not_after_in <= validity.not_before_in:
            raise param_error("not_after_in must come after not_before_in")
        identities = self._signer.rotate_certificate(validity)
        return json_response(
            {
                "serial_no": identities.platform_certificates[-1].serial,
                "current": identities.current_certificate.serial,
                "serials": [platform.serial for platform in identities.platform_certificates],
            }
        )

    def get_faults(self, request: Request) -> Response:
        return json_response(self._faults.snapshot())

    def set_faults(self, request: Request) -> Response:
        faults = request.json_object()
        unsupported = sorted(set(faults) - SUPPORTED_FAULTS)
        if unsupported:
            # refused rather than silently ignored: a test must not believe a fault is on
            raise param_error(f"faults not supported by this emulator yet: {unsupported}")
        try:
            return json_response(self._faults.replace(faults))
        except ApiError as error:
            raise param_error(error.message) from None

    def calls(self, request: Request) -> Response:
        return json_response(self._calls.matching(request.query, ("operation", "key")))

    def notifications(self, request: Request) -> Response:
        return json_response(notifier.list_attempts(self._store, request.query.get("subject")))

    def ledger(self, request: Request) -> Response:
        try:
            since = since_of(request.query)
        except ValueError as error:
            raise param_error(str(error)) from None
        return json_response(self._refunds.ledger(since))

    def _wallet_url(self, prepay_id: str) -> str:
        return f"{self._public_url}/_emulator/wallet/{quote(prepay_id)}"


def _redirect_url(values: dict[str, Any]) -> str | None:
    """The merchant's return URL when it is a plain http(s) URL; anything else is ignored."""
    value = values.get("redirect_url")
    if not isinstance(value, str) or len(value) > 2048:
        return None
    parts = urlsplit(value)
    return value if parts.scheme in ("http", "https") and parts.hostname else None
