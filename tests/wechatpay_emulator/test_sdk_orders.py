"""`wechatpayv3` (PyPI) as the merchant against the emulator process: Native/H5 orders, query,
close, expiry. The SDK signs every request and raises unless each 2xx answer's signature
verifies, so every 2xx below is also a signature agreement."""

import json
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from wechatpayv3 import WeChatPayType
from wechatpayv3.type import RequestType

from wechatpay_emulator.runner import EmulatorProcess

from .conftest import expire_in, new_out_trade_no, sdk_client


def _query(wxpay, out_trade_no):
    code, text = wxpay.query(out_trade_no=out_trade_no)
    return code, json.loads(text)


def test_native_order_then_query_then_close(native_order, wxpay, emulator):
    out_trade_no, code, answer = native_order(total=1234)
    assert code == 200
    assert answer["code_url"].startswith(f"{emulator.url}/_emulator/wallet/wx")

    code, trade = _query(wxpay, out_trade_no)
    assert code == 200
    assert trade["trade_state"] == "NOTPAY"
    assert trade["amount"] == {"total": 1234, "currency": "CNY"}
    assert (trade["mchid"], trade["appid"]) == (
        emulator.manifest["mchid"],
        emulator.manifest["appid"],
    )
    assert "transaction_id" not in trade

    code, text = wxpay.close(out_trade_no)
    assert (code, text) == (204, "")
    assert _query(wxpay, out_trade_no)[1]["trade_state"] == "CLOSED"
    assert wxpay.close(out_trade_no)[0] == 204  # closing again changes nothing
    assert emulator.pay(out_trade_no).status_code == 409


def test_paid_order_is_success_by_both_numbers_and_close_answers_orderpaid(
    native_order, wxpay, emulator
):
    out_trade_no, _, _ = native_order(total=100)
    assert emulator.pay(out_trade_no).json()["trade_state"] == "SUCCESS"

    code, trade = _query(wxpay, out_trade_no)
    assert code == 200
    assert trade["trade_state"] == "SUCCESS"
    assert trade["amount"]["payer_total"] == 100
    assert trade["success_time"].endswith("+08:00")
    code, by_id = wxpay.query(transaction_id=trade["transaction_id"])
    assert code == 200
    assert json.loads(by_id)["out_trade_no"] == out_trade_no

    code, text = wxpay.close(out_trade_no)
    assert code == 400
    assert json.loads(text)["code"] == "ORDERPAID"
    assert emulator.pay(out_trade_no).status_code == 409  # paid once only


def test_unknown_order_is_order_not_exist(wxpay):
    code, text = wxpay.query(out_trade_no=new_out_trade_no("missing"))
    assert (code, json.loads(text)["code"]) == (404, "ORDER_NOT_EXIST")
    code, text = wxpay.close(new_out_trade_no("missing"))
    assert (code, json.loads(text)["code"]) == (404, "ORDER_NOT_EXIST")
    code, text = wxpay.query(transaction_id="4200000000000000000000000000")
    assert (code, json.loads(text)["code"]) == (404, "ORDER_NOT_EXIST")


def test_create_is_idempotent_on_out_trade_no(wxpay):
    out_trade_no = new_out_trade_no()
    order = {
        "description": "Green tea",
        "out_trade_no": out_trade_no,
        "amount": {"total": 500, "currency": "CNY"},
        "time_expire": expire_in(600),
    }
    first = wxpay.pay(**order)
    assert first[0] == 200
    assert wxpay.pay(**order) == first  # same parameters: the same code_url

    code, text = wxpay.pay(**{**order, "amount": {"total": 501, "currency": "CNY"}})
    assert code == 400
    error = json.loads(text)
    assert error["code"] == "INVALID_REQUEST"
    assert "OUT_TRADE_NO_USED" in error["message"]


def test_time_expire_is_enforced(native_order, wxpay, emulator, eventually):
    _, code, answer = native_order(expire_seconds=0.2)  # under the (shrunk) minimum
    assert (code, answer["code"]) == (400, "PARAM_ERROR")
    code, text = wxpay.pay(
        description="x",
        out_trade_no=new_out_trade_no(),
        amount={"total": 1},
        time_expire="2030-01-01 10:00:00",
    )
    assert (code, json.loads(text)["code"]) == (400, "PARAM_ERROR")

    out_trade_no, code, _ = native_order(expire_seconds=3)  # whole seconds: 2-3 s ahead
    assert code == 200
    assert _query(wxpay, out_trade_no)[1]["trade_state"] == "NOTPAY"
    assert eventually(lambda: _query(wxpay, out_trade_no)[1]["trade_state"] == "CLOSED", 5)
    paid = emulator.pay(out_trade_no)
    assert (paid.status_code, paid.json()["code"]) == (409, "ORDER_CLOSED")


def test_h5_order_opens_a_wallet_that_pays_and_returns(emulator, receiver, eventually):
    wxpay = sdk_client(emulator, receiver.url, wechatpay_type=WeChatPayType.H5)
    out_trade_no = new_out_trade_no("h5")
    code, text = wxpay.pay(
        description="Phone case",
        out_trade_no=out_trade_no,
        amount={"total": 2599},
        time_expire=expire_in(600),
        scene_info={"payer_client_ip": "203.0.113.7", "h5_info": {"type": "Wap"}},
    )
    assert code == 200
    h5_url = json.loads(text)["h5_url"]
    back = "https://shop.example/return?order=7"
    page = requests.get(h5_url + "&redirect_url=" + requests.utils.quote(back, safe=""), timeout=5)
    assert page.status_code == 200
    assert 'id="pay-button"' in page.text
    assert "25.99 CNY" in page.text
    action = page.text.split('action="', 1)[1].split('"', 1)[0]
    paid = requests.post(
        emulator.url + action, data={"redirect_url": back}, allow_redirects=False, timeout=5
    )
    assert paid.status_code == 303
    result = requests.get(emulator.url + paid.headers["Location"], timeout=5)
    assert "Payment successful" in result.text
    assert 'href="https://shop.example/return?order=7"' in result.text
    assert json.loads(wxpay.query(out_trade_no=out_trade_no)[1])["trade_type"] == "H5"
    assert eventually(lambda: receiver.received)


def test_h5_order_requires_scene_info(emulator, receiver):
    wxpay = sdk_client(emulator, receiver.url)
    code, text = wxpay._core.request(
        "/v3/pay/transactions/h5",
        method=RequestType.POST,
        data={
            "appid": emulator.manifest["appid"],
            "mchid": emulator.manifest["mchid"],
            "description": "x",
            "out_trade_no": new_out_trade_no(),
            "notify_url": receiver.url,
            "amount": {"total": 1},
        },
    )
    assert (code, json.loads(text)["code"]) == (400, "PARAM_ERROR")


def test_sdk_rejects_answers_signed_by_another_platform_key(emulator, receiver, native_order):
    out_trade_no, _, _ = native_order()
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    pem = stranger.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    wxpay = sdk_client(emulator, receiver.url, public_key=pem)
    with pytest.raises(Exception, match="failed to verify the signature"):
        wxpay.query(out_trade_no=out_trade_no)


def test_keys_survive_a_restart(tmp_path):
    with EmulatorProcess(tmp_path / "emulator") as emulator:
        manifest = emulator.manifest
        key = Path(manifest["merchant_private_key_file"]).read_bytes()
        emulator.restart()
        assert emulator.manifest == manifest
        assert Path(manifest["merchant_private_key_file"]).read_bytes() == key
        assert Path(manifest["merchant_private_key_file"]).stat().st_mode & 0o077 == 0
        assert requests.get(f"{emulator.url}/healthz", timeout=5).json() == {"status": "ok"}


def test_a_close_right_after_the_order_is_refused_until_the_window_passes(
    tmp_path, receiver, eventually
):
    # WeChat: "订单生成后不能马上调用关单接口, 最短调用时间间隔为5分钟" (shrunk here to 1 s)
    with EmulatorProcess(tmp_path / "close-window", close_not_before_seconds=1) as emulator:
        wxpay = sdk_client(emulator, receiver.url)
        out_trade_no, paid_no = new_out_trade_no(), new_out_trade_no()
        for number in (out_trade_no, paid_no):
            code, _ = wxpay.pay(description="x", out_trade_no=number, amount={"total": 5})
            assert code == 200
        emulator.pay(paid_no)

        code, text = wxpay.close(out_trade_no)
        assert (code, json.loads(text)["code"]) == (400, "INVALID_REQUEST")
        assert _query(wxpay, out_trade_no)[1]["trade_state"] == "NOTPAY"  # still payable
        code, text = wxpay.close(paid_no)  # a paid order says so at once
        assert (code, json.loads(text)["code"]) == (400, "ORDERPAID")

        assert eventually(lambda: wxpay.close(out_trade_no)[0] == 204, 5)
        assert _query(wxpay, out_trade_no)[1]["trade_state"] == "CLOSED"
