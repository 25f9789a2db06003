"""What every simulated wallet page is made of: one look, amounts in major units, a QR code that
opens the page on a phone, and the HTML document around it all."""

from html import escape

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


def qr_block(url: str) -> str:
    qr = segno.make(url, error="m").svg_inline(scale=3)
    return f'<div class="qr">{qr}<br>Scan to open this wallet on your phone</div>'


def document(title: str, body: str, head_extra: str = "", lang: str = "en") -> str:
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style>{head_extra}</head>"
        f'<body><main><div class="card">{body}</div></main></body></html>'
    )
