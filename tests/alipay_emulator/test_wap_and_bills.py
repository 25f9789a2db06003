# Alipay's bill columns are Chinese with full-width parentheses, byte for byte.
# ruff: noqa: RUF001
"""The WAP cashier (a signed redirect URL the buyer's browser opens, then back to return_url with
signed parameters) and the bill: a 30-second URL serving a zip of GBK CSV files."""

import io
import zipfile
from datetime import datetime
from urllib.parse import parse_qsl, urlsplit

import requests

from alipay_emulator.runner import EmulatorProcess
from tests.channel_servers import wallet_return_link

from .conftest import CHINA, new_out_trade_no, sdk_client

RETURN_URL = "http://127.0.0.1:9/alipay/return?order=7"


def _wap_url(alipay, emulator, out_trade_no, **extra):
    order_string = alipay.api_alipay_trade_wap_pay(
        subject="Oolong",
        out_trade_no=out_trade_no,
        total_amount="19.99",
        return_url=RETURN_URL,
        **extra,
    )
    return emulator.gateway_url + "?" + order_string


def test_the_wap_cashier_pays_and_returns_with_signed_parameters(alipay, emulator, receiver):
    out_trade_no = new_out_trade_no("wap")
    url = _wap_url(alipay, emulator, out_trade_no, quit_url="http://127.0.0.1:9/quit")
    cashier = requests.get(url, allow_redirects=False, timeout=10)
    assert cashier.status_code == 303
    page = requests.get(emulator.url + cashier.headers["Location"], timeout=10)
    assert "19.99 CNY" in page.text and 'id="pay-button"' in page.text
    assert 'id="quit-link"' in page.text
    # the buyer reached the cashier: the trade exists (no lazy phase for WAP)
    assert alipay.api_alipay_trade_query(out_trade_no=out_trade_no)["trade_status"] == (
        "WAIT_BUYER_PAY"
    )

    paying = requests.post(
        emulator.url + cashier.headers["Location"] + "/pay", allow_redirects=False, timeout=10
    )
    assert paying.status_code == 303
    # the page, paid, which goes on to the merchant by itself (Back from there stays on it)
    paid_page = requests.get(emulator.url + paying.headers["Location"], timeout=10)
    assert "location.replace(" in paid_page.text
    back = wallet_return_link(paid_page.text)
    assert back.startswith(RETURN_URL + "&")
    returned = dict(parse_qsl(urlsplit(back).query))
    assert returned.pop("order") == "7"  # the merchant's own query survives
    signature = returned.pop("sign")
    assert alipay.verify(dict(returned), signature)
    assert (returned["out_trade_no"], returned["total_amount"]) == (out_trade_no, "19.99")
    assert returned["method"] == "alipay.trade.wap.pay.return"
    assert not alipay.verify({**returned, "total_amount": "0.01"}, signature)

    assert alipay.api_alipay_trade_query(out_trade_no=out_trade_no)["trade_status"] == (
        "TRADE_SUCCESS"
    )
    [notify] = receiver.wait_for(1)
    assert notify.form["out_trade_no"] == out_trade_no
    again = requests.post(
        emulator.url + cashier.headers["Location"] + "/pay", allow_redirects=False, timeout=10
    )
    assert again.status_code == 409  # reloading never pays twice


def test_a_tampered_wap_url_shows_an_error_page_and_creates_nothing(alipay, emulator):
    out_trade_no = new_out_trade_no("wap")
    url = _wap_url(alipay, emulator, out_trade_no).replace("19.99", "0.01")
    page = requests.get(url, allow_redirects=False, timeout=10)
    assert page.status_code == 200
    assert 'id="error-code">isv.invalid-signature<' in page.text
    assert alipay.api_alipay_trade_query(out_trade_no=out_trade_no)["sub_code"] == (
        "ACQ.TRADE_NOT_EXIST"
    )
    bad_amount = alipay.api_alipay_trade_wap_pay("x", out_trade_no, "19.9")
    page = requests.get(emulator.gateway_url + "?" + bad_amount, timeout=10)
    assert 'id="error-code">ACQ.INVALID_PARAMETER<' in page.text


def _bill(alipay, bill_date):
    return alipay.server_api(
        "alipay.data.dataservice.bill.downloadurl.query",
        {"bill_type": "trade", "bill_date": bill_date},
    )


def test_the_bill_is_a_zip_of_gbk_csv_files_with_alipays_columns(paid, alipay, emulator):
    out_trade_no = paid("12.34")
    alipay.api_alipay_trade_refund("2.00", out_trade_no=out_trade_no, out_request_no="rb1")
    today = datetime.now(CHINA)
    answer = _bill(alipay, today.strftime("%Y-%m-%d"))
    assert answer["code"] == "10000"
    download = requests.get(answer["bill_download_url"], timeout=10)
    assert download.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    detail_name, summary_name = sorted(archive.namelist(), key=len)
    assert detail_name.endswith("_业务明细.csv") and summary_name.endswith("_业务明细(汇总).csv")
    detail = archive.read(detail_name).decode("gbk").splitlines()
    assert detail[0] == "#支付宝业务明细查询"
    header = next(line for line in detail if not line.startswith("#")).split(",")
    assert header[:3] == ["支付宝交易号", "商户订单号", "业务类型"]
    assert "订单金额（元）" in header and "退款批次号/请求号" in header
    rows = [
        dict(zip(header, line.split(","), strict=True))
        for line in detail
        if not line.startswith("#") and out_trade_no in line
    ]
    assert [(row["业务类型"], row["商家实收（元）"]) for row in rows] == [
        ("交易", "12.34"),
        ("退款", "-2.00"),
    ]
    assert rows[0]["商户订单号"] == f"{out_trade_no}\t"
    assert rows[1]["退款批次号/请求号"] == "rb1\t"
    assert rows[0]["服务费（元）"] == "-0.07"  # 0.6 % of 12.34, half up
    summary = archive.read(summary_name).decode("gbk").splitlines()
    assert summary[0] == "#支付宝业务汇总查询"
    assert any(line.startswith("合计,") for line in summary)

    month = _bill(alipay, today.strftime("%Y-%m"))
    assert month["code"] == "10000"


def test_bill_requests_are_checked(alipay):
    for biz in (
        {"bill_type": "signcustomer", "bill_date": "2026-01-01"},
        {"bill_type": "trade", "bill_date": "2026/01/01"},
        {"bill_type": "trade"},
    ):
        answer = alipay.server_api("alipay.data.dataservice.bill.downloadurl.query", biz)
        assert answer["sub_code"] == "ACQ.INVALID_PARAMETER", biz
    assert _bill(alipay, "2999-01-01")["sub_code"] == "isp.bill_not_exist"


def test_the_bill_url_expires(tmp_path, eventually):
    with EmulatorProcess(tmp_path / "bills", bill_url_ttl=1) as emulator:
        alipay = sdk_client(emulator)
        url = _bill(alipay, datetime.now(CHINA).strftime("%Y-%m-%d"))["bill_download_url"]
        assert requests.get(url, timeout=10).status_code == 200
        assert eventually(lambda: requests.get(url, timeout=10).status_code == 404, timeout=5)
        forged = url.rsplit("token=", 1)[0] + "token=forged"
        assert requests.get(forged, timeout=10).status_code == 404
