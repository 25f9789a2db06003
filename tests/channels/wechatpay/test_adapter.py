"""The adapter's own rules, beyond the contract: WeChat's words mapped (an unlisted one is
UNKNOWN), a start too close to its expiry refused before any call, credentials read lazily."""

import gzip
import secrets
import shutil
from datetime import UTC, date, datetime, timedelta

import pytest

from payments.channels.base import (
    ChannelError,
    ChannelUnavailable,
    CreateTrade,
    PayActionType,
    RefundResultStatus,
    TradeRef,
    TradeStatus,
)
from payments.channels.wechatpay import WechatpayChannel, transformers
from payments.channels.wire import translated
from payments.enums import PaymentClient


def trade(state: str) -> dict:
    return {"out_trade_no": "P1", "trade_state": state, "amount": {"total": 5, "currency": "CNY"}}


@pytest.mark.parametrize(
    ("state", "status"),
    [
        ("NOTPAY", TradeStatus.PAYING),
        ("USERPAYING", TradeStatus.PAYING),
        ("SUCCESS", TradeStatus.SUCCEEDED),
        ("REFUND", TradeStatus.SUCCEEDED),
        ("CLOSED", TradeStatus.CLOSED),
        ("REVOKED", TradeStatus.CLOSED),
        ("PAYERROR", TradeStatus.FAILED),
        ("ACCEPT", TradeStatus.UNKNOWN),  # not a documented trade_state
    ],
)
def test_every_documented_trade_state_is_mapped_and_no_other(state, status):
    assert transformers.trade_result(trade(state)).status == status


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("SUCCESS", RefundResultStatus.SUCCEEDED),
        ("CLOSED", RefundResultStatus.FAILED),
        ("PROCESSING", RefundResultStatus.PROCESSING),
        ("ABNORMAL", RefundResultStatus.PROCESSING),  # not final: the merchant must act
        ("REFUNDCLOSE", RefundResultStatus.UNKNOWN),
    ],
)
def test_refund_statuses_and_abnormal_is_not_final(word, status):
    refund = {"out_refund_no": "R1", "status": word, "amount": {"refund": 5, "total": 5}}
    assert transformers.refund_result(refund).status == status


@pytest.mark.parametrize(
    "answer",
    [
        {"out_trade_no": "P1", "trade_state": "SUCCESS"},  # a success without its amount
        {"out_trade_no": "P1", "trade_state": "SUCCESS", "amount": {"total": "0.05"}},
        {"out_trade_no": "P1\x00", "trade_state": "NOTPAY"},
        {"out_trade_no": "P1", "trade_state": "SUCCESS", "amount": {"total": 5.0}},
    ],
)
def test_a_wrong_shaped_transaction_is_unknown(answer):
    with pytest.raises(ChannelUnavailable):
        translated("query", transformers.trade_result, answer)


def request(client=PaymentClient.PC, seconds=600) -> CreateTrade:
    return CreateTrade(
        out_trade_no="P" + secrets.token_hex(8),
        amount=100,
        currency="CNY",
        subject="t",
        notify_url="http://127.0.0.1:9/cb",
        time_expire=datetime.now(UTC) + timedelta(seconds=seconds),
        client=client,
        return_url="http://127.0.0.1:9/return?a=1",
    )


def test_a_create_answer_about_anything_but_its_url_is_unknown():
    asked = request()
    for answer in (
        {"code_url": "weixin://x", "out_trade_no": "P_other"},
        {"code_url": "weixin://x", "trade_state": "SUCCESS"},
        {"h5_url": "https://x"},  # not what a PC order answers
    ):
        with pytest.raises(ChannelUnavailable):
            translated("create", transformers.pay_action, answer, asked)


def test_h5_goes_to_wechat_and_comes_back_to_the_return_page():
    action = transformers.pay_action(
        {"h5_url": "https://w/h5?package=1"}, request(PaymentClient.MOBILE)
    )

    assert action.type == PayActionType.REDIRECT
    assert (
        action.url
        == "https://w/h5?package=1&redirect_url=http%3A%2F%2F127.0.0.1%3A9%2Freturn%3Fa%3D1"
    )


def test_a_start_less_than_a_minute_before_expiry_is_refused_without_a_call(
    wechatpay_process, tmp_path
):
    adapter = WechatpayChannel(
        code="wechatpay",
        base_url="http://127.0.0.1:9",  # nothing listens: a call would be unavailable
        manifest_file=str(wechatpay_process.data_dir / "keys" / "manifest.json"),
    )

    with pytest.raises(ChannelError) as refused:
        adapter.create_trade(request(seconds=30))

    assert refused.value.code == "PARAM_ERROR"


def test_credentials_are_read_at_first_use_and_until_the_manifest_exists(
    wechatpay_process, tmp_path
):
    manifest = tmp_path / "keys" / "manifest.json"
    adapter = WechatpayChannel(
        code="wechatpay", base_url=wechatpay_process.url, manifest_file=str(manifest), timeout=5
    )
    with pytest.raises(ChannelUnavailable):
        adapter.query_trade(TradeRef("P" + secrets.token_hex(8)))

    manifest.parent.mkdir(parents=True)
    shutil.copy(wechatpay_process.data_dir / "keys" / "manifest.json", manifest)

    assert adapter.query_trade(TradeRef("P" + secrets.token_hex(8))).status == (
        TradeStatus.NOT_FOUND
    )


@pytest.mark.parametrize(
    "raw", [b"not a gzip file", gzip.compress(b"a bill\r\n")[:12], gzip.compress(b"")]
)
def test_a_bill_that_does_not_open_or_match_its_hash_is_unknown(raw):
    with pytest.raises(ChannelUnavailable):
        translated("statement", transformers.statement, date(2026, 1, 1), raw, "0" * 40)
