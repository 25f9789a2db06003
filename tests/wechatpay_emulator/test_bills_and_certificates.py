"""Trade bills (WeChat's gzip CSV, checked against the SHA1 it announces) and platform
certificates (served encrypted, as the SDK's certificate mode downloads and uses them)."""

import gzip
import hashlib
import json
from datetime import datetime
from decimal import Decimal

import pytest

from wechatpay_emulator.runner import EmulatorProcess

from .conftest import BEIJING, new_out_trade_no, sdk_client


def _today() -> str:
    return datetime.now(BEIJING).date().isoformat()


def test_trade_bill_lists_payments_and_refunds_in_wechat_layout(native_order, wxpay, emulator):
    out_trade_no, _, _ = native_order(total=12345, description="Tea, green")
    emulator.pay(out_trade_no)
    out_refund_no = new_out_trade_no("re")
    code, _ = wxpay.refund(
        out_refund_no=out_refund_no,
        amount={"refund": 2345, "total": 12345, "currency": "CNY"},
        out_trade_no=out_trade_no,
    )
    assert code == 200
    assert json.loads(wxpay.query_refund(out_refund_no)[1])["status"] == "SUCCESS"

    code, text = wxpay.trade_bill(bill_date=_today())
    assert code == 200
    bill = json.loads(text)
    assert bill["hash_type"] == "SHA1"
    assert bill["download_url"].startswith(f"{emulator.url}/v3/billdownload/file?token=")
    code, content = wxpay.download_bill(bill["download_url"])
    assert code == 200
    raw = gzip.decompress(content)
    assert hashlib.sha1(raw).hexdigest() == bill["hash_value"]

    lines = raw.decode().splitlines()
    header = lines[0].split(",")
    assert header[:7] == [
        "交易时间",
        "公众账号ID",
        "商户号",
        "特约商户号",
        "设备号",
        "微信订单号",
        "商户订单号",
    ]
    assert len(header) == 27
    rows = [line.split(",") for line in lines[1:-2]]
    assert all(field.startswith("`") for row in rows for field in row)
    ours = {
        row[9][1:]: dict(zip(header, (f[1:] for f in row), strict=True))
        for row in rows
        if row[6] == "`" + out_trade_no
    }
    payment, refund = ours["SUCCESS"], ours["REFUND"]
    # 0.6 % of 123.45 is 0.74070 yuan: WeChat rounds each transaction's fee to the fen
    assert (payment["应结订单金额"], payment["订单金额"], payment["手续费"], payment["费率"]) == (
        "123.45",
        "123.45",
        "0.74000",
        "0.60%",
    )
    assert payment["商品名称"] == "Tea  green"  # the bill has no quoting, so separators are blanked
    assert (refund["退款金额"], refund["商户退款单号"], refund["退款状态"]) == (
        "23.45",
        out_refund_no,
        "SUCCESS",
    )
    assert refund["手续费"] == "-0.14000"  # 0.6 % of 23.45 (0.1407), given back
    assert lines[-2].startswith("总交易单数,应结订单总金额,退款总金额")
    summary = dict(
        zip(lines[-2].split(","), (field[1:] for field in lines[-1].split(",")), strict=True)
    )
    assert int(summary["总交易单数"]) == len(rows)
    fees = sum(Decimal(dict(zip(header, row, strict=True))["手续费"][1:]) for row in rows)
    assert Decimal(summary["手续费总金额"]) == fees


def test_trade_bill_types_and_bad_input(native_order, wxpay, emulator):
    out_trade_no, _, _ = native_order(total=100)
    emulator.pay(out_trade_no)
    code, text = wxpay.trade_bill(bill_date=_today(), tar_type="ZIP")
    assert (code, json.loads(text)["code"]) == (400, "PARAM_ERROR")
    code, text = wxpay.trade_bill(bill_date=_today(), bill_type="EVERYTHING")
    assert (code, json.loads(text)["code"]) == (400, "PARAM_ERROR")
    code, text = wxpay.trade_bill(bill_date=_today(), bill_type="SUCCESS")
    assert code == 200
    raw = gzip.decompress(wxpay.download_bill(json.loads(text)["download_url"])[1]).decode()
    assert "`REFUND," not in raw
    for bad in ("2020-13-01", "tomorrow", "2999-01-01", "2001-01-01"):
        code, text = wxpay.trade_bill(bill_date=bad)
        assert (code, json.loads(text)["code"]) == (400, "PARAM_ERROR"), bad
    code, text = wxpay.download_bill(f"{emulator.url}/v3/billdownload/file?token=nope")
    assert code == 400


def test_a_day_without_trades_has_no_bill(tmp_path, receiver):
    with EmulatorProcess(tmp_path / "empty") as emulator:
        code, text = sdk_client(emulator, receiver.url).trade_bill(bill_date=_today())
    assert (code, json.loads(text)["code"]) == (400, "NO_STATEMENT_EXIST")


@pytest.fixture
def certificate_emulator(tmp_path):
    with EmulatorProcess(tmp_path / "certificate", signer="certificate") as emulator:
        yield emulator


def test_sdk_certificate_mode_downloads_and_verifies_with_platform_certificates(
    certificate_emulator, receiver
):
    emulator = certificate_emulator
    wxpay = sdk_client(emulator, receiver.url)
    # Switch the SDK to certificate mode: it must fetch /v3/certificates and decrypt them.
    core = wxpay._core
    core._public_key = core._public_key_id = None
    core._update_certificates()
    assert [format(cert.serial_number, "X") for cert in core._certificates] == [
        emulator.manifest["platform_certificate_serial"]
    ]
    out_trade_no = new_out_trade_no()
    code, _ = wxpay.pay(description="x", out_trade_no=out_trade_no, amount={"total": 5})
    assert code == 200  # the answer verified against the downloaded certificate
    emulator.pay(out_trade_no)
    [callback] = receiver.wait_for(1)
    assert callback.headers["Wechatpay-Serial"] == emulator.manifest["platform_certificate_serial"]
    assert wxpay.callback(callback.headers, callback.body)["resource"]["trade_state"] == "SUCCESS"


def test_a_rotated_certificate_is_fetched_by_the_sdk_when_it_first_signs(
    certificate_emulator, receiver
):
    emulator = certificate_emulator
    wxpay = sdk_client(emulator, receiver.url)
    core = wxpay._core
    core._public_key = core._public_key_id = None
    core._update_certificates()
    first = emulator.manifest["platform_certificate_serial"]

    rotated = emulator.request("POST", "/_emulator/certificates/rotate").json()
    assert rotated["serials"] == [first, rotated["serial_no"]]
    assert emulator.manifest["platform_certificate_serial"] == rotated["serial_no"]
    out_trade_no = new_out_trade_no()
    # Signed by a serial the SDK has not seen: it downloads /v3/certificates again and verifies.
    assert wxpay.pay(description="x", out_trade_no=out_trade_no, amount={"total": 5})[0] == 200
    assert sorted(format(cert.serial_number, "X") for cert in core._certificates) == sorted(
        rotated["serials"]
    )
    emulator.restart()  # the rotation is kept
    assert emulator.manifest["platform_certificate_serial"] == rotated["serial_no"]
    assert json.loads(wxpay.query(out_trade_no=out_trade_no)[1])["trade_state"] == "NOTPAY"


@pytest.mark.parametrize(
    ("validity", "why"),
    [
        ({"not_before_in": -7200, "not_after_in": -3600}, "expired"),
        ({"not_before_in": 3600}, "future"),
    ],
)
def test_an_expired_or_future_certificate_is_served_with_its_dates_but_never_signs(
    certificate_emulator, receiver, validity, why
):
    emulator = certificate_emulator
    first = emulator.manifest["platform_certificate_serial"]

    rotated = emulator.request("POST", "/_emulator/certificates/rotate", json=validity).json()

    assert rotated["serial_no"] != first and rotated["current"] == first
    assert emulator.manifest["platform_certificate_serial"] == first
    wxpay = sdk_client(emulator, receiver.url)
    code, text = wxpay._core.request("/v3/certificates")
    assert code == 200
    served = {entry["serial_no"]: entry for entry in json.loads(text)["data"]}
    now = datetime.now(BEIJING)
    added = served[rotated["serial_no"]]
    effective, expire = (
        datetime.fromisoformat(added[k]) for k in ("effective_time", "expire_time")
    )
    assert (expire < now) if why == "expired" else (effective > now)
    out_trade_no = new_out_trade_no()
    assert wxpay.pay(description="x", out_trade_no=out_trade_no, amount={"total": 5})[0] == 200
    emulator.pay(out_trade_no)
    [callback] = receiver.wait_for(1)
    assert callback.headers["Wechatpay-Serial"] == first  # the newest valid one signs


@pytest.mark.parametrize(
    "validity",
    [{"not_before_in": "soon"}, {"not_after_in": 1e300}, {"not_before_in": 10, "not_after_in": 5}],
)
def test_a_rotation_to_impossible_dates_is_refused(emulator, validity):
    answer = emulator.request("POST", "/_emulator/certificates/rotate", json=validity)
    assert (answer.status_code, answer.json()["code"]) == (400, "PARAM_ERROR")
