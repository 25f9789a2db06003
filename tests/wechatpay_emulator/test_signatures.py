"""Request signatures as WeChat checks them: anything not signed by the merchant's API key over
exactly what was sent is 401 SIGN_ERROR, and changes nothing."""

import base64
import json
import time
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .conftest import Merchant, expire_in, new_out_trade_no, sdk_client

NATIVE = "/v3/pay/transactions/native"


def _order_body(emulator, out_trade_no, receiver):
    return json.dumps(
        {
            "appid": emulator.manifest["appid"],
            "mchid": emulator.manifest["mchid"],
            "description": "Green tea",
            "out_trade_no": out_trade_no,
            "notify_url": receiver.url,
            "amount": {"total": 100, "currency": "CNY"},
            "time_expire": expire_in(600),
        }
    ).encode()


def _assert_sign_error(response):
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "SIGN_ERROR"
    assert response.json()["message"]


def test_a_hand_signed_request_is_accepted(emulator, receiver):
    merchant = Merchant(emulator)
    response = merchant.send("POST", NATIVE, _order_body(emulator, new_out_trade_no(), receiver))
    assert response.status_code == 200, response.text
    assert "code_url" in response.json()


@pytest.mark.parametrize(
    "case",
    [
        "missing",
        "other_key",
        "tampered_body",
        "other_url",
        "stale",
        "future",
        "wrong_serial",
        "wrong_mchid",
        "garbled",
        "other_schema",
        "not_base64",
    ],
)
def test_bad_signatures_are_sign_error_and_change_nothing(emulator, receiver, wxpay, case):
    merchant = Merchant(emulator)
    out_trade_no = new_out_trade_no()
    body = _order_body(emulator, out_trade_no, receiver)
    sent_body = None
    if case == "missing":
        response = requests.post(emulator.url + NATIVE, data=body, timeout=10)
    else:
        if case == "other_key":
            stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            authorization = Merchant(emulator, stranger).authorization("POST", NATIVE, body)
        elif case == "tampered_body":
            authorization = merchant.authorization("POST", NATIVE, body)
            sent_body = body.replace(b'"total": 100', b'"total": 1')
        elif case == "other_url":
            authorization = merchant.authorization("POST", "/v3/pay/transactions/h5", body)
        elif case == "stale":
            authorization = merchant.authorization("POST", NATIVE, body, int(time.time()) - 301)
        elif case == "future":
            authorization = merchant.authorization("POST", NATIVE, body, int(time.time()) + 301)
        elif case == "wrong_serial":
            authorization = merchant.authorization("POST", NATIVE, body, serial_no="0123ABCD")
        elif case == "wrong_mchid":
            authorization = merchant.authorization("POST", NATIVE, body, mchid="1900000001")
        elif case == "garbled":
            authorization = 'WECHATPAY2-SHA256-RSA2048 mchid="1",,=="'
        elif case == "other_schema":
            authorization = merchant.authorization("POST", NATIVE, body).replace(
                "WECHATPAY2-SHA256-RSA2048", "Bearer"
            )
        else:
            authorization = merchant.authorization("POST", NATIVE, body, signature="%%%")
        response = merchant.send("POST", NATIVE, body, authorization, sent_body)
    _assert_sign_error(response)
    code, text = wxpay.query(out_trade_no=out_trade_no)
    assert (code, json.loads(text)["code"]) == (404, "ORDER_NOT_EXIST")


def test_a_replayed_request_is_refused(emulator, receiver):
    merchant = Merchant(emulator)
    body = _order_body(emulator, new_out_trade_no(), receiver)
    authorization = merchant.authorization("POST", NATIVE, body)
    assert merchant.send("POST", NATIVE, body, authorization).status_code == 200
    _assert_sign_error(merchant.send("POST", NATIVE, body, authorization))


def test_the_query_string_is_signed(emulator, wxpay, native_order):
    out_trade_no, _, _ = native_order()
    merchant = Merchant(emulator)
    target = f"/v3/pay/transactions/out-trade-no/{out_trade_no}?mchid={merchant.mchid}"
    assert merchant.send("GET", target).status_code == 200
    signed_without_query = merchant.authorization("GET", target.split("?")[0])
    _assert_sign_error(merchant.send("GET", target, authorization=signed_without_query))


def test_sdk_with_another_merchant_key_gets_sign_error(emulator, receiver):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = stranger.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    wxpay = sdk_client(emulator, receiver.url, private_key=pem)
    out_trade_no = new_out_trade_no()
    code, text = wxpay.pay(
        description="x", out_trade_no=out_trade_no, amount={"total": 1}, time_expire=expire_in(600)
    )
    assert (code, json.loads(text)["code"]) == (401, "SIGN_ERROR")
    code, text = wxpay.query(out_trade_no=out_trade_no)
    assert (code, json.loads(text)["code"]) == (401, "SIGN_ERROR")


def test_error_answers_are_signed_too(emulator, wxpay):
    # The SDK verifies only 2xx answers; a 4xx is checked here with the platform public key.
    merchant = Merchant(emulator)
    target = f"/v3/pay/transactions/out-trade-no/{new_out_trade_no()}?mchid={merchant.mchid}"
    response = merchant.send("GET", target)
    assert response.status_code == 404
    public_key = serialization.load_pem_public_key(
        Path(emulator.manifest["platform_public_key_file"]).read_bytes()
    )
    message = (
        (
            f"{response.headers['Wechatpay-Timestamp']}\n{response.headers['Wechatpay-Nonce']}\n"
        ).encode()
        + response.content
        + b"\n"
    )
    public_key.verify(
        base64.b64decode(response.headers["Wechatpay-Signature"]),
        message,
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    assert response.headers["Wechatpay-Serial"] == emulator.manifest["platform_public_key_id"]
