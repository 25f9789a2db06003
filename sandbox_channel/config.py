"""Command line and environment: every option has an env var fallback and a safe default."""

import argparse
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

CHANNEL_CODE = re.compile(r"[a-z][a-z0-9_]{0,31}")
DEFAULT_SCHEDULE = "0,2,5,15,60,300"


@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    data_dir: Path
    channels: tuple[str, ...]
    secret: str
    public_url: str | None  # None: derived from the address actually bound
    notify_schedule: tuple[float, ...]
    refund_delay_ms: int


def parse(argv: Sequence[str] | None = None, environ: Mapping[str, str] = os.environ) -> Settings:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox_channel", description="Run the sandbox payment channel."
    )
    env = environ.get
    parser.add_argument("--host", default=env("SANDBOX_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(env("SANDBOX_PORT", "8100")))
    parser.add_argument("--data", type=Path, default=Path(env("SANDBOX_DATA", "var/sandbox")))
    parser.add_argument("--channels", default=env("SANDBOX_CHANNELS", "sandbox,sandbox_card"))
    parser.add_argument("--secret", default=env("SANDBOX_SECRET", "sandbox-dev-secret"))
    parser.add_argument("--public-url", default=env("SANDBOX_PUBLIC_URL") or None)
    parser.add_argument(
        "--notify-schedule",
        default=env("SANDBOX_NOTIFY_SCHEDULE", DEFAULT_SCHEDULE),
        help="seconds before notification attempt 1, 2, ...; then it is given up",
    )
    parser.add_argument(
        "--refund-delay-ms", type=int, default=int(env("SANDBOX_REFUND_DELAY_MS", "0"))
    )
    args = parser.parse_args(argv)

    channels = tuple(code.strip() for code in args.channels.split(",") if code.strip())
    if not channels or not all(CHANNEL_CODE.fullmatch(code) for code in channels):
        parser.error("--channels: a comma list of codes such as sandbox,sandbox_card")
    try:
        schedule = tuple(float(step) for step in args.notify_schedule.split(","))
    except ValueError:
        schedule = ()
    if not schedule or any(step < 0 for step in schedule):
        parser.error("--notify-schedule: a comma list of seconds such as 0,2,5")
    if not 0 <= args.port <= 65535:
        parser.error("--port: 0-65535 (0 picks a free port)")
    if args.refund_delay_ms < 0:
        parser.error("--refund-delay-ms must not be negative")
    if not args.secret:
        parser.error("--secret must not be empty")
    return Settings(
        host=args.host,
        port=args.port,
        data_dir=args.data,
        channels=channels,
        secret=args.secret,
        public_url=args.public_url.rstrip("/") if args.public_url else None,
        notify_schedule=schedule,
        refund_delay_ms=args.refund_delay_ms,
    )
