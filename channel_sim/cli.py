"""A simulated channel's command line and its run: the options every channel takes (each with an
env var fallback and a safe default), and serving until SIGTERM or SIGINT, then stopping cleanly.
"""

import argparse
import logging
import signal
import threading
from collections.abc import Callable, Iterable, Mapping
from http.server import HTTPServer
from pathlib import Path
from typing import Any

WILDCARD_HOSTS = {"", "0.0.0.0", "::"}  # noqa: S104 (compared against, not bound)
SHUTDOWN_POLL = 0.05  # how often serve_forever checks for shutdown; keeps stopping quick


def add_common_options(
    parser: argparse.ArgumentParser,
    environ: Mapping[str, str],
    *,
    env_prefix: str,
    port: int,
    data: str,
    schedule: str,
    notice: str,
) -> None:
    """--host, --port, --data, --public-url and --notify-schedule (``notice``: what is retried)."""
    env = environ.get
    parser.add_argument("--host", default=env(f"{env_prefix}_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(env(f"{env_prefix}_PORT", str(port))))
    parser.add_argument("--data", type=Path, default=Path(env(f"{env_prefix}_DATA", data)))
    parser.add_argument("--public-url", default=env(f"{env_prefix}_PUBLIC_URL") or None)
    parser.add_argument(
        "--notify-schedule",
        default=env(f"{env_prefix}_NOTIFY_SCHEDULE", schedule),
        help=f"seconds before {notice} attempt 1, 2, ...; then it is given up",
    )


def add_min_expire_option(
    parser: argparse.ArgumentParser, environ: Mapping[str, str], *, env_prefix: str, channel: str
) -> None:
    """--min-expire-seconds: how far ahead an emulated channel wants ``time_expire``."""
    parser.add_argument(
        "--min-expire-seconds",
        type=float,
        default=float(environ.get(f"{env_prefix}_MIN_EXPIRE_SECONDS", "60")),
        help=f"how far ahead time_expire must be ({channel}: 1 minute); tests shrink it",
    )


def min_expire_seconds(parser: argparse.ArgumentParser, args: argparse.Namespace) -> float:
    if args.min_expire_seconds < 0:
        parser.error("--min-expire-seconds must not be negative")
    return args.min_expire_seconds


def common_settings(
    parser: argparse.ArgumentParser, args: argparse.Namespace, *, schedule_example: str
) -> dict[str, Any]:
    """The common options checked (a bad one exits through ``parser.error``), as Settings fields."""
    try:
        schedule = tuple(float(step) for step in args.notify_schedule.split(","))
    except ValueError:
        schedule = ()
    if not schedule or any(step < 0 for step in schedule):
        parser.error(f"--notify-schedule: a comma list of seconds such as {schedule_example}")
    if not 0 <= args.port <= 65535:
        parser.error("--port: 0-65535 (0 picks a free port)")
    return {
        "host": args.host,
        "port": args.port,
        "data_dir": args.data,
        "public_url": args.public_url.rstrip("/") if args.public_url else None,
        "notify_schedule": schedule,
    }


def public_url(server: HTTPServer, host: str, configured: str | None) -> str:
    # A wildcard bind is not an address a browser can open, so the default public URL uses loopback.
    public_host = "127.0.0.1" if host in WILDCARD_HOSTS else host
    return configured or f"http://{public_host}:{server.server_address[1]}"


def serve_until_stopped(
    server: HTTPServer,
    *,
    start: Callable[[], None],
    stop: Iterable[Callable[[], None]],
    announce: Iterable[str],
    logger: str,
    name: str,
) -> int:
    """Start the background work, serve, print the ready lines; on SIGTERM or SIGINT stop serving,
    then call each of ``stop`` in order, and exit 0."""
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    start()
    serving = threading.Thread(
        target=server.serve_forever, args=(SHUTDOWN_POLL,), name="http", daemon=True
    )
    serving.start()
    for line in announce:
        print(line, flush=True)

    stopping.wait()
    server.shutdown()
    server.server_close()
    for step in stop:
        step()
    logging.getLogger(logger).info("%s stopped", name)
    return 0
