"""`make run`: migrate, seed, then run web + django-q2 cluster + sandbox channel in the foreground.

Children get this process's database and Redis URLs, so they join the same (embedded) servers;
Ctrl-C stops them all, and the embedded servers stop with this process. The cluster is
supervised (config/supervisor.py): one that exits, or whose heartbeat goes stale while work is
due, is restarted.
"""

import os
import signal
import subprocess
import sys
import time
from functools import partial

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections
from django.utils import timezone
from django_q.tasks import async_task

from config import embedded
from config.liveness import jobs_liveness
from config.metrics import process_counts_clear
from config.processes import stop_processes
from config.supervisor import ClusterSupervisor

STOP_GRACE_SECONDS = 10


class Command(BaseCommand):
    help = "Run the whole system (web, django-q2 cluster, sandbox channel) in the foreground."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
        parser.add_argument(
            "--sandbox-port", type=int, default=int(os.environ.get("SANDBOX_PORT", 8100))
        )
        parser.add_argument(
            "--web-workers", type=int, default=int(os.environ.get("WEB_WORKERS", 2))
        )

    def handle(self, *args, port: int, sandbox_port: int, web_workers: int, **options):
        process_counts_clear()  # the count files of processes gone since the last run
        call_command("migrate", interactive=False, verbosity=0)
        call_command("seed_demo")
        call_command("collectstatic", interactive=False, verbosity=0)

        env = self._child_env(port, sandbox_port)
        children = {
            "sandbox": self._spawn(
                [
                    sys.executable,
                    "-m",
                    "sandbox_channel",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(sandbox_port),
                    "--data",
                    str(settings.VAR_DIR / "sandbox"),
                    "--channels",
                    ",".join(_sandbox_channel_codes()),
                    "--secret",
                    settings.SANDBOX_SECRET,
                ],
                env,
            ),
            # ASGI, so the checkout pages can push status (SSE) without holding a thread; the
            # short graceful timeout ends open pushes (browsers reconnect) within the stop grace.
            "web": self._spawn(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "config.asgi:application",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--workers",
                    str(web_workers),
                    "--timeout-graceful-shutdown",
                    "5",
                    "--no-access-log",
                ],
                env,
            ),
        }
        if settings.WECHATPAY_USES_EMULATOR:  # no real credentials: WeChat Pay is the emulator
            children["wechatpay"] = self._spawn(_wechatpay_emulator_command(), env)
        if settings.ALIPAY_USES_EMULATOR:
            children["alipay"] = self._spawn(_alipay_emulator_command(), env)
        cluster = ClusterSupervisor(
            start=partial(self._start_cluster, env),
            alive=_jobs_alive,
            stale_seconds=settings.JOBS_HEARTBEAT_STALE_SECONDS,
        )
        cluster.start()
        self._print_banner(port, sandbox_port)
        stopping = False

        def request_stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        exit_code = 0
        next_supervision = time.monotonic() + settings.JOBS_SUPERVISE_INTERVAL_SECONDS
        while not stopping:
            for name, child in children.items():
                if child.poll() is not None:
                    self.stderr.write(f"{name} exited with {child.returncode}; stopping")
                    stopping, exit_code = True, 1
            if not stopping and time.monotonic() >= next_supervision:
                cluster.check()  # restarts (and logs why) a cluster that stopped doing work
                next_supervision = time.monotonic() + settings.JOBS_SUPERVISE_INTERVAL_SECONDS
            time.sleep(0.5)
        children["qcluster"] = cluster.process
        for name in stop_processes(children, grace=STOP_GRACE_SECONDS, interrupt={"qcluster"}):
            self.stderr.write(f"{name} did not stop in time; killed")
        if embedded.redis_started_here(settings.VAR_DIR):
            embedded.stop_redis(settings.VAR_DIR)
        self.stdout.write("stopped")
        sys.exit(exit_code)

    def _child_env(self, port: int, sandbox_port: int) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings",
            DATABASE_URL=settings.DATABASE_URL,
            REDIS_URL=settings.REDIS_URL,
            PORT=str(port),
            SANDBOX_PORT=str(sandbox_port),
            SANDBOX_URL=f"http://127.0.0.1:{sandbox_port}",
            SANDBOX_PUBLIC_URL=f"http://127.0.0.1:{sandbox_port}",
            PUBLIC_BASE_URL=os.environ.get("PUBLIC_BASE_URL", f"http://127.0.0.1:{port}"),
            PYTHONUNBUFFERED="1",
        )
        # the local demo: merchants' webhooks may go to http://127.0.0.1 receivers
        for flag in ("WEBHOOK_ALLOW_HTTP", "WEBHOOK_ALLOW_PRIVATE_ADDRESSES"):
            env.setdefault(flag, "true")
        return env

    def _start_cluster(self, env: dict[str, str]) -> subprocess.Popen:
        process = self._spawn([sys.executable, "manage.py", "qcluster"], env)
        # The pump Schedule first fires ~30 s after a cluster starts: start one now.
        async_task("config.pump.run_pump", group="pump")
        return process

    def _spawn(self, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
        # A session of its own: Ctrl-C reaches only this process, which then stops the
        # children in order instead of all of them dying at once.
        return subprocess.Popen(argv, env=env, cwd=settings.BASE_DIR, start_new_session=True)

    def _print_banner(self, port: int, sandbox_port: int) -> None:
        web = f"http://127.0.0.1:{port}"
        self.stdout.write(
            "\n".join(
                [
                    "",
                    "Paycenter is running (Ctrl-C stops everything):",
                    f"  demo shop        {web}/",
                    f"  admin            {web}/admin/",
                    f"    user {settings.DEMO_ADMIN_USERNAME}"
                    f" / password {settings.DEMO_ADMIN_PASSWORD}",
                    f"  sandbox channel  http://127.0.0.1:{sandbox_port}/   (API: /v1/…)",
                    *(
                        [f"  WeChat Pay       {settings.WECHATPAY_BASE_URL}/   (emulator, /v3/…)"]
                        if settings.WECHATPAY_USES_EMULATOR
                        else []
                    ),
                    *_alipay_banner_lines(),
                    f"  demo merchant    {settings.DEMO_MERCHANT_ID}",
                    f"    API key {settings.DEMO_API_KEY}",
                    "",
                ]
            )
        )


def _jobs_alive() -> bool:
    close_old_connections()  # this process lives for days: reconnect after a database restart
    try:
        return jobs_liveness(now=timezone.now(), name=settings.JOBS_HEARTBEAT_NAME).alive
    except DatabaseError:
        return True  # cannot tell; restarting the cluster would not bring the database back


def _sandbox_channel_codes() -> list[str]:
    return [
        code
        for code, options in settings.PAYMENT_CHANNELS.items()
        if options["class"] == "payments.channels.sandbox.SandboxChannel"
    ]


def _wechatpay_emulator_command() -> list[str]:
    return [
        sys.executable,
        "-m",
        "wechatpay_emulator",
        "--host=127.0.0.1",
        f"--port={settings.WECHATPAY_EMULATOR_PORT}",
        f"--data={settings.WECHATPAY_EMULATOR_DATA}",
    ]


def _alipay_emulator_command() -> list[str]:
    return [
        sys.executable,
        "-m",
        "alipay_emulator",
        "--host",
        "127.0.0.1",
        "--port",
        str(settings.ALIPAY_EMULATOR_PORT),
        "--data",
        str(settings.ALIPAY_EMULATOR_DATA),
    ]


def _alipay_banner_lines() -> list[str]:
    if not settings.ALIPAY_USES_EMULATOR:
        return []
    url = f"http://127.0.0.1:{settings.ALIPAY_EMULATOR_PORT}"
    return [f"  Alipay           {url}/   (emulator, gateway.do)"]
