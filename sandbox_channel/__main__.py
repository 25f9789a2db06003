"""``python -m sandbox_channel``: run the channel until SIGTERM or SIGINT, then stop cleanly."""

import logging
import sys

from channel_sim import cli

from . import config
from .faults import Faults
from .notifier import Notifier
from .refunds import Refunds
from .routes import App
from .store import Store
from .trades import Trades
from .web import SandboxServer


def main(argv: list[str] | None = None) -> int:
    settings = config.parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    server = SandboxServer((settings.host, settings.port))
    public_url = cli.public_url(server, settings.host, settings.public_url)

    store = Store(settings.data_dir / "sandbox.sqlite3")
    faults = Faults()
    notifier = Notifier(store, faults, settings.secret, settings.notify_schedule)
    trades = Trades(
        store, faults, settings.channels, public_url, notifier.enqueue, on_paid=notifier.wake
    )
    refunds = Refunds(store, faults, settings.refund_delay_ms, notifier.enqueue)
    server.app = App(store, faults, trades, refunds, settings.channels)

    return cli.serve_until_stopped(
        server,
        start=notifier.start,
        stop=(notifier.stop, store.close),
        announce=[
            f"sandbox channel listening on http://{settings.host}:{server.server_address[1]}"
        ],
        logger="sandbox_channel",
        name="sandbox channel",
    )


if __name__ == "__main__":
    sys.exit(main())
