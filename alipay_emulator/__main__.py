"""``python -m alipay_emulator``: run the emulator until SIGTERM or SIGINT, then stop cleanly."""

import logging
import sys

from channel_sim import cli
from sandbox_channel.faults import Faults
from wechatpay_emulator.web import EmulatorServer

from . import config, keys
from .bills import Bills
from .notifier import Notifier
from .refunds import Refunds
from .routes import App
from .store import Store
from .trades import Trades


def main(argv: list[str] | None = None) -> int:
    settings = config.parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    server = EmulatorServer((settings.host, settings.port))
    public_url = cli.public_url(server, settings.host, settings.public_url)

    identities = keys.load_or_create(settings.data_dir / "keys")
    store = Store(settings.data_dir / "alipay.sqlite3")
    faults = Faults()
    notifier = Notifier(store, faults, identities.alipay_private_key, settings.notify_schedule)
    server.app = App(
        store=store,
        faults=faults,
        keys=identities,
        trades=Trades(store, faults, identities, public_url, notifier, settings.min_expire_seconds),
        refunds=Refunds(store, identities, notifier, settings.refund_interval),
        bills=Bills(store, identities, public_url, settings.bill_url_ttl),
    )

    return cli.serve_until_stopped(
        server,
        # Alipay's refunds are synchronous: nothing settles.
        start=lambda: notifier.start(lambda conn, now: None),
        stop=(notifier.stop, store.close),
        announce=[
            f"keys and manifest in {identities.manifest_path}",
            f"alipay emulator listening on http://{settings.host}:{server.server_address[1]}",
        ],
        logger="alipay_emulator",
        name="alipay emulator",
    )


if __name__ == "__main__":
    sys.exit(main())
