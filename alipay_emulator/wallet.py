"""The wallet page a QR code or the WAP cashier opens: what the buyer sees in Alipay, with Pay."""

import sqlite3
from html import escape
from urllib.parse import quote

from channel_sim.pages import document, format_amount, qr_block
from channel_sim.wallet import return_soon

from . import trades


def trade_page(
    trade: sqlite3.Row,
    page_url: str,
    return_url: str | None,
    problem: str | None = None,
    just_paid: bool = False,
) -> str:
    status = trade["trade_status"]
    parts = [
        f"<h1>{escape(trade['subject'])}</h1>",
        f'<div class="amount">{escape(format_amount(trade["total"], "CNY"))}</div>',
        f'<span class="status" id="trade-status">{escape(status)}</span>',
        f"<p>Merchant order {escape(trade['out_trade_no'])}</p>",
    ]
    if problem:
        parts.append(f'<p class="bad" id="problem">{escape(problem)}</p>')
    head_extra = ""
    if status in trades.PAID:
        parts.append('<p class="ok" id="result">Payment successful</p>')
        if return_url:
            parts.append(
                f'<p><a id="return-link" href="{escape(return_url)}">Back to the merchant</a></p>'
            )
            head_extra = return_soon(return_url, paid_just_now=just_paid)
    elif status == "WAIT_BUYER_PAY":
        action = f"/_emulator/wallet/{quote(trade['wallet_id'])}/pay"
        parts.append(
            f'<form method="post" action="{escape(action)}">'
            '<button type="submit" id="pay-button">Pay</button></form>'
        )
        if trade["quit_url"]:
            parts.append(f'<p><a id="quit-link" href="{escape(trade["quit_url"])}">Cancel</a></p>')
        parts.append(qr_block(page_url))
    else:
        parts.append('<p class="bad" id="result">This trade is closed and cannot be paid.</p>')
    return document("Alipay (emulator)", "".join(parts), head_extra, lang="zh-CN")


def error_page(sub_code: str, sub_msg: str) -> str:
    """What Alipay's cashier shows for a bad WAP request: the error code, never a stack trace."""
    return document(
        "Alipay error",
        f'<h1>错误代码 <span id="error-code">{escape(sub_code)}</span></h1>'
        f'<p class="bad" id="problem">{escape(sub_msg)}</p>',
        lang="zh-CN",
    )


def not_found_page() -> str:
    body = "<h1>Unknown trade</h1><p>There is no such payment.</p>"
    return document("Not found", body, lang="zh-CN")
