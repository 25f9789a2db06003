"""The sandbox's fault keys on Alipay's semantics, hostile input (never a 500) and crashes: the
emulator is a real peer to defend against, not a kind one."""

import json
import random
import urllib.error
from pathlib import Path

import pytest
import requests
from alipay.exceptions import AliPayException, AliPayValidationError

from alipay_emulator.runner import EmulatorProcess

from .conftest import (
    SCHEDULE,
    Merchant,
    answer_object,
    new_out_trade_no,
    sdk_client,
    verify_with,
)

METHODS = (
    "alipay.trade.precreate",
    "alipay.trade.query",
    "alipay.trade.close",
    "alipay.trade.refund",
    "alipay.trade.fastpay.refund.query",
    "alipay.data.dataservice.bill.downloadurl.query",
)


def test_faults_take_the_sandbox_keys_and_refuse_bad_ones(emulator):
    faults = {"api_error_rate": {"create": 0.5}, "notify_drop": 0.1, "seed": 7}
    assert emulator.set_faults(faults) == faults
    assert emulator.request("GET", "/_emulator/faults").json() == faults
    # sandbox keys this emulator gives no Alipay meaning are refused, never silently ignored
    not_here = ({"lazy_trades": True}, {"refund_async": True}, {"refund_fail_rate": 0.5})
    for bad in (
        {"nonsense": 1},
        {"notify_drop": 2},
        {"api_error_rate": {"pay": 1}},
        [1],
        *not_here,
    ):
        answer = emulator.request("POST", "/_emulator/faults", json=bad)
        assert (answer.status_code, answer.json()["code"]) == (400, "ACQ.INVALID_PARAMETER")
    assert emulator.request("GET", "/_emulator/faults").json() == faults  # left in place


def test_api_error_fault_is_a_signed_service_unavailable_that_did_nothing(
    precreate, alipay, emulator
):
    emulator.set_faults({"api_error_rate": {"create": 1}})
    out_trade_no, answer = precreate()
    assert (answer["code"], answer["sub_code"]) == ("20000", "isp.unknow-error")
    emulator.reset_faults()
    assert emulator.pay(out_trade_no).status_code == 404


def test_timeout_fault_hangs_past_the_callers_timeout(precreate, emulator):
    out_trade_no, _ = precreate()  # never scanned: the work itself answers TRADE_NOT_EXIST
    emulator.set_faults({"api_timeout_rate": {"query": 1}, "hang_ms": 1000, "seed": 3})
    impatient = sdk_client(emulator, timeout=0.3)
    # both halves (hang before the work, hang after it) hang, whatever the work answered
    for _ in range(6):
        with pytest.raises((TimeoutError, urllib.error.URLError)):
            impatient.api_alipay_trade_query(out_trade_no=out_trade_no)
    patient = sdk_client(emulator)
    assert patient.api_alipay_trade_query(out_trade_no=out_trade_no)["code"] == "20000"


def test_bad_answer_fault_gives_answers_a_careful_caller_rejects(paid, alipay, emulator):
    out_trade_no = paid("3.00")
    alipay_public = Path(emulator.manifest["alipay_public_key_file"]).read_bytes()
    emulator.set_faults({"bad_answer_rate": {"query": 1}, "seed": 5})
    merchant = Merchant(emulator)
    shapes = set()
    for _ in range(30):
        raw = merchant.post(merchant.params("alipay.trade.query", {"out_trade_no": out_trade_no}))
        shapes.add(_rejected_because(raw.text, alipay_public, out_trade_no))
    assert shapes == {"not json", "unsigned", "bad signature", "other trade", "unknown status"}
    faults = {call["fault"] for call in emulator.calls("alipay.trade.query", out_trade_no)}
    assert {"bad_answer_before_work", "bad_answer_after_work"} <= {
        fault.split(":")[0] for fault in faults if fault
    }
    with pytest.raises((AliPayValidationError, AliPayException, ValueError)):
        for _ in range(10):  # the SDK refuses what it cannot verify or read
            alipay.api_alipay_trade_query(out_trade_no=out_trade_no)
    emulator.reset_faults()
    assert alipay.api_alipay_trade_query(out_trade_no=out_trade_no)["trade_status"] == (
        "TRADE_SUCCESS"
    )


def _rejected_because(raw: str, alipay_public: bytes, out_trade_no: str) -> str:
    try:
        answer = json.loads(raw)
    except ValueError:
        return "not json"
    if "sign" not in answer:
        return "unsigned"
    text, signature = answer_object(raw, "alipay_trade_query_response")
    if not verify_with(alipay_public, text, signature):
        return "bad signature"
    fields = json.loads(text)
    if fields.get("out_trade_no") != out_trade_no:
        return "other trade"
    assert fields["trade_status"] not in ("WAIT_BUYER_PAY", "TRADE_SUCCESS", "TRADE_CLOSED")
    return "unknown status"


def test_hang_fault_answers_truly_but_late(precreate, alipay, emulator):
    emulator.set_faults({"api_hang_rate": {"create": 1}, "hang_long_ms": 1000})
    impatient = sdk_client(emulator, timeout=0.3)
    out_trade_no = new_out_trade_no()
    with pytest.raises((TimeoutError, urllib.error.URLError)):
        impatient.api_alipay_trade_precreate("x", out_trade_no, "1.00")
    emulator.reset_faults()
    assert emulator.pay(out_trade_no).status_code == 200  # the work was done


def test_close_unknown_fault_leaves_the_trade_payable(precreate, alipay, emulator):
    out_trade_no, answer = precreate()
    emulator.open_qr(answer["qr_code"])
    emulator.set_faults({"close_unknown_rate": 1})
    assert alipay.api_alipay_trade_close(out_trade_no=out_trade_no)["sub_code"] == (
        "ACQ.SYSTEM_ERROR"
    )
    assert emulator.pay(out_trade_no).status_code == 200


def test_query_stale_fault_shows_a_paid_trade_waiting(paid, alipay, emulator):
    out_trade_no = paid()
    emulator.set_faults({"query_stale_rate": 1})
    assert alipay.api_alipay_trade_query(out_trade_no=out_trade_no)["trade_status"] == (
        "WAIT_BUYER_PAY"
    )
    emulator.reset_faults()
    assert alipay.api_alipay_trade_query(out_trade_no=out_trade_no)["trade_status"] == (
        "TRADE_SUCCESS"
    )


def test_pay_after_expire_fault_pays_a_closed_trade(precreate, alipay, emulator):
    out_trade_no, answer = precreate()
    emulator.open_qr(answer["qr_code"])
    assert alipay.api_alipay_trade_close(out_trade_no=out_trade_no)["code"] == "10000"
    assert emulator.pay(out_trade_no).status_code == 409
    emulator.set_faults({"pay_after_expire": True})
    assert emulator.pay(out_trade_no).status_code == 200
    assert alipay.api_alipay_trade_query(out_trade_no=out_trade_no)["trade_status"] == (
        "TRADE_SUCCESS"
    )


def test_notify_drop_and_duplicate_faults(paid, alipay, emulator, receiver, eventually):
    emulator.set_faults({"notify_drop": 1})
    dropped = paid()
    assert eventually(lambda: len(emulator.notifications(dropped)) == len(SCHEDULE))
    assert {attempt["status"] for attempt in emulator.notifications(dropped)} == {"dropped"}
    assert receiver.received == []

    emulator.set_faults({"notify_duplicate": 1})
    twice = paid()
    received = receiver.wait_for(2)
    forms = [item.form for item in received]
    assert {form["notify_id"] for form in forms} == {forms[0]["notify_id"]}
    assert {form["out_trade_no"] for form in forms} == {twice}


def test_amount_tamper_fault_sends_a_correctly_signed_wrong_amount(
    paid, alipay, emulator, receiver
):
    emulator.set_faults({"notify_amount_tamper_rate": 1})
    paid("5.00")
    form = dict(receiver.wait_for(1)[0].form)
    signature = form.pop("sign")
    assert alipay.verify(dict(form), signature)  # the signature holds...
    assert form["total_amount"] != "5.00"  # ...over an amount the merchant must not believe


def test_signed_garbage_is_an_alipay_error_never_a_500(emulator, paid):
    merchant = Merchant(emulator)
    out_trade_no = paid()
    generator = random.Random(13)
    shapes = [
        "",
        "null",
        "[]",
        "{",
        '"text"',
        "{}",
        json.dumps({"out_trade_no": {"$gt": ""}, "trade_no": ["a"], "out_request_no": 5}),
        json.dumps({"out_trade_no": out_trade_no, "refund_amount": True, "bill_type": 1}),
        json.dumps({"out_trade_no": "\u0000", "total_amount": "1e400", "subject": "\u0000"}),
        json.dumps({"out_trade_no": out_trade_no, "trade_no": "x" * 10_000}),
        json.dumps({"out_trade_no": "x", "total_amount": "1.00", "subject": "a/b=c&d"}),
        json.dumps({"bill_type": "trade", "bill_date": "2026-02-30"}),
        json.dumps({"bill_type": "trade", "bill_date": "9999-12"}),
        "".join(chr(generator.randrange(32, 0x2FFF)) for _ in range(60)),
    ]
    for method in METHODS:
        response_key = method.replace(".", "_") + "_response"
        for biz in shapes:
            response = merchant.post(merchant.params(method, biz))
            assert response.status_code == 200, (method, biz, response.text)
            answer = response.json()[response_key]
            # junk beside a valid out_trade_no may be ignored; anything else is a clear error
            assert answer["code"] in ("10000", "40004", "40002"), (method, biz, answer)
            assert answer["code"] == "10000" or answer["sub_code"], (method, biz, answer)
    assert "unhandled error" not in emulator.log_path.read_text()


def test_unsigned_garbage_never_breaks_the_gateway(emulator):
    generator = random.Random(14)
    bodies = [bytes(generator.randrange(256) for _ in range(80)) for _ in range(5)]
    bodies += [b"%ff%fe=1", b"a=%E2%82", b"=" * 50, b"&&&", "method=中文".encode("gbk")]
    for body in bodies:
        response = requests.post(emulator.gateway_url, data=body, timeout=10)
        assert response.status_code == 200
        [key] = [key for key in response.json() if key != "sign"]
        assert response.json()[key]["code"] in ("40001", "40002")
    for target in ("/gateway.do?%zz", "/nowhere", "/_emulator/pay/x"):
        assert requests.get(emulator.url + target, timeout=10).status_code < 500
    assert requests.delete(emulator.gateway_url, timeout=10).status_code == 405
    assert "unhandled error" not in emulator.log_path.read_text()


def test_a_pending_notify_survives_a_crash(tmp_path, receiver, eventually):
    with EmulatorProcess(tmp_path / "crash", notify_schedule=(0, 1.5)) as emulator:
        alipay = sdk_client(emulator, receiver.url)
        receiver.answer_with("fail")  # the first attempt is refused; the retry is due in 1.5 s
        out_trade_no = new_out_trade_no()
        assert alipay.api_alipay_trade_precreate("x", out_trade_no, "8.00")["code"] == "10000"
        emulator.pay(out_trade_no)
        assert eventually(lambda: emulator.notifications(out_trade_no))
        emulator.kill()
        emulator.start()
        received = receiver.wait_for(2)
        assert len(received) == 2
        assert len({item.form["notify_id"] for item in received}) == 1
        assert eventually(lambda: emulator.notifications(out_trade_no)[-1]["status"] == "delivered")
        assert alipay.api_alipay_trade_query(out_trade_no=out_trade_no)["trade_status"] == (
            "TRADE_SUCCESS"
        )
