"""Run the emulator as a real subprocess, for tests: start, stop, kill, restart.

    with EmulatorProcess(tmp_path / "alipay") as emulator:
        emulator.pay("order_123")

Process control is every simulated channel's (``channel_sim.runner``); the options, the ready
line and the helpers are the emulator's (query through the signed gateway: there is no ``trade``
helper). The keys and the store live in ``data_dir`` and survive ``restart()``.
"""

import json
import os
import re
import sys
from collections.abc import Iterable
from typing import Any

import requests

from channel_sim.runner import ChannelProcess


class EmulatorProcess(ChannelProcess):
    module = "alipay_emulator"
    ready_line = re.compile(r"alipay emulator listening on http://\S+:(\d+)")
    log_name = "alipay.log"
    name = "emulator"
    faults_path = "/_emulator/faults"
    console_refund_path = "/_emulator/refund/{}"

    def __init__(
        self,
        data_dir: str | os.PathLike,
        port: int | None = None,
        notify_schedule: Iterable[float] = (0, 0.2, 0.5, 1),
        min_expire_seconds: float = 60,
        bill_url_ttl: float = 30,
        refund_interval: float = 0,
        python: str = sys.executable,
    ):
        super().__init__(data_dir, port=port, notify_schedule=notify_schedule, python=python)
        self.min_expire_seconds = min_expire_seconds
        self.bill_url_ttl = bill_url_ttl
        # not enforced unless a test asks: adapter-level tests refund one trade back to back
        self.refund_interval = refund_interval

    @property
    def gateway_url(self) -> str:
        return f"{self.url}/gateway.do"

    def _options(self) -> list[str]:
        return [
            f"--min-expire-seconds={self.min_expire_seconds}",
            f"--bill-url-ttl={self.bill_url_ttl}",
            f"--refund-interval={self.refund_interval}",
        ]

    # -- helpers -------------------------------------------------------------------------

    @property
    def manifest(self) -> dict[str, Any]:
        """The generated identities: app_id, seller_id and the PEM key files."""
        return json.loads((self.data_dir / "keys" / "manifest.json").read_text())

    def pay(self, out_trade_no: str) -> requests.Response:
        return self.request("POST", f"/_emulator/pay/{out_trade_no}")

    def finish(self, out_trade_no: str) -> requests.Response:
        return self.request("POST", f"/_emulator/finish/{out_trade_no}")

    def open_qr(self, qr_code: str) -> requests.Response:
        """The buyer scans the QR code: the wallet page opens and the trade comes to exist."""
        return self.request("GET", qr_code.removeprefix(self.url))

    def notifications(self, subject: str | None = None) -> list[dict[str, Any]]:
        params = {"subject": subject} if subject is not None else None
        return self._ok(self.request("GET", "/_emulator/notifications", params=params)).json()

    def calls(self, method: str | None = None, key: str | None = None) -> list[dict[str, Any]]:
        params = {name: value for name, value in (("method", method), ("key", key)) if value}
        return self._ok(self.request("GET", "/_emulator/calls", params=params)).json()
