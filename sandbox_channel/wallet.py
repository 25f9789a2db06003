"""The wallet page a QR code opens: what the buyer sees on their phone, with a Pay button."""

from html import escape
from typing import Any

from channel_sim.pages import document, format_amount, qr_block
from channel_sim.wallet import return_soon


def trade_page(
    trade: dict[str, Any],
    return_url: str | None,
    payable: bool,
    problem: str | None = None,
    just_paid: bool = False,
) -> str:
    status = trade["status"]
    parts = [
        f"<h1>{escape(trade['subject'])}</h1>",
        f'<div class="amount">{escape(format_amount(trade["amount"], trade["currency"]))}</div>',
        f'<span class="status" id="trade-status">{escape(status)}</span>',
        f"<p>Trade number {escape(trade['trade_no'])}</p>",
    ]
    if problem:
        parts.append(f'<p class="bad" id="problem">{escape(problem)}</p>')
    head_extra = ""
    if status == "SUCCESS":
        parts.append('<p class="ok" id="result">Payment successful</p>')
        if return_url:
            head_extra = return_soon(return_url, paid_just_now=just_paid)
            parts.append(
                f'<p><a id="return-link" href="{escape(return_url)}">Return to the merchant</a></p>'
            )
    elif payable:
        action = f"/wallet/{escape(trade['trade_no'])}/pay"
        parts.append(
            f'<form method="post" action="{action}">'
            '<button type="submit" id="pay-button">Pay</button></form>'
        )
        parts.append(qr_block(trade["pay_url"]))
    else:
        parts.append('<p class="bad" id="result">This payment is closed and cannot be paid.</p>')
    return document("Sandbox wallet", "".join(parts), head_extra)


def not_found_page() -> str:
    return document("Not found", "<h1>Unknown trade</h1><p>There is no such payment.</p>")
