"""The contract every channel adapter passes against its local server before anything else.

One suite, parametrized over CHANNELS: adding an adapter is one line there (its factory and the
fixture of the server it talks to: the sandbox today, each channel's emulator tomorrow). A
server offers the buyer's door (``pay``) and the shared fault settings (``set_faults`` with
the sandbox's keys: ``api_error_rate``, ``api_timeout_rate``, ``hang_ms``; ``reset_faults``).
The adapter talks to it through a proxy that can garble answers, so malformed answers are the
same for every channel. Adapters are driven directly: no database.
"""

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

import pytest

from payments.channels.alipay import AlipayChannel
from payments.channels.base import (
    Channel,
    ChannelUnavailable,
    CreateTrade,
    NotificationRejected,
    PayActionType,
    RefundRef,
    RefundRequest,
    RefundResult,
    RefundResultStatus,
    RejectReason,
    StatementLineKind,
    TradeRef,
    TradeResult,
    TradeStatus,
)
from payments.channels.sandbox import SandboxChannel
from payments.channels.wechatpay import WechatpayChannel
from payments.enums import PaymentClient
from tests.channels.contract.proxy import GARBLINGS, SIGNED_ONLY, GarblingProxy
from tests.channels.contract.receiver import CallbackReceiver
from tests.conftest import TEST_SECRET
from tests.helpers import wait_for

# A slow machine answers late, which is not a hang: the adapters wait as long as a channel may
# take. Only the hang tests wait less, so a hanging server is a timeout quickly.
TIMEOUT_SECONDS = 5
HANG_TIMEOUT_SECONDS = 0.5


def _without_signature_headers(headers: dict[str, str], body: bytes) -> tuple[dict, bytes]:
    kept = ("content-type", "content-length", "host", "user-agent")
    return {name: value for name, value in headers.items() if name.lower() in kept}, body


def _form_without_sign(headers: dict[str, str], body: bytes) -> tuple[dict, bytes]:
    """Alipay signs inside the form: its sign and sign_type go."""
    fields = [
        (name, value) for name, value in parse_qsl(body.decode()) if not name.startswith("sign")
    ]
    return headers, urlencode(fields).encode()


@dataclass(frozen=True)
class ChannelUnderTest:
    name: str
    server_fixture: str  # a running server: url, pay(out_trade_no), set_faults, reset_faults
    # (server, base URL to use instead of the server's, timeout) -> an adapter talking to it
    adapter: Callable[[Any, str, float], Channel]
    # fault settings that make this server settle refunds later (and so notify them)
    async_refund_faults: dict[str, Any] = field(default_factory=dict)
    # the server's own wrong-shaped answers, if it has them (sandbox: bad_answer_rate)
    bad_answer_fault: str | None = None
    # answers carry a signature the adapter checks (any changed byte is then unknown)
    signed_answers: bool = False
    currency: str = "CNY"
    # the channel numbers a trade at create (sandbox), or only once it is paid (WeChat Pay)
    trade_no_at_create: bool = True
    # a QR trade exists at the channel only once the buyer opens the code (Alipay's precreate):
    # until then it is not found and has no channel trade number; server.open_qr(qr) opens it
    lazy_qr: bool = False
    # (headers, body) of a callback -> the same callback without its signature
    unsigned_callback: Callable[[dict, bytes], tuple[dict, bytes]] = _without_signature_headers


def _wechatpay(server, base_url: str, timeout: float) -> WechatpayChannel:
    manifest = server.data_dir / "keys" / "manifest.json" if server else ""
    return WechatpayChannel(
        code="wechatpay", base_url=base_url, manifest_file=str(manifest), timeout=timeout
    )


CHANNELS = [
    ChannelUnderTest(
        "sandbox",
        "sandbox_process",
        lambda server, base_url, timeout: SandboxChannel(
            code="sandbox", base_url=base_url, secret=TEST_SECRET, timeout=timeout
        ),
        async_refund_faults={"refund_async": True, "refund_async_ms": 300},
        bad_answer_fault="bad_answer_rate",
    ),
    ChannelUnderTest(
        "wechatpay",
        "wechatpay_process",
        _wechatpay,
        async_refund_faults={"refund_async": True, "refund_async_ms": 300},
        bad_answer_fault="bad_answer_rate",
        signed_answers=True,
        trade_no_at_create=False,
    ),
    ChannelUnderTest(
        "alipay",
        "alipay_process",
        lambda server, base_url, timeout: AlipayChannel(
            code="alipay",
            gateway_url=f"{base_url}/gateway.do",
            manifest_file=server.data_dir / "keys" / "manifest.json" if server else "",
            timeout=timeout,
        ),
        bad_answer_fault="bad_answer_rate",
        signed_answers=True,
        trade_no_at_create=False,
        lazy_qr=True,
        unsigned_callback=_form_without_sign,
    ),
]


@dataclass
class Contract:
    under_test: ChannelUnderTest
    server: Any
    adapter: Channel
    receiver: CallbackReceiver
    proxy: GarblingProxy

    def create(
        self, amount: int = 1234, client: PaymentClient = PaymentClient.PC, scan: bool = True
    ):
        """(trade reference, pay action) of a new trade whose callbacks reach the receiver; a
        lazy QR is scanned (``scan``), so the trade exists at the channel."""
        out_trade_no = "P" + secrets.token_hex(12)
        action = self.adapter.create_trade(
            CreateTrade(
                out_trade_no=out_trade_no,
                amount=amount,
                currency=self.under_test.currency,
                subject="Contract test",
                notify_url=f"{self.receiver.url}/trade/{out_trade_no}",
                time_expire=datetime.now(UTC) + timedelta(minutes=10),
                client=client,
                return_url="http://127.0.0.1:9/return",
            )
        )
        if scan and self.under_test.lazy_qr and action.type == PayActionType.QR:
            assert self.server.open_qr(action.qr_content).ok
        ref = TradeRef(out_trade_no, channel_trade_no=action.channel_trade_no, refs=action.refs)
        return ref, action

    def paid(self, amount: int = 1234) -> TradeRef:
        """A paid trade's reference, with the channel's number once paid (as the services keep
        it from the success) when create did not say it."""
        ref, _ = self.create(amount)
        assert self.server.pay(ref.out_trade_no).ok
        if ref.channel_trade_no is None:
            ref = replace(ref, channel_trade_no=self.adapter.query_trade(ref).channel_trade_no)
        return ref

    def refund(self, trade: TradeRef, amount: int, total: int) -> tuple[RefundRef, RefundResult]:
        out_refund_no = "R" + secrets.token_hex(12)
        result = self.adapter.refund(
            RefundRequest(
                trade=trade,
                out_refund_no=out_refund_no,
                amount=amount,
                total_amount=total,
                currency=self.under_test.currency,
                notify_url=f"{self.receiver.url}/refund/{out_refund_no}",
            )
        )
        ref = RefundRef(
            out_refund_no,
            trade=trade,
            channel_refund_no=result.channel_refund_no,
            refs=result.refs,
        )
        return ref, result

    def refund_settled(self, ref: RefundRef) -> RefundResult:
        return wait_for(
            lambda: _final(self.adapter.query_refund(ref)), timeout=15, what="a final refund"
        )

    def today(self) -> date:
        availability = self.adapter.capabilities.statement
        return datetime.now(ZoneInfo(availability.time_zone)).date()


def _final(result: RefundResult) -> RefundResult | None:
    final = (RefundResultStatus.SUCCEEDED, RefundResultStatus.FAILED)
    return result if result.status in final else None


def applies_to(condition: Callable[[ChannelUnderTest, Any], bool]):
    """A contract test that concerns only the channels meeting ``condition(under_test,
    capabilities)``: it is not generated for the others (nothing is skipped)."""

    def mark(test):
        test.applies_to = condition
        return test

    return mark


def pytest_generate_tests(metafunc):
    """Each contract test runs once per channel it concerns; the malformed-answer test once per
    (channel, garbling) pair that channel can be expected to catch."""
    if "contract" not in metafunc.fixturenames:
        return
    condition = getattr(metafunc.function, "applies_to", lambda under_test, capabilities: True)
    channels = [
        under_test
        for under_test in CHANNELS
        if condition(
            under_test, under_test.adapter(None, "http://127.0.0.1:9", TIMEOUT_SECONDS).capabilities
        )
    ]
    if "garbling" in metafunc.fixturenames:
        pairs = [
            pytest.param(under_test, garbling, id=f"{under_test.name}-{garbling}")
            for under_test in channels
            for garbling in GARBLINGS
            if garbling not in SIGNED_ONLY or under_test.signed_answers
        ]
        metafunc.parametrize(("contract", "garbling"), pairs, indirect=["contract"])
    else:
        ids = [under_test.name for under_test in channels]
        metafunc.parametrize("contract", channels, indirect=True, ids=ids)


@pytest.fixture
def contract(request):
    under_test: ChannelUnderTest = request.param
    server = request.getfixturevalue(under_test.server_fixture)
    server.reset_faults()
    with GarblingProxy(server.url) as proxy:
        adapter = under_test.adapter(server, proxy.url, TIMEOUT_SECONDS)
        with CallbackReceiver(adapter.acknowledgement()) as receiver:
            yield Contract(under_test, server, adapter, receiver, proxy)
    server.reset_faults()


def test_a_created_trade_is_waiting(contract):
    ref, action = contract.create()

    assert action.type == PayActionType.QR and action.qr_content
    assert bool(action.channel_trade_no) == contract.under_test.trade_no_at_create
    result = contract.adapter.query_trade(ref)
    assert (result.out_trade_no, result.status) == (ref.out_trade_no, TradeStatus.PAYING)


@applies_to(lambda under_test, capabilities: under_test.lazy_qr)
def test_a_lazy_qr_is_not_found_until_scanned_then_waiting(contract):
    ref, action = contract.create(scan=False)

    assert contract.adapter.query_trade(ref).status == TradeStatus.NOT_FOUND
    assert contract.adapter.close_trade(ref).status == TradeStatus.NOT_FOUND
    # a close answered "not found" does not end the code: it stays payable
    assert contract.server.open_qr(action.qr_content).ok
    assert contract.adapter.query_trade(ref).status == TradeStatus.PAYING


def test_a_mobile_trade_redirects(contract):
    _, action = contract.create(client=PaymentClient.MOBILE)

    assert action.type == PayActionType.REDIRECT
    assert action.url.startswith("http")


def test_a_payment_is_notified_verifiably_and_queried_as_succeeded(contract):
    ref = contract.paid(amount=1234)

    callback = contract.receiver.first(f"/trade/{ref.out_trade_no}")
    notification = contract.adapter.parse_notification(callback.headers, callback.body)
    assert isinstance(notification.result, TradeResult)
    queried = contract.adapter.query_trade(ref)
    assert queried.channel_trade_no
    assert ref.channel_trade_no in (None, queried.channel_trade_no)
    assert _facts(notification.result) == (
        ref.out_trade_no,
        TradeStatus.SUCCEEDED,
        1234,
        contract.under_test.currency,
        queried.channel_trade_no,
    )
    assert notification.nonce
    assert abs(notification.timestamp - datetime.now(UTC)) < timedelta(minutes=1)
    assert _facts(queried) == _facts(notification.result)
    assert queried.paid_at is not None and queried.paid_at.tzinfo is not None


def _facts(result: TradeResult) -> tuple:
    return (
        result.out_trade_no,
        result.status,
        result.amount,
        result.currency,
        result.channel_trade_no,
    )


def test_calls_from_one_thread_keep_one_connection_open(contract):
    # a real channel is reached over TLS: a new connection per call is a handshake, a round
    # trip or two, that a waiting buyer pays for
    for _ in range(3):
        contract.adapter.query_trade(TradeRef("P" + secrets.token_hex(12)))

    assert contract.proxy.connections == 1


def test_an_unknown_trade_is_not_found(contract):
    result = contract.adapter.query_trade(TradeRef("P" + secrets.token_hex(12)))

    assert result.status == TradeStatus.NOT_FOUND


def test_a_refund_is_answered_and_settles(contract):
    trade = contract.paid(amount=1000)

    ref, answered = contract.refund(trade, amount=1000, total=1000)

    assert answered.out_refund_no == ref.out_refund_no
    assert answered.status in (RefundResultStatus.PROCESSING, RefundResultStatus.SUCCEEDED)
    settled = contract.refund_settled(ref)
    assert (settled.out_refund_no, settled.status, settled.amount) == (
        ref.out_refund_no,
        RefundResultStatus.SUCCEEDED,
        1000,
    )
    assert settled.currency in (None, contract.under_test.currency)


@applies_to(lambda under_test, capabilities: capabilities.partial_refunds)
def test_a_partial_refund_leaves_the_rest(contract):
    trade = contract.paid(amount=1000)

    first, _ = contract.refund(trade, amount=300, total=1000)
    second, _ = contract.refund(trade, amount=700, total=1000)

    amounts = [contract.refund_settled(ref).amount for ref in (first, second)]
    assert amounts == [300, 700]


def test_an_unknown_refund_is_not_found(contract):
    trade = contract.paid()
    ref = RefundRef("R" + secrets.token_hex(12), trade=trade)

    assert contract.adapter.query_refund(ref).status == RefundResultStatus.NOT_FOUND


@applies_to(lambda under_test, caps: caps.async_refunds and caps.refund_notifications)
def test_a_refund_settled_later_is_notified_when_the_channel_says_it_does(contract):
    trade = contract.paid(amount=800)
    contract.server.set_faults(contract.under_test.async_refund_faults)

    ref, _ = contract.refund(trade, amount=800, total=800)

    callback = contract.receiver.first(f"/refund/{ref.out_refund_no}")
    notification = contract.adapter.parse_notification(callback.headers, callback.body)
    assert isinstance(notification.result, RefundResult)
    result = notification.result
    assert (result.out_refund_no, result.status, result.amount) == (
        ref.out_refund_no,
        RefundResultStatus.SUCCEEDED,
        800,
    )
    assert result.out_trade_no in (None, trade.out_trade_no)


@applies_to(lambda under_test, capabilities: capabilities.statement is not None)
def test_the_statement_lists_the_payment_and_the_refund(contract):
    trade = contract.paid(amount=1500)
    refund, _ = contract.refund(trade, amount=500, total=1500)
    contract.refund_settled(refund)

    statement = contract.adapter.statement_lines(contract.today())

    assert statement.raw and statement.day == contract.today()
    by_kind = {(line.kind, line.out_trade_no, line.out_refund_no): line for line in statement.lines}
    payment = by_kind[(StatementLineKind.PAYMENT, trade.out_trade_no, None)]
    assert (payment.amount, payment.currency, payment.channel_trade_no) == (
        1500,
        contract.under_test.currency,
        trade.channel_trade_no,
    )
    refunded = by_kind[(StatementLineKind.REFUND, trade.out_trade_no, refund.out_refund_no)]
    assert refunded.amount == 500
    assert payment.time.tzinfo is not None and refunded.time.tzinfo is not None


def test_close_before_pay_closes(contract):
    ref, _ = contract.create()

    closed = contract.adapter.close_trade(ref)

    assert (closed.out_trade_no, closed.status) == (ref.out_trade_no, TradeStatus.CLOSED)
    assert contract.adapter.query_trade(ref).status == TradeStatus.CLOSED


def test_close_after_pay_reports_the_success(contract):
    ref = contract.paid(amount=900)

    result = contract.adapter.close_trade(ref)

    assert (result.status, result.amount) == (TradeStatus.SUCCEEDED, 900)
    assert contract.adapter.query_trade(ref).status == TradeStatus.SUCCEEDED


def test_references_survive_being_stored_as_json(contract):
    """What create and refund return is kept in a JSON column and handed back: it must come
    back whole, and calls made with the stored copy must find the same trade and refund."""
    created, action = contract.create(amount=600)
    stored = json.loads(json.dumps({"channel_trade_no": action.channel_trade_no, **action.refs}))
    trade = TradeRef(
        created.out_trade_no,
        channel_trade_no=stored.pop("channel_trade_no"),
        refs=stored,
    )
    assert trade == created
    assert contract.server.pay(trade.out_trade_no).ok
    queried = contract.adapter.query_trade(trade)
    assert queried.channel_trade_no == (action.channel_trade_no or queried.channel_trade_no)
    assert queried.status == TradeStatus.SUCCEEDED
    assert queried.channel_trade_no

    refund, answered = contract.refund(trade, amount=600, total=600)
    again = replace(refund, refs=json.loads(json.dumps(dict(answered.refs))))
    assert contract.refund_settled(again).out_refund_no == refund.out_refund_no


def test_a_tampered_callback_is_rejected_as_a_bad_signature(contract):
    ref = contract.paid()
    callback = contract.receiver.first(f"/trade/{ref.out_trade_no}")
    tampered = callback.body.replace(ref.out_trade_no.encode(), b"P" + b"0" * 24)
    if tampered == callback.body:  # an encrypted body does not show the number: flip a byte
        tampered = callback.body[:-2] + bytes([callback.body[-2] ^ 1]) + callback.body[-1:]

    with pytest.raises(NotificationRejected) as rejected:
        contract.adapter.parse_notification(callback.headers, tampered)

    assert rejected.value.reason == RejectReason.BAD_SIGNATURE


def test_an_unsigned_callback_is_rejected_as_missing_its_signature(contract):
    ref = contract.paid()
    callback = contract.receiver.first(f"/trade/{ref.out_trade_no}")
    headers, body = contract.under_test.unsigned_callback(callback.headers, callback.body)

    with pytest.raises(NotificationRejected) as rejected:
        contract.adapter.parse_notification(headers, body)

    assert rejected.value.reason == RejectReason.MISSING_SIGNATURE


# --- what is not a definite answer is UNKNOWN -------------------------------------------------

OPERATIONS = ["create", "query", "close", "refund", "refund_query"]
SERVER_FAULTS = {
    # the server hangs longer than the adapter waits (HANG_TIMEOUT_SECONDS)
    "timeout": {"api_timeout_rate": 1, "hang_ms": 2000},
    "5xx": {"api_error_rate": 1},
}


def _prepared(contract: Contract, operation: str, tries: int = 1):
    """The call of ``operation``, with what it needs made before any fault applies. It returns
    (the number asked about, the answer; None for create)."""
    trade = contract.paid() if operation.startswith("refund") else None
    refund = None
    if operation == "refund_query":
        refund, _ = contract.refund(trade, amount=1234, total=1234)
    # a trade of its own for each try: a close that once went through (its answer garbled)
    # would make the next try a different question
    refs = [contract.create()[0] for _ in range(tries)] if operation in ("query", "close") else []

    def call():
        if operation == "create":
            return contract.create()[0].out_trade_no, None
        if operation == "refund":
            asked, answer = contract.refund(trade, amount=1, total=1234)
            return asked.out_refund_no, answer
        if operation == "refund_query":
            return refund.out_refund_no, contract.adapter.query_refund(refund)
        adapter_call = getattr(contract.adapter, f"{operation}_trade")
        ref = refs.pop()
        return ref.out_trade_no, adapter_call(ref)

    return call


def _no_definite_answer(call, tries: int = 1) -> None:
    """ChannelUnavailable, an UNKNOWN status, or an answer about another number than the one
    asked (which the services treat as unknown): never a definite answer, never a crash."""
    for _ in range(tries):
        try:
            asked, answer = call()
        except ChannelUnavailable:
            continue
        assert answer is not None, "create answered definitely"
        about = getattr(answer, "out_refund_no", None) or answer.out_trade_no
        unknown = answer.status in (TradeStatus.UNKNOWN, RefundResultStatus.UNKNOWN)
        assert unknown or about != asked, answer


@pytest.mark.parametrize("fault", SERVER_FAULTS)
@pytest.mark.parametrize("operation", OPERATIONS)
def test_a_timeout_or_a_5xx_is_unknown(contract, operation, fault):
    faults = {
        key: {operation: value} if key.endswith("_rate") else value
        for key, value in SERVER_FAULTS[fault].items()
    }
    call = _prepared(contract, operation)
    contract.adapter = contract.under_test.adapter(
        contract.server, contract.proxy.url, HANG_TIMEOUT_SECONDS
    )
    contract.server.set_faults(faults)
    _no_definite_answer(call)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_a_malformed_answer_is_unknown(contract, operation, garbling):
    # a changed byte that still parses is caught only by a channel whose answers are signed
    call = _prepared(contract, operation)
    contract.proxy.garble = GARBLINGS[garbling]
    _no_definite_answer(call)


@applies_to(lambda under_test, capabilities: under_test.bad_answer_fault is not None)
@pytest.mark.parametrize("operation", OPERATIONS)
def test_the_servers_own_wrong_answers_are_unknown(contract, operation):
    fault = contract.under_test.bad_answer_fault
    # seeded: each try another shape, the same shapes on every run
    call = _prepared(contract, operation, tries=8)
    contract.server.set_faults({fault: {operation: 1}, "seed": 11})
    _no_definite_answer(call, tries=8)


def test_a_refusal_is_never_the_success_answer(contract):
    # the channel must send a refused or unprocessed notification again
    success = contract.adapter.acknowledgement()
    for status in (400, 503):
        refused = contract.adapter.refusal(status, RejectReason.BAD_SIGNATURE, "does not verify")
        assert refused[0] == status and refused != success
