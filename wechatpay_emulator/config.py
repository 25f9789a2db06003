"""Command line and environment: every option has an env var fallback and a safe default."""

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from channel_sim import cli

from .signer import SIGNERS

# WeChat's callback retry intervals: 15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h,
# after a first attempt at once.
DEFAULT_SCHEDULE = "0,15,15,30,180,600,1200,1800,1800,1800,3600,10800,10800,10800,21600,21600"


@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    data_dir: Path
    public_url: str | None  # None: derived from the address actually bound
    notify_schedule: tuple[float, ...]
    refund_delay_ms: int
    min_expire_seconds: float
    signer: str
    fee_rate: Decimal
    close_not_before_seconds: float


def parse(argv: Sequence[str] | None = None, environ: Mapping[str, str] = os.environ) -> Settings:
    parser = argparse.ArgumentParser(
        prog="python -m wechatpay_emulator", description="Run the WeChat Pay API v3 emulator."
    )
    cli.add_common_options(
        parser,
        environ,
        env_prefix="WECHATPAY_EMULATOR",
        port=8101,
        data="var/wechatpay",
        schedule=DEFAULT_SCHEDULE,
        notice="callback",
    )
    env = environ.get
    parser.add_argument(
        "--refund-delay-ms",
        type=int,
        default=int(env("WECHATPAY_EMULATOR_REFUND_DELAY_MS", "0")),
        help="how long a refund stays PROCESSING",
    )
    cli.add_min_expire_option(parser, environ, env_prefix="WECHATPAY_EMULATOR", channel="WeChat")
    parser.add_argument(
        "--signer",
        choices=SIGNERS,
        default=env("WECHATPAY_EMULATOR_SIGNER", "public_key"),
        help="what signs callbacks and answers to requests that name no key",
    )
    parser.add_argument(
        "--close-not-before-seconds",
        type=float,
        default=float(env("WECHATPAY_EMULATOR_CLOSE_NOT_BEFORE_SECONDS", "0")),
        help="how long after an order a close is refused (v3: none; v2 refused 5 minutes)",
    )
    parser.add_argument(
        "--fee-rate",
        default=env("WECHATPAY_EMULATOR_FEE_RATE", "0.006"),
        help="the fee the trade bill charges per transaction, a decimal fraction (0.006: 0.6 %%)",
    )
    args = parser.parse_args(argv)
    common = cli.common_settings(parser, args, schedule_example="0,15,15,30")
    if args.refund_delay_ms < 0:
        parser.error("--refund-delay-ms must not be negative")
    if args.close_not_before_seconds < 0:
        parser.error("--close-not-before-seconds must not be negative")
    return Settings(
        **common,
        refund_delay_ms=args.refund_delay_ms,
        min_expire_seconds=cli.min_expire_seconds(parser, args),
        signer=args.signer,
        fee_rate=_fee_rate(parser, args.fee_rate),
        close_not_before_seconds=args.close_not_before_seconds,
    )


def _fee_rate(parser: argparse.ArgumentParser, text: str) -> Decimal:
    try:
        rate = Decimal(text)
    except InvalidOperation:
        rate = Decimal(-1)
    if not (rate.is_finite() and 0 <= rate < 1):
        parser.error("--fee-rate: a decimal fraction from 0 to below 1, such as 0.006")
    return rate
