"""Run the emulator as a real subprocess, for tests: start, stop, kill, restart.

    with EmulatorProcess(tmp_path / "wechatpay") as emulator:
        emulator.pay("order_123")

Process control is every simulated channel's (``channel_sim.runner``); the options, the ready
line and the helpers are the emulator's (no ``trade``/``refund``/``statement`` helpers: query
through the signed v3 API instead). The keys and the store live in ``data_dir`` and survive
``restart()``.
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
    module = "wechatpay_emulator"
    ready_line = re.compile(r"wechatpay emulator listening on http://\S+:(\d+)")
    log_name = "wechatpay.log"
    name = "emulator"
    faults_path = "/_emulator/faults"
    console_refund_path = "/_emulator/refund/{}"

    def __init__(
        self,
        data_dir: str | os.PathLike,
        port: int | None = None,
        notify_schedule: Iterable[float] = (0, 0.2, 0.5, 1),
        refund_delay_ms: int = 0,
        min_expire_seconds: float = 60,
        signer: str = "public_key",
        fee_rate: str = "0.006",
        # WeChat's is 5 minutes; tests that do not test it close at once
        close_not_before_seconds: float = 0,
        python: str = sys.executable,
    ):
        super().__init__(data_dir, port=port, notify_schedule=notify_schedule, python=python)
        self.refund_delay_ms = refund_delay_ms
        self.min_expire_seconds = min_expire_seconds
        self.signer = signer
        self.fee_rate = fee_rate
        self.close_not_before_seconds = close_not_before_seconds

    def _options(self) -> list[str]:
        return [
            f"--refund-delay-ms={self.refund_delay_ms}",
            f"--min-expire-seconds={self.min_expire_seconds}",
            f"--signer={self.signer}",
            f"--fee-rate={self.fee_rate}",
            f"--close-not-before-seconds={self.close_not_before_seconds}",
        ]

    # -- helpers -------------------------------------------------------------------------

    @property
    def manifest(self) -> dict[str, Any]:
        """The generated identities: mchid, appid, key file paths, serials, public key id."""
        return json.loads((self.data_dir / "keys" / "manifest.json").read_text())

    def pay(self, out_trade_no: str, outcome: str = "SUCCESS") -> requests.Response:
        return self.request("POST", f"/_emulator/pay/{out_trade_no}", json={"outcome": outcome})

    def settle_refund(self, out_refund_no: str, status: str) -> dict[str, Any]:
        path = f"/_emulator/refunds/{out_refund_no}/settle"
        return self._ok(self.request("POST", path, json={"status": status})).json()

    def misstate_bill_fee_total(self, offset: int) -> dict[str, Any]:
        """Bills state their fee total off by ``offset`` fen from their lines' (0: honest)."""
        body = {"fee_total_offset": offset}
        return self._ok(self.request("POST", "/_emulator/bill_summary", json=body)).json()

    def notifications(self, subject: str | None = None) -> list[dict[str, Any]]:
        params = {"subject": subject} if subject is not None else None
        return self._ok(self.request("GET", "/_emulator/notifications", params=params)).json()

    def calls(self, operation: str | None = None, key: str | None = None) -> list[dict[str, Any]]:
        params = {name: value for name, value in (("operation", operation), ("key", key)) if value}
        return self._ok(self.request("GET", "/_emulator/calls", params=params)).json()
