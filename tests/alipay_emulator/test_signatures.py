"""RSA2 both ways: the emulator verifies requests signed by the SDK and by hand (bad ones are
Alipay's isv.invalid-signature, changing nothing), and every answer verifies against the Alipay
public key over the exact text of its response object."""

import json
from pathlib import Path

import pytest
import requests
from alipay.exceptions import AliPayValidationError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .conftest import Merchant, answer_object, new_out_trade_no, sdk_client, verify_with


def _pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture(scope="module")
def stranger_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_a_request_signed_with_another_key_is_an_invalid_signature(emulator, alipay, stranger_key):
    impostor = sdk_client(emulator, private_key=_pem(stranger_key))
    out_trade_no = new_out_trade_no()
    answer = impostor.api_alipay_trade_precreate("x", out_trade_no, "1.00")
    assert (answer["code"], answer["msg"]) == ("40002", "Invalid Arguments")
    assert answer["sub_code"] == "isv.invalid-signature"
    assert f'"out_trade_no":"{out_trade_no}"' in answer["sub_msg"]  # the string it verified
    # nothing was created: the rightful app pre-creates the same number freely
    assert alipay.api_alipay_trade_precreate("y", out_trade_no, "2.00")["code"] == "10000"
    calls = emulator.calls(method="alipay.trade.precreate", key=out_trade_no)
    assert [call["sub_code"] for call in calls] == ["isv.invalid-signature", None]


def test_an_unknown_app_id_is_refused(emulator):
    answer = sdk_client(emulator, app_id="2021000000000000").api_alipay_trade_query("x1")
    assert (answer["code"], answer["sub_code"]) == ("40002", "isv.invalid-app-id")


def test_the_sdk_refuses_answers_it_cannot_verify(emulator, stranger_key):
    public_pem = (
        stranger_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    wary = sdk_client(emulator, alipay_public_key=public_pem)
    with pytest.raises(AliPayValidationError):
        wary.api_alipay_trade_query(out_trade_no=new_out_trade_no())


def test_hand_signed_form_posts_are_accepted_and_every_answer_is_signed(emulator):
    merchant = Merchant(emulator)
    alipay_public = Path(emulator.manifest["alipay_public_key_file"]).read_bytes()
    out_trade_no = new_out_trade_no()
    biz = {"out_trade_no": out_trade_no, "total_amount": "8.88", "subject": "绿茶 Green tea"}
    created = merchant.post(merchant.params("alipay.trade.precreate", biz))
    assert created.headers["Content-Type"].startswith("application/json")
    text, signature = answer_object(created.text, "alipay_trade_precreate_response")
    assert verify_with(alipay_public, text, signature)
    assert json.loads(text)["code"] == "10000"

    missing = merchant.post(merchant.params("alipay.trade.query", {"out_trade_no": "nope"}))
    text, signature = answer_object(missing.text, "alipay_trade_query_response")
    assert verify_with(alipay_public, text, signature)  # errors are signed too
    assert json.loads(text)["sub_code"] == "ACQ.TRADE_NOT_EXIST"
    assert not verify_with(alipay_public, text.replace("40004", "10000"), signature)


def test_a_parameter_changed_after_signing_is_refused(emulator, alipay):
    merchant = Merchant(emulator)
    out_trade_no = new_out_trade_no()
    biz = {"out_trade_no": out_trade_no, "total_amount": "1.00", "subject": "x"}
    params = merchant.params("alipay.trade.precreate", biz, notify_url="http://127.0.0.1:9/n")
    for key, value in (
        ("biz_content", json.dumps({**biz, "total_amount": "0.01"})),
        ("notify_url", "http://attacker.example/n"),
        ("timestamp", "2020-01-01 00:00:00"),
    ):
        answer = merchant.post({**params, key: value}).json()["alipay_trade_precreate_response"]
        assert answer["sub_code"] == "isv.invalid-signature", key
    unsigned = {key: value for key, value in params.items() if key != "sign"}
    answer = merchant.post(unsigned).json()["alipay_trade_precreate_response"]
    assert (answer["code"], answer["sub_code"]) == ("40001", "isv.missing-signature")
    assert alipay.api_alipay_trade_query(out_trade_no=out_trade_no)["sub_code"] == (
        "ACQ.TRADE_NOT_EXIST"
    )


@pytest.mark.parametrize(
    ("change", "code", "sub_code"),
    [
        ({"sign_type": "RSA"}, "40002", "isv.invalid-signature-type"),
        ({"sign_type": ""}, "40001", "isv.missing-signature-type"),
        ({"charset": "GBK"}, "40002", "isv.invalid-charset"),
        ({"format": "XML"}, "40002", "isv.invalid-format"),
        ({"version": "2.0"}, "40002", "isv.invalid-version"),
        ({"version": ""}, "40001", "isv.missing-version"),
        ({"timestamp": "1700000000"}, "40002", "isv.invalid-timestamp"),
        ({"timestamp": ""}, "40001", "isv.missing-timestamp"),
        ({"app_id": ""}, "40001", "isv.missing-app-id"),
    ],
)
def test_bad_common_parameters_get_alipays_answers(emulator, change, code, sub_code):
    merchant = Merchant(emulator)
    params = merchant.signed(
        {**merchant.params("alipay.trade.query", {"out_trade_no": "x"}), **change}
    )
    answer = merchant.post(params).json()["alipay_trade_query_response"]
    assert (answer["code"], answer["sub_code"]) == (code, sub_code)


def test_missing_or_unknown_methods_answer_in_error_response(emulator):
    merchant = Merchant(emulator)
    unknown = merchant.post(merchant.params("alipay.trade.pay.everything", {})).json()
    assert unknown["error_response"]["sub_code"] == "isv.invalid-method"
    params = merchant.params("alipay.trade.query", {})
    del params["method"]
    missing = merchant.post(merchant.signed(params)).json()
    assert missing["error_response"]["sub_code"] == "isv.missing-method"


def test_a_parameter_given_twice_is_refused(emulator):
    merchant = Merchant(emulator)
    params = merchant.params("alipay.trade.query", {"out_trade_no": "x"})
    query = "?app_id=" + params["app_id"]
    answer = requests.post(emulator.gateway_url + query, data=params, timeout=10).json()
    assert answer["error_response"]["sub_code"] == "isv.invalid-parameter"
