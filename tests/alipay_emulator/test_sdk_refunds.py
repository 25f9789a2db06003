"""Refunds through python-alipay-sdk: idempotent on out_request_no, never beyond what was paid,
a full refund closes the trade; the refund query's empty success means "not refunded"."""

import threading

from .conftest import new_out_trade_no


def _refund(alipay, out_trade_no, amount, out_request_no=None):
    extra = {"out_request_no": out_request_no} if out_request_no else {}
    return alipay.api_alipay_trade_refund(amount, out_trade_no=out_trade_no, **extra)


def test_a_partial_refund_is_made_once_per_out_request_no(paid, alipay):
    out_trade_no = paid("10.00")
    out_request_no = new_out_trade_no("rf")
    # before: the refund query's empty success
    before = alipay.api_alipay_trade_fastpay_refund_query(out_request_no, out_trade_no=out_trade_no)
    assert before == {"code": "10000", "msg": "Success"}

    first = _refund(alipay, out_trade_no, "3.50", out_request_no)
    assert (first["code"], first["fund_change"], first["refund_fee"]) == ("10000", "Y", "3.50")
    again = _refund(alipay, out_trade_no, "3.50", out_request_no)
    assert (again["code"], again["fund_change"], again["refund_fee"]) == ("10000", "N", "3.50")
    other = _refund(alipay, out_trade_no, "3.49", out_request_no)
    assert other["sub_code"] == "ACQ.DISCORDANT_REPEAT_REQUEST"

    found = alipay.api_alipay_trade_fastpay_refund_query(out_request_no, out_trade_no=out_trade_no)
    assert (found["refund_amount"], found["total_amount"]) == ("3.50", "10.00")
    assert found["refund_status"] == "REFUND_SUCCESS"
    assert alipay.api_alipay_trade_query(out_trade_no=out_trade_no)["trade_status"] == (
        "TRADE_SUCCESS"
    )


def test_refunds_never_exceed_what_was_paid_and_a_full_refund_closes_the_trade(paid, alipay):
    out_trade_no = paid("1.00")
    assert _refund(alipay, out_trade_no, "0.60", "r1")["fund_change"] == "Y"
    beyond = _refund(alipay, out_trade_no, "0.41", "r2")
    assert (beyond["code"], beyond["sub_code"]) == ("40004", "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL")
    assert alipay.api_alipay_trade_fastpay_refund_query("r2", out_trade_no=out_trade_no) == {
        "code": "10000",
        "msg": "Success",
    }
    rest = _refund(alipay, out_trade_no, "0.40", "r2")
    assert (rest["fund_change"], rest["refund_fee"]) == ("Y", "1.00")
    # a trade refunded in full is TRADE_CLOSED, yet its refunds stay answerable
    assert alipay.api_alipay_trade_query(out_trade_no=out_trade_no)["trade_status"] == (
        "TRADE_CLOSED"
    )
    assert _refund(alipay, out_trade_no, "0.40", "r2")["fund_change"] == "N"
    assert _refund(alipay, out_trade_no, "0.01", "r3")["sub_code"] == "ACQ.TRADE_STATUS_ERROR"


def test_a_refund_without_out_request_no_is_the_whole_trade_once(paid, alipay):
    out_trade_no = paid("2.00")
    assert _refund(alipay, out_trade_no, "2.00")["fund_change"] == "Y"
    assert _refund(alipay, out_trade_no, "2.00")["fund_change"] == "N"
    found = alipay.api_alipay_trade_fastpay_refund_query(out_trade_no, out_trade_no=out_trade_no)
    assert found["refund_amount"] == "2.00"


def test_only_a_paid_and_unfinished_trade_can_be_refunded(precreate, paid, alipay, emulator):
    waiting, answer = precreate()
    emulator.open_qr(answer["qr_code"])
    assert _refund(alipay, waiting, "1.00")["sub_code"] == "ACQ.TRADE_STATUS_ERROR"

    finished = paid()
    assert emulator.finish(finished).json()["trade_status"] == "TRADE_FINISHED"
    assert alipay.api_alipay_trade_query(out_trade_no=finished)["trade_status"] == "TRADE_FINISHED"
    assert _refund(alipay, finished, "1.00")["sub_code"] == "ACQ.TRADE_HAS_FINISHED"

    missing = new_out_trade_no("missing")
    assert _refund(alipay, missing, "1.00")["sub_code"] == "ACQ.TRADE_NOT_EXIST"
    query = alipay.api_alipay_trade_fastpay_refund_query("r1", out_trade_no=missing)
    assert query["sub_code"] == "ACQ.TRADE_NOT_EXIST"


def test_refund_amounts_are_exact_yuan(paid, alipay):
    out_trade_no = paid("1.00")
    for amount in ("0.5", "1", "0.001", "0.00", "-0.10", 0.5):
        answer = alipay.api_alipay_trade_refund(amount, out_trade_no=out_trade_no)
        assert answer["sub_code"] == "ACQ.INVALID_PARAMETER", amount


def test_concurrent_refunds_never_exceed_the_paid_amount(paid, alipay):
    out_trade_no = paid("1.00")
    answers: list[str] = []
    start = threading.Barrier(8)

    def refund() -> None:
        start.wait()
        answer = _refund(alipay, out_trade_no, "0.30", new_out_trade_no("rf"))
        answers.append(answer.get("fund_change") or answer["sub_code"])

    threads = [threading.Thread(target=refund) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == ["ACQ.REFUND_AMT_NOT_EQUAL_TOTAL"] * 5 + ["Y"] * 3
