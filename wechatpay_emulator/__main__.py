"""``python -m wechatpay_emulator``: run the emulator until SIGTERM or SIGINT, then stop cleanly."""

import logging
import signal
import sys
import threading

from sandbox_channel.faults import Faults

from . import config, keys
from .bills import Bills
from .notifier import Notifier
from .refunds import Refunds
from .routes import App
from .signer import Signer
from .store import Store
from .trades import Trades
from .web import EmulatorServer

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
    store = Store(settings.data_dir / "wechatpay.sqlite3")
    faults = Faults()
    signer = Signer(identities, settings.signer)
    notifier = Notifier(store, faults, signer, identities.apiv3_key, settings.notify_schedule)
    refunds = Refunds(store, faults, notifier, settings.refund_delay_ms)
    server.app = App(
        store=store,
        faults=faults,
        signer=signer,
        trades=Trades(store, faults, identities, public_url, notifier, settings.min_expire_seconds),
        refunds=refunds,
        bills=Bills(store, public_url),
        public_url=public_url,
    )

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    notifier.start(refunds.settle_due)
    serving = threading.Thread(
        target=server.serve_forever, args=(SHUTDOWN_POLL,), name="http", daemon=True
    )
    serving.start()
    print(f"keys and manifest in {identities.manifest_path}", flush=True)
    print(f"wechatpay emulator listening on http://{settings.host}:{port}", flush=True)

    stop.wait()
    server.shutdown()
    server.server_close()
    notifier.stop()
    store.close()
    logging.getLogger("wechatpay_emulator").info("wechatpay emulator stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
