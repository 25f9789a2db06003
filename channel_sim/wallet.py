"""How every simulated wallet sends a buyer who has just paid back to the merchant, as a real
wallet does, without ever bouncing them forward again when they press Back.

The Pay click posts, pays, and redirects (post/redirect/get) to the wallet page marked as
"just paid"; only that one render returns to the merchant by itself, after a short pause,
replacing itself in the history. Back from the merchant's page then shows the wallet page
unmarked: paid, with a link back, and no automatic return. Wallet pages are never cached, so
Back never restores an older render (one offering Pay on a paid trade).
"""

import json
from collections.abc import Mapping

from channel_sim.web import Response, redirect

JUST_PAID = "paid"  # the query marker of the redirect that follows a Pay click
RETURN_PAUSE_MS = 3000  # long enough to read "Payment successful"


def after_pay(page_url: str) -> Response:
    """The answer to a Pay click that paid: the wallet page, marked as just paid."""
    separator = "&" if "?" in page_url else "?"
    return redirect(f"{page_url}{separator}{JUST_PAID}=1")


def just_paid(query: Mapping[str, str]) -> bool:
    return query.get(JUST_PAID) == "1"


def return_soon(return_url: str | None, *, paid_just_now: bool) -> str:
    """The page's head script that returns to the merchant: only right after the Pay click."""
    if not (return_url and paid_just_now):
        return ""
    target = json.dumps(return_url).replace("<", "\\u003c")
    return (
        "<script>setTimeout(function () {"
        f" location.replace({target}); }}, {RETURN_PAUSE_MS});</script>"
    )


def page_response(html: str, status: int = 200) -> Response:
    """A wallet page, never kept for Back."""
    return Response(
        status, html.encode(), "text/html; charset=utf-8", {"Cache-Control": "no-store"}
    )
