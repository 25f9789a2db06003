"""Command line and environment: every option has an env var fallback and a safe default."""

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

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


def parse(argv: Sequence[str] | None = None, environ: Mapping[str, str] = os.environ) -> Settings:
    parser = argparse.ArgumentParser(
        prog="python -m alipay_emulator", description="Run the Alipay open-platform emulator."
    )
    env = environ.get
    parser.add_argument("--host", default=env("ALIPAY_EMULATOR_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(env("ALIPAY_EMULATOR_PORT", "8102")))
    parser.add_argument(
        "--data", type=Path, default=Path(env("ALIPAY_EMULATOR_DATA", "var/alipay"))
    )
    parser.add_argument("--public-url", default=env("ALIPAY_EMULATOR_PUBLIC_URL") or None)
    parser.add_argument(
        "--notify-schedule",
        default=env("ALIPAY_EMULATOR_NOTIFY_SCHEDULE", DEFAULT_SCHEDULE),
        help="seconds before notify attempt 1, 2, ...; then it is given up",
    )
    parser.add_argument(
        "--min-expire-seconds",
        type=float,
        default=float(env("ALIPAY_EMULATOR_MIN_EXPIRE_SECONDS", "60")),
        help="how far ahead time_expire must be (Alipay: 1 minute); tests shrink it",
    )
    parser.add_argument(
        "--bill-url-ttl",
        type=float,
        default=float(env("ALIPAY_EMULATOR_BILL_URL_TTL", "30")),
        help="seconds a bill_download_url stays valid (Alipay: 30)",
    )
    args = parser.parse_args(argv)
    try:
        schedule = tuple(float(step) for step in args.notify_schedule.split(","))
    except ValueError:
        schedule = ()
    if not schedule or any(step < 0 for step in schedule):
        parser.error("--notify-schedule: a comma list of seconds such as 0,240,600")
    if not 0 <= args.port <= 65535:
        parser.error("--port: 0-65535 (0 picks a free port)")
    if args.min_expire_seconds < 0:
        parser.error("--min-expire-seconds must not be negative")
    if args.bill_url_ttl <= 0:
        parser.error("--bill-url-ttl must be positive")
    return Settings(
        host=args.host,
        port=args.port,
        data_dir=args.data,
        public_url=args.public_url.rstrip("/") if args.public_url else None,
        notify_schedule=schedule,
        min_expire_seconds=args.min_expire_seconds,
        bill_url_ttl=args.bill_url_ttl,
    )
