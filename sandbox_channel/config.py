"""Command line and environment: every option has an env var fallback and a safe default."""

import argparse
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from channel_sim import cli

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
    cli.add_common_options(
        parser,
        environ,
        env_prefix="SANDBOX",
        port=8100,
        data="var/sandbox",
        schedule=DEFAULT_SCHEDULE,
        notice="notification",
    )
    env = environ.get
    parser.add_argument("--channels", default=env("SANDBOX_CHANNELS", "sandbox,sandbox_card"))
    parser.add_argument("--secret", default=env("SANDBOX_SECRET", "sandbox-dev-secret"))
    parser.add_argument(
        "--refund-delay-ms", type=int, default=int(env("SANDBOX_REFUND_DELAY_MS", "0"))
    )
    args = parser.parse_args(argv)

    channels = tuple(code.strip() for code in args.channels.split(",") if code.strip())
    if not channels or not all(CHANNEL_CODE.fullmatch(code) for code in channels):
        parser.error("--channels: a comma list of codes such as sandbox,sandbox_card")
    common = cli.common_settings(parser, args, schedule_example="0,2,5")
    if args.refund_delay_ms < 0:
        parser.error("--refund-delay-ms must not be negative")
    if not args.secret:
        parser.error("--secret must not be empty")
    return Settings(
        **common,
        channels=channels,
        secret=args.secret,
        refund_delay_ms=args.refund_delay_ms,
    )
