"""Outages: something the request needs cannot take work right now — the database is
unreachable or in recovery, Redis failed where it is needed, the job queue is backlogged.

They are not bugs and not the client's fault: every door answers them with a retryable
`503` and `Retry-After` in its own language (the API's JSON error, a checkout page, a
channel's refusal dialect), never a 500. Each request's change is one transaction, so an
outage leaves nothing half-written; a retry completes or replays it.
"""

from django.conf import settings
from django.db import InterfaceError, InternalError, OperationalError
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

# SQLSTATE of a write refused by a server in recovery (a hot standby, a failover under way).
READ_ONLY_SQL_TRANSACTION = "25006"

MESSAGE = "the service is briefly unavailable; retry after Retry-After seconds"


class JobsBacklogged(Exception):
    """The job queue holds more work than it can take: new work would wait unseen."""


OUTAGE_ERRORS = (
    OperationalError,  # cannot connect, connection lost, the server starting up or in recovery
    InterfaceError,  # a connection that is already closed
    RedisConnectionError,
    RedisTimeoutError,
    ConnectionInterrupted,
    JobsBacklogged,
)


def is_outage(error: BaseException) -> bool:
    if isinstance(error, OUTAGE_ERRORS):
        return True
    cause = error.__cause__
    return isinstance(error, InternalError) and (
        getattr(cause, "sqlstate", None) == READ_ONLY_SQL_TRANSACTION
    )


def retry_after() -> str:
    """The Retry-After header value for an outage answer (seconds)."""
    return str(settings.OUTAGE_RETRY_AFTER_SECONDS)
