"""The wallet page a QR code opens: what the buyer sees on their phone, with a Pay button."""

from html import escape
from typing import Any

import segno

# ISO 4217 minor-unit exponents that differ from the usual 2.
ZERO_DECIMALS = {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX"}
ZERO_DECIMALS |= {"VND", "VUV", "XAF", "XOF", "XPF"}
THREE_DECIMALS = {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"}

STYLE = """
body{font-family:system-ui,-apple-system,sans-serif;margin:0;background:#f2f4f7;color:#1d2939}
main{max-width:420px;margin:0 auto;padding:24px 16px}
.card{background:#fff;border-radius:12px;padding:24px;box-shadow:0 1px 3px rgba(0,0,0,.1)}
h1{font-size:1rem;font-weight:600;color:#475467;margin:0 0 8px}
.amount{font-size:2.25rem;font-weight:700;margin:8px 0 16px}
.status{display:inline-block;padding:2px 10px;border-radius:999px;background:#eef2f6;
font-size:.85rem}
.ok{color:#067647}.bad{color:#b42318}
button{width:100%;padding:14px;font-size:1.1rem;border:0;border-radius:8px;background:#1570ef;
color:#fff;margin-top:16px}
.qr{text-align:center;margin-top:20px;color:#667085;font-size:.8rem}
a{color:#1570ef}
"""


def format_amount(amount: int, currency: str) -> str:
    exponent = 0 if currency in ZERO_DECIMALS else 3 if currency in THREE_DECIMALS else 2
    if exponent == 0:
        return f"{amount:,} {currency}"
    units, fraction = divmod(amount, 10**exponent)
    return f"{units:,}.{fraction:0{exponent}d} {currency}"


def trade_page(
    trade: dict[str, Any],
    return_url: str | None,
    payable: bool,
    problem: str | None = None,
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
            # Back to the merchant, like a real wallet does after a short pause.
            head_extra = f'<meta http-equiv="refresh" content="3;url={escape(return_url)}">'
            parts.append(
                f'<p><a id="return-link" href="{escape(return_url)}">Return to the merchant</a></p>'
            )
    elif payable:
        action = f"/wallet/{escape(trade['trade_no'])}/pay"
        parts.append(
            f'<form method="post" action="{action}">'
            '<button type="submit" id="pay-button">Pay</button></form>'
        )
        qr = segno.make(trade["pay_url"], error="m").svg_inline(scale=3)
        parts.append(f'<div class="qr">{qr}<br>Scan to open this wallet on your phone</div>')
    else:
        parts.append('<p class="bad" id="result">This payment is closed and cannot be paid.</p>')
    return _document("Sandbox wallet", "".join(parts), head_extra)


def not_found_page() -> str:
    return _document("Not found", "<h1>Unknown trade</h1><p>There is no such payment.</p>")


def _document(title: str, body: str, head_extra: str = "") -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style>{head_extra}</head>"
        f'<body><main><div class="card">{body}</div></main></body></html>'
    )
