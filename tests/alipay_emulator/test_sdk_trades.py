"""python-alipay-sdk against the emulator: pre-created QR trades (lazy until scanned), query,
close, time_expire and Alipay's exact yuan amounts."""

import threading
import time

import pytest

from .conftest import china_time_in, new_out_trade_no


def test_a_precreated_trade_does_not_exist_until_the_buyer_scans_it(precreate, alipay, emulator):
    out_trade_no, answer = precreate(total_amount="12.34")
    assert (answer["code"], answer["out_trade_no"]) == ("10000", out_trade_no)
    assert answer["qr_code"].startswith(emulator.url)

    # given a QR code nobody has scanned, the trade is unknown to query, close and refund
    for call in (
        lambda: alipay.api_alipay_trade_query(out_trade_no=out_trade_no),
        lambda: alipay.api_alipay_trade_close(out_trade_no=out_trade_no),
        lambda: alipay.api_alipay_trade_refund("1.00", out_trade_no=out_trade_no),
    ):
        assert (call()["code"], call()["sub_code"]) == ("40004", "ACQ.TRADE_NOT_EXIST")

    # when the buyer opens it, the trade waits for payment
    assert emulator.open_qr(answer["qr_code"]).status_code == 200
    waiting = alipay.api_alipay_trade_query(out_trade_no=out_trade_no)
    assert (waiting["code"], waiting["trade_status"]) == ("10000", "WAIT_BUYER_PAY")
    assert (waiting["total_amount"], waiting["buyer_pay_amount"]) == ("12.34", "0.00")
    assert "send_pay_date" not in waiting

    # then paid, it is TRADE_SUCCESS with what the buyer paid and when
    assert emulator.pay(out_trade_no).json()["trade_status"] == "TRADE_SUCCESS"
    success = alipay.api_alipay_trade_query(out_trade_no=out_trade_no)
    assert success["trade_status"] == "TRADE_SUCCESS"
    assert (success["total_amount"], success["buyer_pay_amount"]) == ("12.34", "12.34")
    assert success["trade_no"] == waiting["trade_no"]
    assert len(success["send_pay_date"]) == 19
    by_trade_no = alipay.api_alipay_trade_query(trade_no=success["trade_no"])
    assert by_trade_no["out_trade_no"] == out_trade_no


def test_an_unscanned_qr_closed_as_not_found_stays_payable(precreate, alipay, emulator):
    out_trade_no, _ = precreate()
    close = alipay.api_alipay_trade_close(out_trade_no=out_trade_no)
    assert close["sub_code"] == "ACQ.TRADE_NOT_EXIST"
    # the buyer scans the old code later and pays: the "not found" close closed nothing
    assert emulator.pay(out_trade_no).status_code == 200
    assert alipay.api_alipay_trade_query(out_trade_no=out_trade_no)["trade_status"] == (
        "TRADE_SUCCESS"
    )


def test_close_of_a_waiting_trade_and_of_a_paid_one(precreate, alipay, emulator):
    out_trade_no, answer = precreate()
    emulator.open_qr(answer["qr_code"])
    closed = alipay.api_alipay_trade_close(out_trade_no=out_trade_no)
    assert (closed["code"], closed["out_trade_no"]) == ("10000", out_trade_no)
    assert alipay.api_alipay_trade_query(out_trade_no=out_trade_no)["trade_status"] == (
        "TRADE_CLOSED"
    )
    refused = emulator.pay(out_trade_no)
    assert (refused.status_code, refused.json()["code"]) == (409, "ACQ.TRADE_HAS_CLOSE")
    again = alipay.api_alipay_trade_close(out_trade_no=out_trade_no)
    assert again["sub_code"] == "ACQ.TRADE_STATUS_ERROR"

    paid_no, _ = precreate()
    emulator.pay(paid_no)
    paid_close = alipay.api_alipay_trade_close(out_trade_no=paid_no)
    assert (paid_close["code"], paid_close["sub_code"]) == ("40004", "ACQ.TRADE_STATUS_ERROR")
    assert alipay.api_alipay_trade_query(out_trade_no=paid_no)["trade_status"] == "TRADE_SUCCESS"


def test_time_expire_is_enforced(precreate, alipay, emulator, eventually):
    out_trade_no, answer = precreate(expire_seconds=2)
    emulator.open_qr(answer["qr_code"])
    assert eventually(
        lambda: (
            alipay.api_alipay_trade_query(out_trade_no=out_trade_no)["trade_status"]
            == "TRADE_CLOSED"
        ),
        timeout=5,
    )
    assert emulator.pay(out_trade_no).json()["code"] == "ACQ.TRADE_HAS_CLOSE"

    # a code never scanned before it expired never becomes a trade, and cannot be paid
    never_scanned, answer = precreate(expire_seconds=2)
    time.sleep(2.5)  # past time_expire (whole seconds), touching nothing
    assert emulator.pay(never_scanned).json()["code"] == "ACQ.TRADE_HAS_CLOSE"
    assert emulator.open_qr(answer["qr_code"]).status_code == 200  # the page says: closed
    query = alipay.api_alipay_trade_query(out_trade_no=never_scanned)
    assert query["sub_code"] == "ACQ.TRADE_NOT_EXIST"


@pytest.mark.parametrize(
    "time_expire",
    ["2030-01-01T00:00:00+08:00", "2030-01-01 00:00", "tomorrow", "2030-13-01 00:00:00", 5],
)
def test_a_malformed_time_expire_is_an_invalid_parameter(precreate, time_expire):
    _, answer = precreate(time_expire=time_expire)
    assert (answer["code"], answer["sub_code"]) == ("40004", "ACQ.INVALID_PARAMETER")


def test_a_time_expire_in_the_past_or_too_far_is_refused(precreate):
    for time_expire in (china_time_in(-60), china_time_in(16 * 86400)):
        _, answer = precreate(time_expire=time_expire)
        assert answer["sub_code"] == "ACQ.INVALID_PARAMETER"


def test_timeout_express_is_read_and_time_expire_wins(precreate):
    for bad in ("90", "0m", "1x", "2c", "100000m", 5):
        _, answer = precreate(expire_seconds=None, timeout_express=bad)
        assert answer["sub_code"] == "ACQ.INVALID_PARAMETER", bad
    for good in ("1m", "90m", "2h", "15d", "1c"):
        assert precreate(expire_seconds=None, timeout_express=good)[1]["code"] == "10000", good
    _, too_long = precreate(expire_seconds=None, timeout_express="16d")
    assert too_long["sub_code"] == "ACQ.INVALID_PARAMETER"
    _, both = precreate(expire_seconds=600, timeout_express="16d")
    assert both["code"] == "10000"


@pytest.mark.parametrize(
    "amount",
    ["12.3", "12", "12.345", "0.00", "-1.00", "1e3", "01.00", " 1.00", "100000000.01", 12.34, None],
)
def test_amounts_are_yuan_with_exactly_two_decimals(precreate, alipay, amount):
    out_trade_no, answer = precreate(total_amount=amount)
    assert (answer["code"], answer["sub_code"]) == ("40004", "ACQ.INVALID_PARAMETER")
    assert alipay.api_alipay_trade_query(out_trade_no=out_trade_no)["sub_code"] == (
        "ACQ.TRADE_NOT_EXIST"
    )


def test_amounts_are_read_exactly(precreate, emulator, alipay):
    for amount in ("0.01", "0.29", "1234567.89", "100000000.00"):
        out_trade_no, answer = precreate(total_amount=amount)
        assert answer["code"] == "10000", answer
        emulator.pay(out_trade_no)
        assert alipay.api_alipay_trade_query(out_trade_no=out_trade_no)["total_amount"] == amount


def test_a_repeated_precreate_answers_the_same_code_and_a_changed_one_is_refused(precreate):
    out_trade_no = new_out_trade_no()
    time_expire = china_time_in(600)
    _, first = precreate(out_trade_no=out_trade_no, time_expire=time_expire)
    _, again = precreate(out_trade_no=out_trade_no, time_expire=time_expire)
    assert again["qr_code"] == first["qr_code"]
    _, changed = precreate(out_trade_no=out_trade_no, time_expire=time_expire, total_amount="2.00")
    assert changed["sub_code"] == "ACQ.CONTEXT_INCONSISTENT"


def test_a_paid_trade_cannot_be_created_again(paid, precreate):
    out_trade_no = paid()
    _, answer = precreate(out_trade_no=out_trade_no, expire_seconds=None)
    assert answer["sub_code"] in ("ACQ.TRADE_HAS_SUCCESS", "ACQ.CONTEXT_INCONSISTENT")


def test_concurrent_precreates_of_one_out_trade_no_make_one_trade(alipay):
    out_trade_no = new_out_trade_no()
    answers: list[str] = []
    start = threading.Barrier(6)

    def create() -> None:
        start.wait()
        answer = alipay.api_alipay_trade_precreate(
            subject="x", out_trade_no=out_trade_no, total_amount="3.00"
        )
        answers.append(answer["qr_code"])

    threads = [threading.Thread(target=create) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 6
    assert len(set(answers)) == 1


def test_the_buyer_cannot_pay_twice(paid, emulator):
    out_trade_no = paid()
    again = emulator.pay(out_trade_no)
    assert (again.status_code, again.json()["code"]) == (409, "ACQ.TRADE_HAS_SUCCESS")
    missing = emulator.pay(new_out_trade_no("missing"))
    assert (missing.status_code, missing.json()["code"]) == (404, "ACQ.TRADE_NOT_EXIST")
