"""The wallet page the code_url / h5_url opens: what the buyer sees in WeChat, with a Pay button."""

import sqlite3
from html import escape
from urllib.parse import quote

from channel_sim.pages import document, format_amount, qr_block
from channel_sim.wallet import return_soon

from . import trades


def trade_page(
    trade: sqlite3.Row,
    page_url: str,
    redirect_url: str | None,
    problem: str | None = None,
    just_paid: bool = False,
) -> str:
    state = trade["trade_state"]
    parts = [
        f"<h1>{escape(trade['description'])}</h1>",
        f'<div class="amount">{escape(format_amount(trade["total"], trade["currency"]))}</div>',
        f'<span class="status" id="trade-status">{escape(state)}</span>',
        f"<p>Merchant order {escape(trade['out_trade_no'])}</p>",
    ]
    if problem:
        parts.append(f'<p class="bad" id="problem">{escape(problem)}</p>')
    head_extra = ""
    if state in trades.PAID:
        parts.append('<p class="ok" id="result">Payment successful</p>')
        if redirect_url:
            parts.append(
                f'<p><a id="return-link" href="{escape(redirect_url)}">Back to shop</a></p>'
            )
            head_extra = return_soon(redirect_url, paid_just_now=just_paid)
    elif state in ("NOTPAY", "PAYERROR"):
        action = f"/_emulator/wallet/{quote(trade['prepay_id'])}/pay"
        hidden = (
            f'<input type="hidden" name="redirect_url" value="{escape(redirect_url)}">'
            if redirect_url
            else ""
        )
        parts.append(
            f'<form method="post" action="{escape(action)}">{hidden}'
            '<button type="submit" id="pay-button">Pay</button></form>'
        )
        parts.append(qr_block(page_url))
    else:
        parts.append('<p class="bad" id="result">This order is closed and cannot be paid.</p>')
    return document("WeChat Pay (emulator)", "".join(parts), head_extra)


def not_found_page() -> str:
    return document("Not found", "<h1>Unknown order</h1><p>There is no such payment.</p>")
