"""Run the sandbox channel as a real subprocess, for tests: start, stop, kill, restart.

    with SandboxProcess(tmp_path / "sandbox") as sandbox:
        sandbox.pay("pay_123")

Process control is every simulated channel's (``channel_sim.runner``); the process logs to
``<data_dir>/sandbox.log``; its storage lives in ``data_dir`` and survives ``restart()``.
"""

import os
import re
import sys
from collections.abc import Iterable
from typing import Any

import requests

from channel_sim.runner import ChannelProcess


class SandboxProcess(ChannelProcess):
    module = "sandbox_channel"
    ready_line = re.compile(r"sandbox channel listening on http://\S+:(\d+)")
    log_name = "sandbox.log"
    name = "sandbox"
    faults_path = "/v1/faults"
    console_refund_path = "/v1/trades/{}/console_refund"

    def __init__(
        self,
        data_dir: str | os.PathLike,
        port: int | None = None,
        channels: Iterable[str] = ("sandbox", "sandbox_card"),
        secret: str = "test-secret",  # noqa: S107 (a throwaway secret for tests)
        notify_schedule: Iterable[float] = (0, 0.2, 0.5, 1),
        refund_delay_ms: int = 0,
        python: str = sys.executable,
    ):
        super().__init__(data_dir, port=port, notify_schedule=notify_schedule, python=python)
        self.channels = tuple(channels)
        self.secret = secret
        self.refund_delay_ms = refund_delay_ms

    def _options(self) -> list[str]:
        return [
            f"--channels={','.join(self.channels)}",
            f"--refund-delay-ms={self.refund_delay_ms}",
        ]

    def _environment(self) -> dict[str, str]:
        # The secret goes by environment, not argv, so it does not show in the process list.
        return {"SANDBOX_SECRET": self.secret}

    # -- API helpers ---------------------------------------------------------------------

    def pay(self, out_trade_no: str) -> requests.Response:
        return self.request("POST", f"/v1/trades/{out_trade_no}/pay", json={})

    def trade(self, out_trade_no: str) -> dict[str, Any]:
        return self._ok(self.request("GET", f"/v1/trades/{out_trade_no}")).json()

    def refund(self, out_refund_no: str) -> dict[str, Any]:
        return self._ok(self.request("GET", f"/v1/refunds/{out_refund_no}")).json()

    def notifications(self, out_trade_no: str | None = None) -> list[dict[str, Any]]:
        params = {"out_trade_no": out_trade_no} if out_trade_no is not None else None
        return self._ok(self.request("GET", "/v1/notifications", params=params)).json()

    def calls(self, operation: str | None = None, key: str | None = None) -> list[dict[str, Any]]:
        """API calls the channel received (operation: create|query|close|refund|...)."""
        params = {name: value for name, value in (("operation", operation), ("key", key)) if value}
        return self._ok(self.request("GET", "/v1/calls", params=params)).json()

    def statement(self, date_str: str, channel: str | None = None) -> str:
        params = {"channel": channel} if channel is not None else None
        return self._ok(self.request("GET", f"/v1/statements/{date_str}", params=params)).text
