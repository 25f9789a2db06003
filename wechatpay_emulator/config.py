"""Command line and environment: every option has an env var fallback and a safe default."""

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

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


def parse(argv: Sequence[str] | None = None, environ: Mapping[str, str] = os.environ) -> Settings:
    parser = argparse.ArgumentParser(
        prog="python -m wechatpay_emulator", description="Run the WeChat Pay API v3 emulator."
    )
    env = environ.get
    parser.add_argument("--host", default=env("WECHATPAY_EMULATOR_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(env("WECHATPAY_EMULATOR_PORT", "8101")))
    parser.add_argument(
        "--data", type=Path, default=Path(env("WECHATPAY_EMULATOR_DATA", "var/wechatpay"))
    )
    parser.add_argument("--public-url", default=env("WECHATPAY_EMULATOR_PUBLIC_URL") or None)
    parser.add_argument(
        "--notify-schedule",
        default=env("WECHATPAY_EMULATOR_NOTIFY_SCHEDULE", DEFAULT_SCHEDULE),
        help="seconds before callback attempt 1, 2, ...; then it is given up",
    )
    parser.add_argument(
        "--refund-delay-ms",
        type=int,
        default=int(env("WECHATPAY_EMULATOR_REFUND_DELAY_MS", "0")),
        help="how long a refund stays PROCESSING",
    )
    parser.add_argument(
        "--min-expire-seconds",
        type=float,
        default=float(env("WECHATPAY_EMULATOR_MIN_EXPIRE_SECONDS", "60")),
        help="how far ahead time_expire must be (WeChat: 1 minute); tests shrink it",
    )
    parser.add_argument(
        "--signer",
        choices=SIGNERS,
        default=env("WECHATPAY_EMULATOR_SIGNER", "public_key"),
        help="what signs callbacks and answers to requests that name no key",
    )
    args = parser.parse_args(argv)
    try:
        schedule = tuple(float(step) for step in args.notify_schedule.split(","))
    except ValueError:
        schedule = ()
    if not schedule or any(step < 0 for step in schedule):
        parser.error("--notify-schedule: a comma list of seconds such as 0,15,15,30")
    if not 0 <= args.port <= 65535:
        parser.error("--port: 0-65535 (0 picks a free port)")
    if args.refund_delay_ms < 0:
        parser.error("--refund-delay-ms must not be negative")
    if args.min_expire_seconds < 0:
        parser.error("--min-expire-seconds must not be negative")
    return Settings(
        host=args.host,
        port=args.port,
        data_dir=args.data,
        public_url=args.public_url.rstrip("/") if args.public_url else None,
        notify_schedule=schedule,
        refund_delay_ms=args.refund_delay_ms,
        min_expire_seconds=args.min_expire_seconds,
        signer=args.signer,
    )
