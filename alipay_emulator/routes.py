"""The gateway and the test doors: routing, the common-parameter and signature check, fault
wrapping and answer signing.

``/gateway.do`` takes every API method (GET query or POST form). Each JSON answer, errors
included, is ``{"<method>_response": {...}, "sign": ...}`` signed with the Alipay key; a request
without a method Alipay knows is answered in ``error_response``. ``alipay.trade.wap.pay`` is a
buyer's browser arriving at the cashier, so it answers with pages. ``/_emulator/`` is for tests
and people only, never faulted nor signed; the bill file is not signed either (as at Alipay).
"""

import json
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from channel_sim import wallet as wallet_return
from channel_sim.calls import CallLog
from channel_sim.ledger import since_of
from channel_sim.web import Response, Route, find_route, html_response, json_response, redirect
from sandbox_channel.errors import ApiError
from sandbox_channel.faults import ApiFault, Faults
from wechatpay_emulator.web import Request

from . import bad_answers, clock, crypto, notifier, protocol, trades, validation, wallet
from .bills import Bills
from .errors import AlipayError, invalid_parameter, service_unavailable
from .keys import Keys
from .refunds import Refunds
from .store import Store
from .trades import Trades

WAP_PAY = "alipay.trade.wap.pay"
JSON_TYPE = "application/json;charset=utf-8"
DOOR_STATUS = {"ACQ.TRADE_NOT_EXIST": 404, "ACQ.INVALID_PARAMETER": 400}

# The sandbox's fault keys this emulator gives an Alipay meaning (docs/alipay.md, Faults).
SUPPORTED_FAULTS = {
    "api_error_rate",
    "api_timeout_rate",
    "api_latency_ms",
    "api_hang_rate",
    "bad_answer_rate",
    "hang_ms",
    "hang_long_ms",
    "query_stale_rate",
    "close_unknown_rate",
    "pay_after_expire",
    "notify_drop",
    "notify_duplicate",
    "notify_delay_ms",
    "notify_reorder",
    "reorder_window_ms",
    "notify_amount_tamper_rate",
    "seed",
}

Handler = Callable[[dict[str, Any], dict[str, str]], Any]


class App:
    def __init__(
        self,
        *,
        store: Store,
        faults: Faults,
        keys: Keys,
        trades: Trades,
        refunds: Refunds,
        bills: Bills,
    ):
        self._store = store
        self._faults = faults
        self._keys = keys
        self._trades = trades
        self._refunds = refunds
        self._bills = bills
        self._calls = CallLog()
        # method -> (fault-injection operation, handler of biz_content and the common params)
        self._methods: dict[str, tuple[str, Handler]] = {
            "alipay.trade.precreate": ("create", self._trades.precreate),
            WAP_PAY: ("create", self._wap_pay),
            "alipay.trade.query": ("query", lambda biz, _: self._trades.query(biz)),
            "alipay.trade.close": ("close", lambda biz, _: self._trades.close(biz)),
            "alipay.trade.refund": ("refund", lambda biz, _: self._refunds.refund(biz)),
            "alipay.trade.fastpay.refund.query": (
                "refund_query",
                lambda biz, _: self._refunds.query(biz),
            ),
            "alipay.data.dataservice.bill.downloadurl.query": (
                "statement",
                lambda biz, _: self._bills.download_url(biz),
            ),
        }
        segment = "(?P<{}>[^/]+)"
        wallet_page = "/_emulator/wallet/" + segment.format("wallet_id")
        table = [
            ("GET", "/healthz", self.healthz),
            ("GET", "/gateway.do", self.gateway),
            ("POST", "/gateway.do", self.gateway),
            ("GET", "/downloadBillFile.resource", self.download_bill),
            ("POST", "/_emulator/pay/" + segment.format("out_trade_no"), self.pay),
            ("POST", "/_emulator/finish/" + segment.format("out_trade_no"), self.finish),
            ("POST", "/_emulator/refund/" + segment.format("out_trade_no"), self.console_refund),
            ("GET", wallet_page, self.wallet_page),
            ("POST", wallet_page + "/pay", self.wallet_pay),
            ("GET", "/_emulator/faults", self.get_faults),
            ("POST", "/_emulator/faults", self.set_faults),
            ("GET", "/_emulator/calls", self.calls),
            ("GET", "/_emulator/notifications", self.notifications),
            ("GET", "/_emulator/ledger", self.ledger),
        ]
        self._routes = [Route(method, re.compile(path), handler) for method, path, handler in table]

    def __call__(self, request: Request) -> Response:
        route, arguments, path_known = find_route(self._routes, request)
        if route is not None:
            try:
                return route.handler(request, **arguments)
            except AlipayError as error:
                return _door_error(error)
        if path_known:
            return json_response({"code": "METHOD_NOT_ALLOWED", "msg": request.method}, 405)
        return json_response({"code": "NOT_FOUND", "msg": f"no route {request.path}"}, 404)

    # -- the gateway ---------------------------------------------------------------------

    def gateway(self, request: Request) -> Response:
        try:
            params = protocol.parameters(request)
        except AlipayError as error:
            return self._signed(protocol.response_key(None), error.fields())
        method = params.get("method")
        known = method in self._methods
        response_key = protocol.response_key(method if known else None)
        call = self._log_call(method, params)
        try:
            protocol.check(params, self._keys, known)
            operation, handler = self._methods[method]
            biz = protocol.biz_content(params)
            result = self._faulted(call, operation, lambda: handler(biz, params))
        except AlipayError as error:
            call.update(code=error.code, sub_code=error.sub_code)
            if method == WAP_PAY:
                return html_response(wallet.error_page(error.sub_code, error.sub_msg))
            return self._signed(response_key, error.fields())
        if isinstance(result, Response):
            call["code"] = None if call["fault"] else "10000"  # a bad answer has no code
            return result
        call["code"] = result.get("code")
        return self._signed(response_key, result)

    def _wap_pay(self, biz: dict[str, Any], params: dict[str, str]) -> Response:
        trade = self._trades.wap_pay(biz, params)
        return redirect(f"/_emulator/wallet/{quote(trade['wallet_id'])}")

    def _faulted(self, call: dict[str, Any], operation: str, work: Callable[[], Any]) -> Any:
        """The work's answer (fields or a page) as the fault settings let the caller see it."""
        latency = self._faults.random_delay("api_latency_ms")
        if latency:
            time.sleep(latency)
        fault = self._faults.api_fault(operation)
        call["fault"] = fault.value if fault else None
        if fault is ApiFault.ERROR:
            raise service_unavailable()
        if fault is ApiFault.TIMEOUT_BEFORE_WORK:
            self._hang()
        if fault is ApiFault.BAD_ANSWER_BEFORE_WORK:
            return self._bad_answer(call, None)
        try:
            outcome = work()
        except AlipayError as error:
            outcome = error
        # Also when the work answered an error: the caller still learns nothing, or learns late.
        if fault is ApiFault.TIMEOUT_AFTER_WORK:
            self._hang()
        if fault is ApiFault.HANG:
            time.sleep(self._faults.seconds("hang_long_ms"))
        if fault is ApiFault.BAD_ANSWER_AFTER_WORK and not isinstance(outcome, Response):
            fields = outcome.fields() if isinstance(outcome, AlipayError) else outcome
            return self._bad_answer(call, fields)
        if isinstance(outcome, AlipayError):
            raise outcome
        return outcome

    def _bad_answer(self, call: dict[str, Any], fields: dict[str, Any] | None) -> Response:
        shape = self._faults.choice(bad_answers.SHAPES)
        call["fault"] = f"{call['fault']}:{shape}"
        response_key = protocol.response_key(call["method"])
        asked = {"out_trade_no": call["key"]} if call["key"] else {}
        return bad_answers.bad_answer(
            shape, self._keys.alipay_private_key, response_key, fields, asked
        )

    def _hang(self) -> None:
        # Long enough to outlast the caller's timeout; the caller never learns what happened.
        time.sleep(self._faults.seconds("hang_ms"))
        raise service_unavailable()

    def _signed(self, response_key: str, fields: dict[str, Any]) -> Response:
        body = crypto.signed_answer(self._keys.alipay_private_key, response_key, fields)
        return Response(200, body, JSON_TYPE)

    def _log_call(self, method: str | None, params: dict[str, str]) -> dict[str, Any]:
        try:
            biz = protocol.biz_content(params)
        except AlipayError:
            biz = {}
        key = biz.get("out_request_no") or biz.get("out_trade_no") or biz.get("trade_no")
        operation = self._methods.get(method or "", (None,))[0]
        call = {
            "operation": operation,
            "method": method,
            "key": key if isinstance(key, str) else None,
            "code": None,
            "sub_code": None,
            "fault": None,
            "at": time.time(),
        }
        return self._calls.record(call)

    def healthz(self, request: Request) -> Response:
        return json_response({"status": "ok"})

    def download_bill(self, request: Request) -> Response:
        item = self._bills.download(request.query.get("token"))
        if item is None:
            return Response(404, b"the download URL is unknown or expired", "text/plain")
        disposition = f"attachment; filename*=UTF-8''{quote(item.file_name)}"
        return Response(
            200, item.content, "application/octet-stream", {"Content-Disposition": disposition}
        )

    # -- test doors ----------------------------------------------------------------------

    def pay(self, request: Request, out_trade_no: str) -> Response:
        return json_response(_door_view(self._trades.pay("out_trade_no", out_trade_no)))

    def finish(self, request: Request, out_trade_no: str) -> Response:
        return json_response(_door_view(self._trades.finish(out_trade_no)))

    def console_refund(self, request: Request, out_trade_no: str) -> Response:
        body = _door_object(request, "the refund")
        return json_response(self._refunds.refund_at_console(out_trade_no, body))

    def wallet_page(self, request: Request, wallet_id: str) -> Response:
        trade = self._trades.open(wallet_id)
        if trade is None:
            return html_response(wallet.not_found_page(), 404)
        page = wallet.trade_page(
            trade,
            self._trades.wallet_url(trade),
            self._return_url(trade),
            just_paid=wallet_return.just_paid(request.query),
        )
        return wallet_return.page_response(page)

    def wallet_pay(self, request: Request, wallet_id: str) -> Response:
        try:
            trade = self._trades.pay("wallet_id", wallet_id)
        except AlipayError as error:
            trade = self._trades.for_wallet(wallet_id)
            if trade is None:
                return html_response(wallet.not_found_page(), 404)
            page = wallet.trade_page(
                trade, self._trades.wallet_url(trade), None, problem=error.sub_msg
            )
            return wallet_return.page_response(page, 409)
        # Post/redirect/get: reloading never pays again; a WAP buyer is sent on to the merchant
        # from the page (channel_sim.wallet), so Back from the merchant does not bounce.
        return wallet_return.after_pay(f"/_emulator/wallet/{quote(wallet_id)}")

    def get_faults(self, request: Request) -> Response:
        return json_response(self._faults.snapshot())

    def set_faults(self, request: Request) -> Response:
        faults = _door_object(request, "faults")
        unsupported = sorted(set(faults) - SUPPORTED_FAULTS)
        if unsupported:
            # refused rather than silently ignored: a test must not believe a fault is on
            raise invalid_parameter(f"faults not supported by this emulator yet: {unsupported}")
        try:
            return json_response(self._faults.replace(faults))
        except ApiError as error:
            raise invalid_parameter(error.message) from None

    def calls(self, request: Request) -> Response:
        return json_response(self._calls.matching(request.query, ("operation", "method", "key")))

    def notifications(self, request: Request) -> Response:
        return json_response(notifier.list_attempts(self._store, request.query.get("subject")))

    def ledger(self, request: Request) -> Response:
        try:
            since = since_of(request.query)
        except ValueError as error:
            raise invalid_parameter(str(error)) from None
        return json_response(self._refunds.ledger(since))

    def _return_url(self, trade) -> str | None:
        """The merchant's return_url with Alipay's signed return parameters, once paid."""
        if not trade["return_url"] or trade["trade_status"] not in trades.PAID:
            return None
        params = crypto.signed_params(
            self._keys.alipay_private_key,
            {
                "charset": "utf-8",
                "out_trade_no": trade["out_trade_no"],
                "method": "alipay.trade.wap.pay.return",
                "total_amount": validation.yuan(trade["total"]),
                "trade_no": trade["trade_no"],
                "auth_app_id": self._keys.app_id,
                "version": "1.0",
                "app_id": self._keys.app_id,
                "sign_type": "RSA2",
                "seller_id": self._keys.seller_id,
                "timestamp": clock.china_time(clock.now()),
            },
        )
        separator = "&" if "?" in trade["return_url"] else "?"
        return trade["return_url"] + separator + urlencode(params)


def _door_object(request: Request, what: str) -> dict[str, Any]:
    """A test door's JSON body (empty is {}); anything but an object is refused."""
    try:
        body = json.loads(request.body) if request.body.strip() else {}
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise invalid_parameter(f"{what} must be a JSON object")
    return body


def _door_view(trade) -> dict[str, Any]:
    return {
        "out_trade_no": trade["out_trade_no"],
        "trade_no": trade["trade_no"],
        "trade_status": trade["trade_status"],
    }


def _door_error(error: AlipayError) -> Response:
    payload = {"code": error.sub_code, "msg": error.sub_msg}
    return json_response(payload, DOOR_STATUS.get(error.sub_code, 409))
