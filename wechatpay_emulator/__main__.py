"""``python -m wechatpay_emulator``: run the emulator until SIGTERM or SIGINT, then stop cleanly."""

import logging
import sys

from channel_sim import cli
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


def main(argv: list[str] | None = None) -> int:
    settings = config.parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    server = EmulatorServer((settings.host, settings.port))
    public_url = cli.public_url(server, settings.host, settings.public_url)

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
        trades=Trades(
            store,
            faults,
            identities,
            public_url,
            notifier,
            min_expire_seconds=settings.min_expire_seconds,
            close_not_before_seconds=settings.close_not_before_seconds,
        ),
        refunds=refunds,
        bills=Bills(store, public_url, settle_due=refunds.settle_due, fee_rate=settings.fee_rate),
        public_url=public_url,
    )

    return cli.serve_until_stopped(
        server,
        start=lambda: notifier.start(refunds.settle_due),
        stop=(notifier.stop, store.close),
        announce=[
            f"keys and manifest in {identities.manifest_path}",
            f"wechatpay emulator listening on http://{settings.host}:{server.server_address[1]}",
        ],
        logger="wechatpay_emulator",
        name="wechatpay emulator",
    )


if __name__ == "__main__":
    sys.exit(main())
