"""The wallet page a QR code or the WAP cashier opens: what the buyer sees in Alipay, with Pay."""

import sqlite3
from html import escape
from urllib.parse import quote

import segno

from sandbox_channel.wallet import STYLE, format_amount

from . import trades


def trade_page(
    trade: sqlite3.Row,
    page_url: str,
    return_url: str | None,
    problem: str | None = None,
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
    if status in trades.PAID:
        parts.append('<p class="ok" id="result">Payment successful</p>')
        if return_url:
            parts.append(
                f'<p><a id="return-link" href="{escape(return_url)}">Back to the merchant</a></p>'
            )
    elif status == "WAIT_BUYER_PAY":
        action = f"/_emulator/wallet/{quote(trade['wallet_id'])}/pay"
        parts.append(
            f'<form method="post" action="{escape(action)}">'
            '<button type="submit" id="pay-button">Pay</button></form>'
        )
        if trade["quit_url"]:
            parts.append(f'<p><a id="quit-link" href="{escape(trade["quit_url"])}">Cancel</a></p>')
        qr = segno.make(page_url, error="m").svg_inline(scale=3)
        parts.append(f'<div class="qr">{qr}<br>Scan to open this wallet on your phone</div>')
    else:
        parts.append('<p class="bad" id="result">This trade is closed and cannot be paid.</p>')
    return document("Alipay (emulator)", "".join(parts))


def error_page(sub_code: str, sub_msg: str) -> str:
    """What Alipay's cashier shows for a bad WAP request: the error code, never a stack trace."""
    return document(
        "Alipay error",
        f'<h1>错误代码 <span id="error-code">{escape(sub_code)}</span></h1>'
        f'<p class="bad" id="problem">{escape(sub_msg)}</p>',
    )


def not_found_page() -> str:
    return document("Not found", "<h1>Unknown trade</h1><p>There is no such payment.</p>")


def document(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f'<body><main><div class="card">{body}</div></main></body></html>'
    )
