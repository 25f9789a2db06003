"""The bill settles due refunds before it is built, as the sandbox's statement does: a refund
whose settling time has passed is in the bill as succeeded, whether or not the notifier's loop
has run since (here it never runs: the emulator's parts are built in this process)."""

import secrets

from sandbox_channel.faults import Faults
from wechatpay_emulator import clock, keys
from wechatpay_emulator.bills import Bills
from wechatpay_emulator.notifier import Notifier
from wechatpay_emulator.refunds import Refunds
from wechatpay_emulator.signer import Signer
from wechatpay_emulator.store import Store
from wechatpay_emulator.trades import Trades


def test_a_refund_due_to_settle_is_in_the_bill_although_the_notifier_never_ran(tmp_path):
    # given the emulator's parts, its notifier loop never started, and a paid trade
    identities = keys.load_or_create(tmp_path / "keys")
    store = Store(tmp_path / "wechatpay.sqlite3")
    faults = Faults()
    notifier = Notifier(store, faults, Signer(identities, "public_key"), identities.apiv3_key, (0,))
    trades = Trades(store, faults, identities, "http://127.0.0.1:9", notifier, 0, 0)
    refunds = Refunds(store, faults, notifier, delay_ms=0)
    bills = Bills(store, "http://127.0.0.1:9", settle_due=refunds.settle_due)
    out_trade_no = "P" + secrets.token_hex(8)
    trades.create(
        "NATIVE",
        {
            "appid": identities.appid,
            "mchid": identities.mchid,
            "out_trade_no": out_trade_no,
            "description": "tea",
            "notify_url": "http://127.0.0.1:9/callbacks/wechatpay/",
            "amount": {"total": 1000, "currency": "CNY"},
        },
    )
    trades.pay("out_trade_no", out_trade_no)
    # when a refund is made that is due at once but still PROCESSING in the store
    out_refund_no = "R" + secrets.token_hex(8)
    answer = refunds.create(
        {
            "out_trade_no": out_trade_no,
            "out_refund_no": out_refund_no,
            "amount": {"refund": 300, "total": 1000, "currency": "CNY"},
        }
    )
    assert answer["status"] == "PROCESSING"

    bill = bills.bill_text(clock.beijing_today(), "ALL")

    # then the bill lists it, succeeded
    refund_lines = [row for row in bill.split("\r\n") if f"`{out_refund_no}," in row]
    assert len(refund_lines) == 1
    assert "`REFUND," in refund_lines[0] and "`SUCCESS," in refund_lines[0]
    assert refunds.get(out_refund_no)["status"] == "SUCCESS"
    store.close()
