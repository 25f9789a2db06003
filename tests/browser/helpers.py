"""Driving the checkout like a customer, and keeping screenshots of what they see."""

import re
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from playwright.sync_api import Page, expect

from sandbox_channel.runner import SandboxProcess

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts" / "checkout"


@dataclass
class Shop:
    url: str
    sandbox: SandboxProcess


def buy(page: Page, shop_url: str, product: str = "Ceramic mug") -> str:
    """Order a product in the demo shop: the order id."""
    page.goto(f"{shop_url}/")
    page.get_by_label(product).check()
    page.get_by_role("button", name="Create order").click()
    expect(page.get_by_role("heading", name="Choose how to pay")).to_be_visible()
    return re.search(r"/checkout/(ord_\w+)/", page.url).group(1)


def pay_with(page: Page, channel: str = "Sandbox wallet") -> None:
    """Choose a channel and press Pay: the QR code to scan."""
    page.get_by_label(channel).check()
    page.locator("#pay-button").click()
    expect(page.get_by_role("heading", name="Scan to pay")).to_be_visible()
    expect(page.locator("svg.qr-code")).to_be_visible()


def heading(page: Page, name: str):
    return page.get_by_role("heading", name=name)


def screenshot(page: Page, name: str) -> None:
    """The whole page at phone and desktop widths, under test-artifacts/checkout/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    for label, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(viewport)
        page.screenshot(path=ARTIFACTS / f"{name}-{label}.png", full_page=True)
    page.set_viewport_size(size)
