"""GET /readyz: can this deployment take and finish payments? For production supervisors.

JSON; 200 when the database answers and the job system is alive (a cluster's heartbeat is fresh,
or nothing is due), 503 otherwise. Deliberately small; later checks join the same answer.
"""

from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from config.liveness import jobs_liveness


@require_GET
def readyz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        liveness = jobs_liveness(now=timezone.now())
    except DatabaseError:
        return JsonResponse({"status": "unavailable", "database": False, "jobs": None}, status=503)
    ready = liveness.alive
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "database": True, "jobs": liveness.as_json()},
        status=200 if ready else 503,
    )
