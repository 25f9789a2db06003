"""The sandbox's root page (the URL `make run` prints): what this channel is, its API, where
the docs are, and a wallet link for each recent trade. And its favicon."""

from html import escape

from channel_sim.pages import document, format_amount

# (method, path, what it does): the API as docs/sandbox.md describes it.
API = (
    ("POST", "/v1/trades", "create a trade (idempotent on out_trade_no)"),
    ("GET", "/v1/trades/<out_trade_no>", "query a trade"),
    ("POST", "/v1/trades/<out_trade_no>/close", "close a trade"),
    ("POST", "/v1/trades/<out_trade_no>/pay", "the buyer pays, without a browser"),
    ("POST", "/v1/refunds", "refund (idempotent on out_refund_no)"),
    ("GET", "/v1/refunds/<out_refund_no>", "query a refund"),
    ("GET", "/v1/statements/<YYYY-MM-DD>", "the day's statement (CSV)"),
    ("GET", "/v1/faults", "the faults injected now (POST replaces them, {} resets)"),
    ("GET", "/v1/notifications", "every notification attempt"),
    ("GET", "/v1/calls", "every API call received"),
    ("GET", "/wallet/<trade_no>", "the wallet page a QR code opens"),
)
LINKED = {"/v1/faults", "/v1/notifications", "/v1/calls"}
DOCS = "docs/sandbox.md"  # in the Paycenter repository
HOME_STYLE = (
    "<style>main{max-width:760px}h2{font-size:1rem;margin:20px 0 8px}"
    "table{border-collapse:collapse;font-size:.85rem}"
    "td{padding:4px 8px;border-top:1px solid #eaecf0;vertical-align:top}</style>"
    '<link rel="icon" href="/favicon.ico" type="image/svg+xml">'
)

FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    '<rect width="32" height="32" rx="7" fill="#0b5cad"/>'
    '<text x="16" y="23" font-family="sans-serif" font-size="19" font-weight="700" '
    'fill="#fff" text-anchor="middle">S</text></svg>'
)


def home_page(trades) -> str:
    calls = "".join(
        f"<tr><td>{method}</td><td><code>{_path(path, method)}</code></td>"
        f"<td>{escape(what)}</td></tr>"
        for method, path, what in API
    )
    wallets = "".join(
        f'<li><a href="/wallet/{escape(trade["trade_no"])}">{escape(trade["subject"])}</a> · '
        f"{escape(format_amount(trade['amount'], trade['currency']))} · {escape(trade['status'])}"
        f" · {escape(trade['channel'])}</li>"
        for trade in trades
    )
    body = (
        "<h1>Sandbox payment channel</h1>"
        "<p>A fake third-party payment channel for Paycenter: its own process and storage, "
        f"HTTP only. Its documentation is <code>{DOCS}</code> in the repository.</p>"
        f'<h2>Wallet</h2><ul id="wallets">{wallets or "<li>No trades yet.</li>"}</ul>'
        f'<h2>API</h2><table id="api">{calls}</table>'
        '<p><a href="/healthz">Health</a></p>'
    )
    return document("Sandbox channel", body, HOME_STYLE)


def _path(path: str, method: str) -> str:
    if method == "GET" and path in LINKED:
        return f'<a href="{path}">{path}</a>'
    return escape(path)
