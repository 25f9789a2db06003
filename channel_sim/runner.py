"""Run a simulated channel as a real subprocess, for tests: start, stop, kill, restart.

The process gets its own process group and logs to ``<data_dir>/<log_name>``; its storage lives in
``data_dir`` and survives ``restart()``. A subclass names its module, its ready line, its log, its
own command-line options and its test helpers.
"""

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Self

import requests

PACKAGE_PARENT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 15.0
STOP_GRACE = 5.0
HTTP_TIMEOUT = 30.0


class ChannelProcess:
    module: str  # run as ``python -m <module>``
    ready_line: re.Pattern[str]  # printed once listening; group 1 is the port
    log_name: str
    name: str  # how messages call it
    faults_path: str
    # the test-only door for a refund made in the merchant's console: ``{}`` is the out_trade_no
    console_refund_path: str

    def __init__(
        self,
        data_dir: str | os.PathLike,
        port: int | None = None,
        notify_schedule: Iterable[float] = (0, 0.2, 0.5, 1),
        python: str = sys.executable,
    ):
        self.data_dir = Path(data_dir)
        self.port = port  # None until the first start picks a free one; then kept for restarts
        self.notify_schedule = tuple(notify_schedule)
        self.python = python
        self.log_path = self.data_dir / self.log_name
        self._process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError(f"the {self.name} has not been started yet")
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    # -- what a channel adds -------------------------------------------------------------

    def _options(self) -> list[str]:
        """The channel's own command-line options, after the ones every channel takes."""
        return []

    def _environment(self) -> dict[str, str]:
        """Extra environment for the process (secrets go here, not in argv)."""
        return {}

    # -- process control -----------------------------------------------------------------

    def start(self) -> None:
        if self.running:
            raise RuntimeError(f"the {self.name} is already running")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # Port 0 lets the process bind a free port itself (no race); it prints the one it got.
        command = [
            self.python,
            "-m",
            self.module,
            "--host=127.0.0.1",
            f"--port={self.port or 0}",
            f"--data={self.data_dir}",
            f"--notify-schedule={','.join(str(step) for step in self.notify_schedule)}",
            *self._options(),
        ]
        env = dict(os.environ, PYTHONUNBUFFERED="1", **self._environment())
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

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after a grace period; the exit code, or None if not running."""
        if self._process is None:
            return None
        process, self._process = self._process, None
        if process.poll() is None:
            self._signal(process, signal.SIGTERM)
            try:
                process.wait(STOP_GRACE)
            except subprocess.TimeoutExpired:
                self._signal(process, signal.SIGKILL)
                process.wait()
        return process.returncode

    def kill(self) -> None:
        """Die like a crash: SIGKILL, no clean shutdown."""
        if self._process is None:
            return
        process, self._process = self._process, None
        self._signal(process, signal.SIGKILL)
        process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def _wait_until_ready(self, log_offset: int) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                code = self._process.returncode
                self._process = None
                raise RuntimeError(f"{self.name} exited with {code} on start:\n{self.log_tail()}")
            # The ready line proves it is this process (not a stranger) that owns the port.
            ready_port = self._port_from_log(log_offset)
            if ready_port is not None:
                self.port = ready_port
                if self._healthy():
                    return
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(
            f"{self.name} did not become ready in {START_TIMEOUT} s:\n{self.log_tail()}"
        )

    def _port_from_log(self, offset: int) -> int | None:
        with open(self.log_path, "rb") as log:
            log.seek(offset)
            match = self.ready_line.search(log.read().decode(errors="replace"))
        return int(match.group(1)) if match else None

    def _healthy(self) -> bool:
        try:
            return requests.get(f"{self.url}/healthz", timeout=1).ok
        except requests.RequestException:
            return False

    @staticmethod
    def _signal(process: subprocess.Popen, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signum)

    # -- API helpers ---------------------------------------------------------------------

    def request(
        self, method: str, path: str, timeout: float = HTTP_TIMEOUT, **kwargs: Any
    ) -> requests.Response:
        # No shared Session: tests call these helpers from several threads at once.
        return requests.request(method, f"{self.url}{path}", timeout=timeout, **kwargs)

    def set_faults(self, faults: dict[str, Any]) -> dict[str, Any]:
        return self._ok(self.request("POST", self.faults_path, json=faults)).json()

    def reset_faults(self) -> dict[str, Any]:
        return self.set_faults({})

    def console_refund(
        self, out_trade_no: str, amount: int, out_refund_no: str | None = None
    ) -> dict[str, Any]:
        """The merchant refunds in the channel's own console, past Paycenter: the refund as
        recorded (``out_refund_no`` is the channel's own number when none is given)."""
        body = {"amount": amount} | ({"out_refund_no": out_refund_no} if out_refund_no else {})
        path = self.console_refund_path.format(out_trade_no)
        return self._ok(self.request("POST", path, json=body)).json()

    def _ok(self, response: requests.Response) -> requests.Response:
        if not response.ok:
            raise requests.HTTPError(
                f"{self.name} answered {response.status_code} to {response.request.method}"
                f" {response.url}: {response.text[:500]}",
                response=response,
            )
        return response
