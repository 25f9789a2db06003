"""Per-tick database cost of the payment checks' claim, at the current table size.

Run by bench/recovery.py with DATABASE_URL pointing at its database. Times the claims
(SELECT … FOR UPDATE SKIP LOCKED + the lease UPDATE, one payment each) that a pump lane runs
in a tick, rolled back so every repetition sees the same due rows. Prints one JSON line.
"""

import json
import statistics
import sys
import time

import django_project  # noqa: F401  first: the project importable, Django set up

# isort: split

from django.db import transaction
from django.utils import timezone

from payments.models import Payment
from payments.services.scheduler import payment_claim_due


class Rollback(Exception):
    pass


def claim_seconds(batch: int) -> tuple[float, int]:
    """One lane's claims of a tick: ``batch`` one-payment claims, each its own transaction."""
    started = time.perf_counter()
    try:
        with transaction.atomic():
            claimed = [payment_claim_due(now=timezone.now()) for _ in range(batch)]
            raise Rollback
    except Rollback:
        pass
    return time.perf_counter() - started, sum(payment_id is not None for payment_id in claimed)


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    for _ in range(20):  # warm the connection and the caches
        claim_seconds(batch)
    samples, claimed = zip(*(claim_seconds(batch) for _ in range(repeats)), strict=True)
    print(
        json.dumps(
            {
                "rows": Payment.objects.count(),
                "claimed_per_tick": claimed[0],
                "median_ms": statistics.median(samples) * 1000,
                "p90_ms": statistics.quantiles(samples, n=10)[-1] * 1000,
            }
        )
    )


if __name__ == "__main__":
    main()
