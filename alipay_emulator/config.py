"""Command line and environment: every option has an env var fallback and a safe default."""

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from channel_sim import cli

# Alipay's notify schedule: at once, then 4m, 10m, 10m, 1h, 2h, 6h, 15h (8 attempts over ~25 h).
DEFAULT_SCHEDULE = "0,240,600,600,3600,7200,21600,54000"


@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    data_dir: Path
    public_url: str | None  # None: derived from the address actually bound
    notify_schedule: tuple[float, ...]
    min_expire_seconds: float
    bill_url_ttl: float
    refund_interval: float


def parse(argv: Sequence[str] | None = None, environ: Mapping[str, str] = os.environ) -> Settings:
    parser = argparse.ArgumentParser(
        prog="python -m alipay_emulator", description="Run the Alipay open-platform emulator."
    )
    cli.add_common_options(
        parser,
        environ,
        env_prefix="ALIPAY_EMULATOR",
        port=8102,
        data="var/alipay",
        schedule=DEFAULT_SCHEDULE,
        notice="notify",
    )
    env = environ.get
    cli.add_min_expire_option(parser, environ, env_prefix="ALIPAY_EMULATOR", channel="Alipay")
    parser.add_argument(
        "--bill-url-ttl",
        type=float,
        default=float(env("ALIPAY_EMULATOR_BILL_URL_TTL", "30")),
        help="seconds a bill_download_url stays valid (Alipay: 30)",
    )
    parser.add_argument(
        "--refund-interval",
        type=float,
        default=float(env("ALIPAY_EMULATOR_REFUND_INTERVAL", "3")),
        help="seconds a refund call on a trade must wait after the last one (Alipay: 3; 0: any)",
    )
    args = parser.parse_args(argv)
    common = cli.common_settings(parser, args, schedule_example="0,240,600")
    if args.bill_url_ttl <= 0:
        parser.error("--bill-url-ttl must be positive")
    if args.refund_interval < 0:
        parser.error("--refund-interval must not be negative")
    return Settings(
        **common,
        min_expire_seconds=cli.min_expire_seconds(parser, args),
        bill_url_ttl=args.bill_url_ttl,
        refund_interval=args.refund_interval,
    )
