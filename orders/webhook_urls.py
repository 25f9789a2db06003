"""Where a merchant's webhooks may go: `https` (plain `http` only with WEBHOOK_ALLOW_HTTP, for
local development), and never to a loopback, link-local, private or otherwise non-public
address (unless WEBHOOK_ALLOW_PRIVATE_ADDRESSES) — or a merchant could make us call our own
network.

Checked when the URL is saved and again at every send: the name is resolved then, every address
it resolves to must be public, and the request goes to the address that was checked (pinned),
so a name that changes its answer between the check and the connection (DNS rebinding) gains
nothing.
"""

import contextlib
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings

from orders.errors import Refusal

DEFAULT_PORTS = {"https": 443, "http": 80}


class WebhookUrlRefused(Refusal):
    def __init__(self, message: str):
        super().__init__("webhook_url_refused", message)


class WebhookHostUnresolved(WebhookUrlRefused):
    pass


@dataclass(frozen=True)
class WebhookTarget:
    """A checked webhook URL: send to ``url`` (its host replaced by the checked address) with
    ``host`` as the Host header and TLS name."""

    url: str
    host: str
    hostname: str


def webhook_target(url: str) -> WebhookTarget:
    """The URL checked and pinned to one of its public addresses, or WebhookUrlRefused."""
    parts = urlsplit(url)
    allowed = {"https", "http"} if settings.WEBHOOK_ALLOW_HTTP else {"https"}
    if parts.scheme not in allowed:
        raise WebhookUrlRefused(f"a webhook URL must use {' or '.join(sorted(allowed))}")
    if not parts.hostname:
        raise WebhookUrlRefused("a webhook URL needs a host")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (ValueError, OSError) as error:
        raise WebhookHostUnresolved(f"the webhook host cannot be resolved: {error}") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    private = [a for a in addresses if not is_public(a)]
    if private and not settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        raise WebhookUrlRefused(f"the webhook host resolves to a non-public address: {private[0]}")
    pinned = addresses[0]
    literal = f"[{pinned}]" if pinned.version == 6 else str(pinned)
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    host = parts.netloc.rpartition("@")[2]  # never the userinfo
    return WebhookTarget(
        url=urlunsplit(parts._replace(netloc=netloc)), host=host, hostname=parts.hostname
    )


def webhook_url_check(url: str) -> None:
    """The check when a URL is saved: WebhookUrlRefused, except for a name that does not
    resolve yet (harmless until it does, and then it is checked at every send)."""
    with contextlib.suppress(WebhookHostUnresolved):
        webhook_target(url)


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Globally routable unicast: not loopback, link-local, private, shared, reserved,
    multicast or unspecified (an IPv4 address inside IPv6 is judged as itself)."""
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast
