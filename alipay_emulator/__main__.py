"""``python -m alipay_emulator``: run the emulator until SIGTERM or SIGINT, then stop cleanly."""

import logging
import signal
import sys
import threading

from sandbox_channel.faults import Faults
from wechatpay_emulator.web import EmulatorServer

from . import config, keys
from .bills import Bills
from .notifier import Notifier
from .refunds import Refunds
from .routes import App
from .store import Store
from .trades import Trades

WILDCARD_HOSTS = {"", "0.0.0.0", "::"}  # noqa: S104 (compared against, not bound)
SHUTDOWN_POLL = 0.05  # how often serve_forever checks for shutdown; keeps stopping quick


def main(argv: list[str] | None = None) -> int:
    settings = config.parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    server = EmulatorServer((settings.host, settings.port))
    port = server.server_address[1]
    # A wildcard bind is not an address a browser can open, so the default public URL uses loopback.
    public_host = "127.0.0.1" if settings.host in WILDCARD_HOSTS else settings.host
    public_url = settings.public_url or f"http://{public_host}:{port}"

    identities = keys.load_or_create(settings.data_dir / "keys")
    store = Store(settings.data_dir / "alipay.sqlite3")
    faults = Faults()
    notifier = Notifier(store, faults, identities.alipay_private_key, settings.notify_schedule)
    server.app = App(
        store=store,
        faults=faults,
        keys=identities,
        trades=Trades(store, faults, identities, public_url, notifier, settings.min_expire_seconds),
        refunds=Refunds(store, identities, notifier),
        bills=Bills(store, identities, public_url, settings.bill_url_ttl),
    )

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    notifier.start(lambda conn, now: None)  # Alipay's refunds are synchronous: nothing settles
    serving = threading.Thread(
        target=server.serve_forever, args=(SHUTDOWN_POLL,), name="http", daemon=True
    )
    serving.start()
    print(f"keys and manifest in {identities.manifest_path}", flush=True)
    print(f"alipay emulator listening on http://{settings.host}:{port}", flush=True)

    stop.wait()
    server.shutdown()
    server.server_close()
    notifier.stop()
    store.close()
    logging.getLogger("alipay_emulator").info("alipay emulator stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
