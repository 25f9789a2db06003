"""Run the emulator as a real subprocess, for tests: start, stop, kill, restart.

    with EmulatorProcess(tmp_path / "alipay") as emulator:
        emulator.pay("order_123")

Process control is the sandbox's (``SandboxProcess``); the command line, the ready line and the
helpers differ (query through the signed gateway instead of the sandbox's ``trade``). The keys and
the store live in ``data_dir`` and survive ``restart()``.
"""

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterable
from typing import Any

import requests

from sandbox_channel.runner import PACKAGE_PARENT, SandboxProcess

READY_LINE = re.compile(r"alipay emulator listening on http://\S+:(\d+)")


class EmulatorProcess(SandboxProcess):
    def __init__(
        self,
        data_dir: str | os.PathLike,
        port: int | None = None,
        notify_schedule: Iterable[float] = (0, 0.2, 0.5, 1),
        min_expire_seconds: float = 60,
        bill_url_ttl: float = 30,
        python: str = sys.executable,
    ):
        super().__init__(data_dir, port=port, notify_schedule=notify_schedule, python=python)
        self.min_expire_seconds = min_expire_seconds
        self.bill_url_ttl = bill_url_ttl
        self.log_path = self.data_dir / "alipay.log"

    @property
    def gateway_url(self) -> str:
        return f"{self.url}/gateway.do"

    def start(self) -> None:
        if self.running:
            raise RuntimeError("the emulator is already running")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # Port 0 lets the process bind a free port itself (no race); it prints the one it got.
        command = [
            self.python,
            "-m",
            "alipay_emulator",
            "--host=127.0.0.1",
            f"--port={self.port or 0}",
            f"--data={self.data_dir}",
            f"--notify-schedule={','.join(str(step) for step in self.notify_schedule)}",
            f"--min-expire-seconds={self.min_expire_seconds}",
            f"--bill-url-ttl={self.bill_url_ttl}",
        ]
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(PACKAGE_PARENT), env.get("PYTHONPATH")])
        )
        log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        self._wait_until_ready(log_offset)

    def _port_from_log(self, offset: int) -> int | None:
        with open(self.log_path, "rb") as log:
            log.seek(offset)
            match = READY_LINE.search(log.read().decode(errors="replace"))
        return int(match.group(1)) if match else None

    # -- helpers -------------------------------------------------------------------------

    @property
    def manifest(self) -> dict[str, Any]:
        """The generated identities: app_id, seller_id and the PEM key files."""
        return json.loads((self.data_dir / "keys" / "manifest.json").read_text())

    def set_faults(self, faults: dict[str, Any]) -> dict[str, Any]:
        return self._ok(self.request("POST", "/_emulator/faults", json=faults)).json()

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
