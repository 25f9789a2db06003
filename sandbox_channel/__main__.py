"""``python -m sandbox_channel``: run the channel until SIGTERM or SIGINT, then stop cleanly."""

import logging
import signal
import sys
import threading

from . import config
from .faults import Faults
from .notifier import Notifier
from .refunds import Refunds
from .routes import App
from .store import Store
from .trades import Trades
from .web import SandboxServer

WILDCARD_HOSTS = {"", "0.0.0.0", "::"}  # noqa: S104 (compared against, not bound)
SHUTDOWN_POLL = 0.05  # how often serve_forever checks for shutdown; keeps stopping quick


def main(argv: list[str] | None = None) -> int:
    settings = config.parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    server = SandboxServer((settings.host, settings.port))
    port = server.server_address[1]
    # A wildcard bind is not an address a browser can open, so the default public URL uses loopback.
    public_host = "127.0.0.1" if settings.host in WILDCARD_HOSTS else settings.host
    public_url = settings.public_url or f"http://{public_host}:{port}"

    store = Store(settings.data_dir / "sandbox.sqlite3")
    faults = Faults()
    notifier = Notifier(store, faults, settings.secret, settings.notify_schedule)
    trades = Trades(
        store, faults, settings.channels, public_url, notifier.enqueue, on_paid=notifier.wake
    )
    refunds = Refunds(store, faults, settings.refund_delay_ms, notifier.enqueue)
    server.app = App(store, faults, trades, refunds, settings.channels)

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    notifier.start()
    serving = threading.Thread(
        target=server.serve_forever, args=(SHUTDOWN_POLL,), name="http", daemon=True
    )
    serving.start()
    print(f"sandbox channel listening on http://{settings.host}:{port}", flush=True)

    stop.wait()
    server.shutdown()
    server.server_close()
    notifier.stop()
    store.close()
    logging.getLogger("sandbox_channel").info("sandbox channel stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
