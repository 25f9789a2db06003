"""`make run` smoke: start the system exactly as `make run` does (manage.py runsystem), buy
something through the demo shop over HTTP, pay at the sandbox wallet, watch the order turn PAID
by the sandbox's signed callback, then Ctrl-C (SIGINT) stops everything cleanly."""

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
import requests
from django.conf import settings

from config.processes import stop_processes
from tests.helpers import wait_for
from tests.system import database_url_named

pytestmark = pytest.mark.system

SMOKE_DB = "paycenter_smoke"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def smoke_database_url():
    """A database of its own on the same server, so the smoke run touches no other data."""
    with psycopg.connect(settings.DATABASE_URL, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {SMOKE_DB} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {SMOKE_DB}")
    yield database_url_named(settings.DATABASE_URL, SMOKE_DB)


@pytest.fixture
def running_system(tmp_path, smoke_database_url):
    port, sandbox_port = free_port(), free_port()
    wechatpay_port, alipay_port = free_port(), free_port()
    env = {
        **os.environ,
        "DATABASE_URL": smoke_database_url,
        "REDIS_URL": settings.REDIS_URL,
        "CACHE_KEY_PREFIX": "paycenter-smoke",
        "PAYCENTER_VAR_DIR": str(tmp_path / "var"),
        "PORT": str(port),
        "SANDBOX_PORT": str(sandbox_port),
        "WECHATPAY_EMULATOR_PORT": str(wechatpay_port),
        "ALIPAY_EMULATOR_PORT": str(alipay_port),
        "Q_WORKERS": "1",
        "WEB_WORKERS": "1",
    }
    log = (tmp_path / "runsystem.log").open("w+")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runsystem"],
        cwd=Path(settings.BASE_DIR),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        web = f"http://127.0.0.1:{port}"
        ports = (port, sandbox_port, wechatpay_port, alipay_port)
        wait_for(lambda: all(map(port_open, ports)), timeout=90, interval=0.3)
        wechatpay = f"http://127.0.0.1:{wechatpay_port}"
        alipay = f"http://127.0.0.1:{alipay_port}"
        yield process, web, f"http://127.0.0.1:{sandbox_port}", wechatpay, alipay, log
    finally:
        stop_processes({"runsystem": process})
        log.close()


def test_make_run_serves_the_shop_admin_and_sandbox_and_stops_on_ctrl_c(running_system):
    process, web, sandbox, wechatpay, alipay, log = running_system
    http = requests.Session()

    shop = http.get(f"{web}/", timeout=10)
    assert shop.status_code == 200 and "Demo shop" in shop.text
    admin = http.get(f"{web}/admin/login/", timeout=10)
    assert admin.status_code == 200 and "Username" in admin.text
    assert http.get(f"{web}/static/admin/css/base.css", timeout=10).status_code == 200
    assert http.get(f"{sandbox}/healthz", timeout=10).json() == {"status": "ok"}
    assert http.get(f"{wechatpay}/healthz", timeout=10).json() == {"status": "ok"}
    assert http.get(f"{alipay}/healthz", timeout=10).json() == {"status": "ok"}

    # a person buys a mug, picks the sandbox wallet, and pays in the wallet
    token = re.search(r'name="token" value="(\w+)"', shop.text).group(1)
    order_page = http.post(
        f"{web}/shop/order/",
        data={"product": "mug", "token": token, "csrfmiddlewaretoken": http.cookies["csrftoken"]},
        headers={"Referer": f"{web}/"},
        timeout=10,
    )
    order_id = re.search(r"/checkout/(ord_\w+)/", order_page.url).group(1)
    pay_page = http.post(
        f"{web}/checkout/{order_id}/pay/",
        data={"channel": "sandbox", "csrfmiddlewaretoken": http.cookies["csrftoken"]},
        headers={"Referer": order_page.url},
        timeout=10,
    )
    assert "<svg" in pay_page.text
    wallet_url = re.search(r'href="(http://[^"]+/wallet/[^"]+)"', pay_page.text).group(1)
    assert http.get(wallet_url, timeout=10).status_code == 200
    assert http.post(f"{wallet_url}/pay", timeout=10).status_code in (200, 303)

    status_url = f"{web}/checkout/{order_id}/status/"
    wait_for(lambda: http.get(status_url, timeout=10).json()["status"] == "PAID", timeout=20)

    # Ctrl-C
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0
    log.seek(0)
    output = log.read()
    assert "Paycenter is running" in output and "password" in output
    assert f"WeChat Pay       {wechatpay}/" in output
    assert f"Alipay           {alipay}/" in output
    assert "did not stop in time" not in output
    for url in (web, sandbox, wechatpay, alipay):
        assert not port_open(int(url.rsplit(":", 1)[1]))
