"""GET /healthz: the process answers. GET /readyz: can this deployment take and finish payments?
For load balancers and orchestrators.

/readyz is JSON; 200 when the database answers and is migrated and the job system is alive (a
cluster's heartbeat is fresh, or nothing is due), 503 otherwise. Redis and the channels are
reported, never required: the system is correct without Redis, and a channel that does not
answer is handled by the checks and the statements, not by taking this node out of service.
"""

from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from django_redis import get_redis_connection
from redis.exceptions import RedisError

from config.liveness import jobs_liveness
from payments.metrics import channel_last_calls


@require_GET
def healthz(request):
    return JsonResponse({"status": "ok"})


@require_GET
def readyz(request):
    report = {"redis": _redis_answers(), "channels": channel_last_calls()}
    try:
        migrated = _migrated()
        liveness = jobs_liveness(now=timezone.now())
    except DatabaseError:
        body = {"status": "unavailable", "database": False, "migrated": None, "jobs": None}
        return JsonResponse(body | report, status=503)
    ready = migrated and liveness.alive
    body = {
        "status": "ok" if ready else "unavailable",
        "database": True,
        "migrated": migrated,
        "jobs": liveness.as_json(),
    }
    return JsonResponse(body | report, status=200 if ready else 503)


def _migrated() -> bool:
    """No migration of the code this process runs is unapplied (it reads the applied set)."""
    executor = MigrationExecutor(connection)
    return not executor.migration_plan(executor.loader.graph.leaf_nodes())


def _redis_answers() -> bool:
    try:
        return bool(get_redis_connection("default").ping())
    except RedisError:
        return False
