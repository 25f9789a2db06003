"""The sandbox's fault keys on WeChat's semantics, hostile input (never a 500), concurrency and
crashes: the emulator is a real peer to defend against, not a kind one."""

import json
import random
import threading
import time

import pytest
import requests

from wechatpay_emulator.runner import EmulatorProcess

from .conftest import SCHEDULE, Merchant, new_out_trade_no, sdk_client


def _paid(native_order, emulator, total=100):
    out_trade_no, code, _ = native_order(total=total)
    assert code == 200
    assert emulator.pay(out_trade_no).status_code == 200
    return out_trade_no


def test_faults_take_the_sandbox_keys_and_refuse_bad_ones(emulator):
    faults = {"api_error_rate": {"create": 0.5}, "notify_drop": 0.1, "seed": 7}
    assert emulator.set_faults(faults) == faults
    assert emulator.request("GET", "/_emulator/faults").json() == faults
    # a sandbox key this emulator gives no meaning yet is refused, never silently ignored
    not_here = {"lazy_trades": True}
    for bad in ({"nonsense": 1}, {"notify_drop": 2}, {"api_error_rate": {"pay": 1}}, [1], not_here):
        answer = emulator.request("POST", "/_emulator/faults", json=bad)
        assert (answer.status_code, answer.json()["code"]) == (400, "PARAM_ERROR")
    assert emulator.request("GET", "/_emulator/faults").json() == faults  # left in place


def test_api_error_fault_is_a_signed_system_error_that_did_nothing(native_order, wxpay, emulator):
    emulator.set_faults({"api_error_rate": {"create": 1}})
    out_trade_no, code, answer = native_order()
    assert (code, answer["code"]) == (500, "SYSTEM_ERROR")
    emulator.reset_faults()
    code, text = wxpay.query(out_trade_no=out_trade_no)
    assert (code, json.loads(text)["code"]) == (404, "ORDER_NOT_EXIST")
    calls = emulator.calls(operation="create", key=None)
    assert calls[-1]["status"] == 500


def test_timeout_fault_hangs_then_answers_system_error(native_order, wxpay, emulator):
    out_trade_no, _, _ = native_order()
    emulator.set_faults({"api_timeout_rate": {"query": 1}, "hang_ms": 300})
    code, text = wxpay.query(out_trade_no=out_trade_no)
    assert (code, json.loads(text)["code"]) == (500, "SYSTEM_ERROR")


def test_close_unknown_fault_leaves_the_order_payable(native_order, wxpay, emulator):
    out_trade_no, _, _ = native_order()
    emulator.set_faults({"close_unknown_rate": 1})
    code, text = wxpay.close(out_trade_no)
    assert (code, json.loads(text)["code"]) == (500, "SYSTEM_ERROR")
    assert emulator.pay(out_trade_no).status_code == 200


def test_query_stale_fault_shows_a_paid_order_unpaid(native_order, wxpay, emulator):
    out_trade_no = _paid(native_order, emulator)
    emulator.set_faults({"query_stale_rate": 1})
    assert json.loads(wxpay.query(out_trade_no=out_trade_no)[1])["trade_state"] == "NOTPAY"
    emulator.reset_faults()
    assert json.loads(wxpay.query(out_trade_no=out_trade_no)[1])["trade_state"] == "SUCCESS"


def test_pay_after_expire_fault_pays_a_closed_order(native_order, wxpay, emulator):
    out_trade_no, _, _ = native_order()
    assert wxpay.close(out_trade_no)[0] == 204
    assert emulator.pay(out_trade_no).status_code == 409
    emulator.set_faults({"pay_after_expire": True})
    assert emulator.pay(out_trade_no).status_code == 200
    assert json.loads(wxpay.query(out_trade_no=out_trade_no)[1])["trade_state"] == "SUCCESS"


def test_notify_drop_fault_drops_every_attempt(native_order, emulator, receiver, eventually):
    emulator.set_faults({"notify_drop": 1})
    out_trade_no = _paid(native_order, emulator)
    assert eventually(lambda: len(emulator.notifications(out_trade_no)) == len(SCHEDULE))
    assert {attempt["status"] for attempt in emulator.notifications(out_trade_no)} == {"dropped"}
    assert receiver.received == []


def test_notify_duplicate_fault_sends_twice(native_order, wxpay, emulator, receiver):
    emulator.set_faults({"notify_duplicate": 1})
    out_trade_no = _paid(native_order, emulator)
    received = receiver.wait_for(2)
    assert len(received) == 2
    events = [wxpay.callback(r.headers, r.body) for r in received]
    assert {event["id"] for event in events} == {events[0]["id"]}  # one event, sent twice
    assert events[0]["resource"]["out_trade_no"] == out_trade_no


def test_payerror_outcome(native_order, wxpay, emulator, receiver):
    out_trade_no, _, _ = native_order()
    assert emulator.pay(out_trade_no, outcome="PAYERROR").json()["trade_state"] == "PAYERROR"
    assert json.loads(wxpay.query(out_trade_no=out_trade_no)[1])["trade_state"] == "PAYERROR"
    assert receiver.wait_for(1, timeout=0.5) == []  # WeChat only notifies successes
    assert emulator.pay(out_trade_no).status_code == 200  # the buyer tries again


def test_signed_garbage_is_a_4xx_never_a_500(emulator, native_order):
    out_trade_no = _paid(native_order, emulator)
    merchant = Merchant(emulator)
    mchid = merchant.mchid
    targets = [
        ("POST", "/v3/pay/transactions/native"),
        ("POST", "/v3/pay/transactions/h5"),
        ("POST", f"/v3/pay/transactions/out-trade-no/{out_trade_no}/close"),
        ("POST", "/v3/refund/domestic/refunds"),
        ("GET", f"/v3/pay/transactions/out-trade-no/%00%ff?mchid={mchid}"),
        ("GET", f"/v3/pay/transactions/id/x?mchid={mchid}"),
        ("GET", "/v3/refund/domestic/refunds/%E2%82%AC"),
        ("GET", "/v3/bill/tradebill?bill_date=%00"),
        ("GET", "/v3/billdownload/file"),
        ("DELETE", "/v3/pay/transactions/native"),
        ("GET", "/v3/nowhere"),
    ]
    shapes = [
        b"",
        b"null",
        b"[]",
        b"{",
        b'"text"',
        b"\xff\xfe",
        b'{"amount": "100"}',
        b'{"amount": {"total": true}}',
        b'{"amount": {"total": 1e400}}',
        b'{"out_trade_no": {"$gt": ""}, "out_refund_no": ["a"]}',
        b'{"appid": null, "mchid": 1, "description": "\\u0000", "time_expire": 5}',
    ]
    generator = random.Random(12)
    shapes += [bytes(generator.randrange(256) for _ in range(40)) for _ in range(5)]
    for method, target in targets:
        for body in shapes:
            response = merchant.send(method, target, body)
            assert 400 <= response.status_code < 500, (method, target, body, response.text)
            assert set(response.json()) == {"code", "message"}
    assert "unhandled error" not in emulator.log_path.read_text()


def test_concurrent_refunds_never_exceed_the_paid_amount(native_order, wxpay, emulator):
    out_trade_no = _paid(native_order, emulator, total=100)
    answers: list[int] = []
    start = threading.Barrier(8)

    def refund() -> None:
        start.wait()
        code, _ = wxpay.refund(
            out_refund_no=new_out_trade_no("re"),
            amount={"refund": 30, "total": 100, "currency": "CNY"},
            out_trade_no=out_trade_no,
        )
        answers.append(code)

    threads = [threading.Thread(target=refund) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [200] * 3 + [400] * 5


def test_concurrent_creates_of_one_out_trade_no_make_one_order(wxpay):
    out_trade_no = new_out_trade_no()
    answers: list[tuple[int, str]] = []
    start = threading.Barrier(6)

    def create() -> None:
        start.wait()
        answers.append(wxpay.pay(description="x", out_trade_no=out_trade_no, amount={"total": 3}))

    threads = [threading.Thread(target=create) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(answers)) == 1
    assert answers[0][0] == 200


def test_a_pending_callback_survives_a_crash(tmp_path, receiver, eventually):
    emulator = EmulatorProcess(tmp_path / "crash", notify_schedule=(0, 1.5))
    with emulator:
        wxpay = sdk_client(emulator, receiver.url)
        receiver.answer_with(500)  # the first attempt is refused; the retry is due in 1.5 s
        out_trade_no = new_out_trade_no()
        assert wxpay.pay(description="x", out_trade_no=out_trade_no, amount={"total": 8})[0] == 200
        emulator.pay(out_trade_no)
        assert eventually(lambda: emulator.notifications(out_trade_no))
        emulator.kill()
        emulator.start()
        received = receiver.wait_for(2)
        assert len(received) == 2
        assert all(wxpay.callback(item.headers, item.body) for item in received)
        assert eventually(lambda: emulator.notifications(out_trade_no)[-1]["status"] == "delivered")
        assert json.loads(wxpay.query(out_trade_no=out_trade_no)[1])["trade_state"] == "SUCCESS"


def test_a_refund_still_in_flight_answers_frequency_limited(
    native_order, wxpay, emulator, eventually
):
    out_trade_no = _paid(native_order, emulator)
    out_refund_no = new_out_trade_no("re")
    amount = {"refund": 50, "total": 100, "currency": "CNY"}
    emulator.set_faults({"api_timeout_rate": {"refund": 1}, "hang_ms": 1500})
    first: list[int] = []
    hanging = threading.Thread(
        target=lambda: first.append(
            wxpay.refund(out_refund_no=out_refund_no, amount=amount, out_trade_no=out_trade_no)[0]
        )
    )
    hanging.start()
    assert eventually(lambda: emulator.calls(operation="refund", key=out_refund_no))
    time.sleep(0.3)  # logged on arrival; let its signature check finish (it then hangs 1.5 s)
    code, text = wxpay.refund(out_refund_no=out_refund_no, amount=amount, out_trade_no=out_trade_no)
    assert (code, json.loads(text)["code"]) == (429, "FREQUENCY_LIMITED")
    hanging.join()
    assert first == [500]
    emulator.reset_faults()
    # The retry with the same out_refund_no settles it either way (made now, or found made).
    code, text = wxpay.refund(out_refund_no=out_refund_no, amount=amount, out_trade_no=out_trade_no)
    assert code == 200
    code, text = wxpay.refund(
        out_refund_no=new_out_trade_no("re"), amount=amount, out_trade_no=out_trade_no
    )
    assert code == 200  # 50 + 50: the first refund was made once only


def _query_target(emulator, out_trade_no):
    return f"/v3/pay/transactions/out-trade-no/{out_trade_no}?mchid={emulator.manifest['mchid']}"


def test_api_latency_slows_every_answer_past_a_short_timeout(native_order, emulator):
    out_trade_no, _, _ = native_order()
    merchant = Merchant(emulator)
    emulator.set_faults({"api_latency_ms": [1500, 1500]})
    with pytest.raises(requests.Timeout):
        merchant.send("GET", _query_target(emulator, out_trade_no), timeout=0.5)
    emulator.reset_faults()
    assert merchant.send("GET", _query_target(emulator, out_trade_no), timeout=5).ok


def test_api_hang_does_the_work_then_answers_too_late(native_order, wxpay, emulator):
    out_trade_no, _, _ = native_order()
    emulator.set_faults({"api_hang_rate": {"close": 1}, "hang_long_ms": 1500})
    target = f"/v3/pay/transactions/out-trade-no/{out_trade_no}/close"
    body = json.dumps({"mchid": emulator.manifest["mchid"]}).encode()
    with pytest.raises(requests.Timeout):
        Merchant(emulator).send("POST", target, body, timeout=0.5)
    emulator.reset_faults()
    assert json.loads(wxpay.query(out_trade_no=out_trade_no)[1])["trade_state"] == "CLOSED"


def test_bad_answers_are_signed_200s_no_careful_adapter_can_use(native_order, wxpay, emulator):
    out_trade_no = _paid(native_order, emulator, total=1234)
    emulator.set_faults({"bad_answer_rate": {"query": 1}, "seed": 5})
    shapes = set()
    for _ in range(24):
        answer = Merchant(emulator).send("GET", _query_target(emulator, out_trade_no))
        assert answer.status_code == 200
        assert answer.headers["Wechatpay-Signature"]  # signed: the channel sent it
        try:
            body = answer.json()
        except ValueError:
            shapes.add("not_json")
            continue
        usable = (
            isinstance(body, dict)
            and body.get("out_trade_no") == out_trade_no
            and body.get("trade_state") in ("NOTPAY", "SUCCESS", "CLOSED", "REFUND", "PAYERROR")
            and isinstance(body.get("amount", {}).get("total"), int)
        )
        assert not usable, body
        shapes.add(type(body).__name__ if not isinstance(body, dict) else tuple(sorted(body)))
    assert len(shapes) >= 3


def test_async_refunds_stay_processing_then_notify(native_order, wxpay, emulator, receiver):
    out_trade_no = _paid(native_order, emulator)
    receiver.wait_for(1)  # the payment's own callback
    emulator.set_faults({"refund_async": True, "refund_async_ms": 1500, "refund_conflict_rate": 1})
    out_refund_no = new_out_trade_no("re")
    refund = {
        "out_refund_no": out_refund_no,
        "amount": {"refund": 100, "total": 100, "currency": "CNY"},
        "out_trade_no": out_trade_no,
        "notify_url": receiver.url,
    }
    code, text = wxpay.refund(**refund)
    assert (code, json.loads(text)["status"]) == (200, "PROCESSING")

    # a repeat while it is in flight is refused as WeChat does, and nothing doubles
    code, text = wxpay.refund(**refund)
    assert (code, json.loads(text)["code"]) == (429, "FREQUENCY_LIMITED")

    callbacks = receiver.wait_for(2, timeout=10)
    event = wxpay.callback(callbacks[-1].headers, callbacks[-1].body)
    assert event["event_type"] == "REFUND.SUCCESS"
    assert event["resource"]["out_refund_no"] == out_refund_no


def test_a_tampered_callback_is_signed_and_encrypted_but_reports_another_amount(
    native_order, wxpay, emulator, receiver
):
    emulator.set_faults({"notify_amount_tamper_rate": 1, "seed": 2})
    out_trade_no = _paid(native_order, emulator, total=4321)
    [callback] = receiver.wait_for(1)

    event = wxpay.callback(callback.headers, callback.body)
    assert event is not None  # the SDK verifies and decrypts it: only the amount lies
    assert event["resource"]["out_trade_no"] == out_trade_no
    assert event["resource"]["amount"]["total"] != 4321
    assert json.loads(wxpay.query(out_trade_no=out_trade_no)[1])["amount"]["total"] == 4321


def test_a_timeout_after_work_hangs_even_when_the_work_was_refused(wxpay, emulator):
    # the order does not exist: the work answers ORDER_NOT_EXIST, and the caller must still see
    # nothing but a hang and a system error, never the answer
    emulator.set_faults({"api_timeout_rate": {"query": 1}, "hang_ms": 2000, "seed": 4})
    target = _query_target(emulator, new_out_trade_no("missing"))
    for _ in range(6):  # seeded: both before- and after-work timeouts among them
        with pytest.raises(requests.Timeout):
            Merchant(emulator).send("GET", target, timeout=0.5)
