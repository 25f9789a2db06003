"""The whole system as real processes — web (gunicorn), django-q2 cluster(s), the sandbox and the
WeChat Pay and Alipay emulators — on a database of its own, for tests that kill workers and for
bench/recovery.py.

The caller's process only drives it over HTTP and reads its database with plain SQL; a cluster
can run under the same supervisor as `make run` (`supervised_cluster`), and its children can be
found by kind to be killed one at a time (`cluster_children`).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import requests

from alipay_emulator.runner import EmulatorProcess as AlipayEmulatorProcess
from config.chaos.doors import Answers, Paycenter
from config.processes import stop_processes
from config.supervisor import ClusterSupervisor
from payments.channels.alipay import AlipayChannel
from payments.channels.base import Channel
from payments.channels.sandbox import SandboxChannel
from payments.channels.wechatpay import WechatpayChannel
from sandbox_channel.runner import SandboxProcess
from tests.helpers import wait_for
from tests.paying_channels import PayingChannel
from wechatpay_emulator.runner import EmulatorProcess as WechatpayEmulatorProcess

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET = "system-test-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url_named(url: str, name: str) -> str:
    """The same server URL, pointing at another database."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


class System:
    def __init__(
        self,
        directory: Path,
        *,
        database_url: str,
        redis_url: str,
        settings: dict[str, str] | None = None,
        database: str = "paycenter_system",
        web_workers: int = 2,
        asgi: bool = False,
    ):
        self.directory = Path(directory)
        self.admin_url = database_url
        self.database_url = database_url_named(database_url, database)
        self.database = database
        self.port = free_port()
        self.web = f"http://127.0.0.1:{self.port}"
        self.web_workers = web_workers
        self.asgi = asgi  # uvicorn (server push streams) instead of gunicorn
        self.sandbox = SandboxProcess(
            self.directory / "sandbox", secret=SECRET, notify_schedule=(0, 0.5, 1, 2)
        )
        self.wechatpay = WechatpayEmulatorProcess(
            self.directory / "wechatpay", notify_schedule=(0, 0.5, 1, 2)
        )
        self.alipay = AlipayEmulatorProcess(
            self.directory / "alipay", notify_schedule=(0, 0.5, 1, 2)
        )
        self.settings = settings or {}
        self.redis_url = redis_url
        self.clusters: list[subprocess.Popen] = []
        self._web: subprocess.Popen | None = None
        self._http = requests.Session()

    # --- lifecycle ------------------------------------------------------------------------

    def start(self, clusters: int = 1) -> System:
        self.directory.mkdir(parents=True, exist_ok=True)
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")
            admin.execute(f"CREATE DATABASE {self.database}")
        for server in self.channel_servers:
            server.start()
        self._manage("migrate", "--verbosity", "0")
        self._manage("seed_demo")
        self._web = self._spawn("web", self._web_argv())
        for _ in range(clusters):
            self.start_cluster()
        wait_for(lambda: self._web_answers(), 60, what="web server up")
        return self

    def stop(self) -> None:
        processes = {f"cluster{i}": p for i, p in enumerate(self.clusters)}
        if self._web is not None:
            processes["web"] = self._web
        stop_processes(processes, grace=15, interrupt=set(processes) - {"web"})
        for server in self.channel_servers:
            server.stop()

    def __enter__(self) -> System:
        try:
            return self.start()
        except BaseException:
            self.stop()  # what had started must not outlive the failure (and poison later runs)
            raise

    def __exit__(self, *exc) -> None:
        self.stop()

    def start_cluster(self, heartbeat_name: str | None = None) -> subprocess.Popen:
        """A django-q2 cluster; its heartbeat is kept under ``heartbeat_name`` (default: the
        host's, shared by every cluster started here)."""
        name = f"cluster{len(self.clusters)}"
        extra = {"JOBS_HEARTBEAT_NAME": heartbeat_name} if heartbeat_name else {}
        cluster = self._spawn(name, [sys.executable, "manage.py", "qcluster"], extra)
        self.clusters.append(cluster)
        return cluster

    @contextlib.contextmanager
    def supervised_cluster(self, heartbeat_name: str, interval: float = 0.5):
        """A cluster run by the same supervisor as `make run` (config/supervisor.py), judged by
        `manage.py jobs_alive` on this system's database; yields the supervisor."""

        def start() -> subprocess.Popen:
            cluster = self.start_cluster(heartbeat_name)
            self.kick_pump()
            return cluster

        supervisor = ClusterSupervisor(
            start=start,
            alive=lambda: self.jobs_alive(heartbeat_name),
            stale_seconds=float(self.settings["JOBS_HEARTBEAT_STALE_SECONDS"]),
        )
        supervisor.start()
        stopping = threading.Event()

        def supervise() -> None:
            while not stopping.wait(interval):
                supervisor.check()

        thread = threading.Thread(target=supervise, name="supervisor", daemon=True)
        thread.start()
        try:
            yield supervisor
        finally:
            stopping.set()
            thread.join()

    def jobs_alive(self, heartbeat_name: str | None = None) -> bool:
        argv = ["jobs_alive", *(["--name", heartbeat_name] if heartbeat_name else [])]
        return self._manage(*argv, check=False).returncode == 0

    @staticmethod
    def cluster_children(cluster: subprocess.Popen) -> dict[str, list[int]]:
        """The pids of a running cluster's children by kind (busy or idle worker, pusher,
        monitor), told apart by the titles django-q2 sets (setproctitle), read from /proc."""
        children: dict[int, list[int]] = {}
        titles: dict[int, str] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                titles[int(entry.name)] = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue  # exited meanwhile
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
        kinds: dict[str, list[int]] = {
            "busy worker": [],
            "idle worker": [],  # the next in line waits in the task queue's get(), holding its lock
            "pusher": [],
            "monitor": [],
        }
        pending = list(children.get(cluster.pid, []))
        while pending:
            pid = pending.pop()
            pending += children.get(pid, [])
            title = titles.get(pid, "").replace("\0", " ").strip()
            if title.endswith(" pusher"):
                kinds["pusher"].append(pid)
            elif title.endswith(" monitor"):
                kinds["monitor"].append(pid)
            elif title.endswith(" idle"):
                kinds["idle worker"].append(pid)
            elif " processing " in title:
                kinds["busy worker"].append(pid)
        return kinds

    def stop_clusters(self) -> None:
        stop_processes(
            {f"cluster{i}": p for i, p in enumerate(self.clusters)},
            grace=15,
            interrupt={f"cluster{i}" for i in range(len(self.clusters))},
        )
        self.clusters.clear()

    def kill_cluster(self, cluster: subprocess.Popen) -> None:
        """SIGKILL the cluster and all its workers at once: a crashed machine."""
        os.killpg(cluster.pid, 9)
        cluster.wait()
        self.clusters.remove(cluster)

    def kick_pump(self) -> None:
        """Queue a pump now (the one-minute Schedule first fires ~30 s after a cluster starts)."""
        self._manage(
            "shell",
            "-c",
            "from django_q.tasks import async_task; async_task('config.pump.run_pump')",
        )

    # --- driving it -----------------------------------------------------------------------

    def buy(self, product: str = "tea", channel: str = "sandbox") -> tuple[str, str]:
        """A customer orders in the demo shop and picks a channel: (order id, out_trade_no)."""
        customer = self.customer()
        order_id = customer.shop_order(product)
        assert order_id, "the demo shop took no order"
        return order_id, self.pay_with(order_id, channel, customer)

    def pay_with(self, order_id: str, channel: str, customer: Paycenter | None = None) -> str:
        """The customer picks (another) channel on the order's page: its out_trade_no."""
        (customer or self.customer()).checkout_pay(order_id, channel)
        (out_trade_no,) = self.one(
            "SELECT out_trade_no FROM payments_payment WHERE order_id = %s AND channel = %s "
            "ORDER BY created_at DESC LIMIT 1",
            (order_id, channel),
        )
        return out_trade_no

    def _web_argv(self) -> list[str]:
        workers = str(self.web_workers)
        if self.asgi:
            return [
                *(sys.executable, "-m", "uvicorn", "config.asgi:application"),
                *("--host", "127.0.0.1", "--port", str(self.port), "--workers", workers),
                *("--timeout-graceful-shutdown", "5", "--no-access-log"),
            ]
        return [
            *(sys.executable, "-m", "gunicorn", "config.wsgi"),
            *("--bind", f"127.0.0.1:{self.port}", "--workers", workers, "--threads", "4"),
        ]

    def customer(self) -> Paycenter:
        """A customer's browser session, the same one `manage.py chaos` drives."""
        return Paycenter(self.web, api_key=None, answers=Answers())

    @property
    def channel_servers(self) -> tuple:
        return (self.sandbox, self.wechatpay, self.alipay)

    def server_of(self, channel: str):
        """The process behind a channel code: an emulator, else the sandbox."""
        return {"wechatpay": self.wechatpay, "alipay": self.alipay}.get(channel, self.sandbox)

    def adapter(self, channel: str) -> Channel:
        """The channel's adapter as the system's processes build it (from ``env()``), for a
        test to ask the channel itself."""
        if channel == "wechatpay":
            manifest = self.wechatpay.data_dir / "keys" / "manifest.json"
            return WechatpayChannel(
                code=channel, base_url=self.wechatpay.url, manifest_file=str(manifest)
            )
        if channel == "alipay":
            manifest = self.alipay.data_dir / "keys" / "manifest.json"
            return AlipayChannel(
                code=channel, gateway_url=self.alipay.gateway_url, manifest_file=str(manifest)
            )
        return SandboxChannel(code=channel, base_url=self.sandbox.url, secret=SECRET)

    def paying_channel(self, channel: str) -> PayingChannel:
        return PayingChannel(channel, self.server_of(channel), adapter_of=self.adapter)

    def rows(self, query: str, params: tuple = ()) -> list[tuple]:
        with psycopg.connect(self.database_url, autocommit=True) as connection:
            return connection.execute(query, params).fetchall()

    def one(self, query: str, params: tuple = ()) -> tuple:
        (row,) = self.rows(query, params)
        return row

    # --- plumbing -------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "CACHE_KEY_PREFIX": self.database,
            "SECRET_KEY": "system-test-django-secret",
            "PAYCENTER_VAR_DIR": str(self.directory / "var"),
            "PORT": str(self.port),
            "PUBLIC_BASE_URL": self.web,
            "SANDBOX_URL": self.sandbox.url,
            "SANDBOX_SECRET": SECRET,
            "WECHATPAY_BASE_URL": self.wechatpay.url,
            "WECHATPAY_EMULATOR_DATA": str(self.wechatpay.data_dir),
            "ALIPAY_GATEWAY_URL": self.alipay.gateway_url,
            "ALIPAY_EMULATOR_DATA": str(self.alipay.data_dir),
            "PYTHONUNBUFFERED": "1",
            # the receivers are local: http://127.0.0.1
            "WEBHOOK_ALLOW_HTTP": "true",
            "WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "true",
            **self.settings,
        }

    def _manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=BASE_DIR,
            env=self.env(),
            check=check,
            capture_output=True,
        )

    def _spawn(
        self, name: str, argv: list[str], extra_env: dict[str, str] | None = None
    ) -> subprocess.Popen:
        log = (self.directory / f"{name}.log").open("a")
        return subprocess.Popen(
            argv,
            cwd=BASE_DIR,
            env={**self.env(), **(extra_env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def _web_answers(self) -> bool:
        try:
            return self._http.get(f"{self.web}/", timeout=2).status_code == 200
        except requests.RequestException:
            return False
