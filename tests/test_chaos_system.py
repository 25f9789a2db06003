"""`manage.py chaos` against the whole system as real processes (tests/system.py): a small run
on the sandbox and the WeChat Pay emulator under every fault, with q2 workers SIGKILLed and the
embedded Redis stopped, HOLDS — an order that expired by the clock and was paid anyway among
it, refunded once; a faked channel record of an extra success nobody refunded makes it
BROKEN."""

import csv
import io
import json
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from django.conf import settings

from config import embedded
from tests.system import BASE_DIR, System
from tests.test_jobs_kill_system import LIVENESS

pytestmark = pytest.mark.system

# The shortest order the API takes lives 3 s (paying stops 1 s before): one that expires by the
# clock within the run.
CHAOS = {**LIVENESS, "TIME_EXPIRE_MARGIN_SECONDS": "1", "ORDER_MIN_PAYABLE_SECONDS": "2"}
CHANNELS = "sandbox,wechatpay"


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    directory = tmp_path_factory.mktemp("chaos")
    var = directory / "var"  # the system's PAYCENTER_VAR_DIR: its Redis is the embedded one
    running = System(
        directory,
        database_url=settings.DATABASE_URL,
        redis_url=embedded.redis_url(var),
        settings=CHAOS,
        database="paycenter_chaos",
    ).start(clusters=0)
    try:
        with running.supervised_cluster("chaos"):
            yield running
    finally:
        running.stop()
        embedded.stop_redis(var)


def chaos(system, *args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "chaos", *args],
        cwd=BASE_DIR,
        env=env or system.env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def small_run(system):
    done = chaos(
        system,
        "--customers",
        "6",
        "--duration",
        "8",
        "--kill-workers",
        "--stop-redis",
        "--settle-seconds",
        "60",
        "--seed",
        "7",
        "--channels",
        CHANNELS,
    )
    report = Path(re.search(r"report: (\S+)", done.stdout).group(1))
    return done, report.parent


def test_a_small_run_under_every_fault_holds(small_run):
    done, directory = small_run
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().endswith("HOLDS")
    figures = dict(re.findall(r"^  (\w[\w ()]*?)\s{2,}(\d+)$", done.stdout, re.M))
    assert int(figures["orders"]) == 6
    assert int(figures["extra successes"]) >= 1  # the stale QR code and the crossed close
    assert figures["extra successes"] == figures["extra successes refunded once"]
    # every answer was below 500 but the channel's own outage relayed, callbacks' too
    assert figures["answers 5xx otherwise or none"] == "0"
    assert int(figures["callbacks answered below 500"]) >= 6
    assert figures["callbacks answered 5xx or not"] == "0"
    # the report's timeline: workers killed, Redis down and back, while customers were about
    report = (directory / "report.html").read_text()
    moments = re.findall(r"<td>(\w+)</td><td>([^<]+)</td></tr>", report)
    texts = [text for _, text in moments]
    assert sum(text.startswith("SIGKILL q2 worker") for text in texts) == 3
    assert texts.index("Redis stopped") < texts.index("6 customers done")
    assert texts.index("Redis stopped") < texts.index("Redis started again")
    assert texts[-1] == "HOLDS"
    # both channels misbehaved, and the customers paid on both
    assert any(text.startswith("channels misbehave") for text in texts)
    assert "orders that expire live {'sandbox': 7, 'wechatpay': 66} s" in done.stdout


def test_the_customers_paid_on_the_emulator_as_well_as_the_sandbox(system, small_run):
    _, directory = small_run
    run = json.loads((directory / "run.json").read_text())

    paid_on = system.rows(
        "SELECT DISTINCT channel FROM payments_payment WHERE order_id = ANY(%s)"
        " AND status = 'SUCCEEDED'",
        (run["orders"],),
    )

    assert {channel for (channel,) in paid_on} == {"sandbox", "wechatpay"}


def test_an_order_paid_after_it_expired_by_the_clock_is_refunded_once(system, small_run):
    _, directory = small_run
    run = json.loads((directory / "run.json").read_text())
    # the customer waited until Paycenter had closed the expired order, then paid its code
    report = (directory / "report.html").read_text()
    assert re.search(r"customer \d+ pays ord_\w+ \(CLOSED\)", report)

    ((order_id, status, expired, payments),) = system.rows(
        "SELECT o.id, o.status, o.closed_at >= o.expires_at,"
        " array_agg(p.status ORDER BY p.created_at) FROM orders_order o"
        " JOIN payments_payment p ON p.order_id = o.id"
        " WHERE o.id = ANY(%s) AND o.subject = 'chaos pay after expiry' GROUP BY o.id",
        (run["orders"],),
    )
    refunds = system.rows(
        "SELECT r.reason, r.status, r.amount = p.amount FROM payments_refund r"
        " JOIN payments_payment p ON p.id = r.payment_id WHERE p.order_id = %s",
        (order_id,),
    )

    assert (status, expired, payments) == ("CLOSED", True, ["SUCCEEDED"])
    assert refunds == [("ORDER_CLOSED", "SUCCEEDED", True)]


def test_an_extra_success_the_channel_recorded_and_nobody_refunded_is_broken(system, small_run):
    _, directory = small_run
    run = json.loads((directory / "run.json").read_text())
    closed = system.rows(
        "SELECT out_trade_no, amount FROM payments_payment WHERE order_id = ANY(%s)"
        " AND status = 'CLOSED' LIMIT 1",
        (run["orders"],),
    )
    assert closed, "the run has a closed attempt (a switched channel)"
    ((out_trade_no, amount),) = closed
    with FakeStatement(system.sandbox.url, out_trade_no, amount) as fake:
        done = chaos(
            system,
            *("--check-only", str(directory / "run.json")),
            *("--channels", CHANNELS, "--sandbox-url", fake),
        )

    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.strip().endswith("BROKEN")
    assert f"{out_trade_no} an extra success never refunded" in done.stdout
    assert "money not conserved" in done.stdout


def test_it_refuses_to_stop_a_redis_that_is_not_the_embedded_one(system):
    env = {**system.env(), "REDIS_URL": "redis://redis.example.invalid:6379/0"}

    done = chaos(system, "--stop-redis", "--customers", "1", env=env)

    assert done.returncode == 1
    assert "--stop-redis stops only the embedded Redis" in done.stderr
    assert "HOLDS" not in done.stdout and "BROKEN" not in done.stdout


@pytest.mark.parametrize(
    "channels, env, refusal",
    [
        ("sandbox", {}, "two channel codes at least"),
        ("sandbox,sandbox", {}, "two channel codes at least, each once"),
        ("sandbox,unionpay", {}, "unionpay is not a channel of this deployment"),
        # WeChat Pay with a merchant id of its own is the real one, never driven
        ("sandbox,wechatpay", {"WECHATPAY_MCHID": "1900000001"}, "wechatpay is a real channel"),
    ],
)
def test_it_refuses_channels_it_cannot_or_must_not_drive(system, channels, env, refusal):
    done = chaos(system, "--channels", channels, "--customers", "1", env={**system.env(), **env})

    assert done.returncode == 1
    assert refusal in done.stderr
    assert "HOLDS" not in done.stdout and "BROKEN" not in done.stdout


class FakeStatement:
    """The sandbox as it is, except that its statement also shows ``out_trade_no`` paid: a
    channel record of a success Paycenter never heard of."""

    def __init__(self, sandbox: str, out_trade_no: str, amount: int):
        fake_line = {"type": "payment", "out_trade_no": out_trade_no, "amount": amount}

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                real = requests.get(f"{sandbox}{self.path}", timeout=10)
                body = real.text
                if self.path.startswith("/v1/statements/"):
                    rows = list(csv.DictReader(io.StringIO(body)))
                    out = io.StringIO()
                    writer = csv.DictWriter(
                        out, fieldnames=list(rows[0]) if rows else list(fake_line)
                    )
                    writer.writeheader()
                    writer.writerows([*rows, fake_line])
                    body = out.getvalue()
                self.send_response(real.status_code)
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    def __enter__(self) -> str:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_port}"

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
