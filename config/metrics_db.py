"""The books' state as Prometheus gauges, read from PostgreSQL at each scrape.

A gauge kept in a process would be that process's view; read here, every web node and every
scrape tells the same truth, and nothing has to be kept in step. Each family is one or two
grouped queries (indexed where the hot paths already need them). With the database down the
scrape still answers: ``paycenter_database_up`` 0 and the process counters.
"""

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta

from django.db import DatabaseError
from django.db.models import Case, Count, Min, QuerySet, Sum, Value, When
from django.utils import timezone
from django_q.models import OrmQ
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from config.models import JobHeartbeat
from payments.enums import OPEN_PAYMENT_STATUSES, DeliveryStatus, RefundStatus
from payments.models import Discrepancy, Payment, Refund, WebhookDelivery
from reconciliation.risk import money_at_risk, stuck_payments

logger = logging.getLogger(__name__)

# (younger than, label): a payment's age bucket; older than the last is "1d+".
AGE_BUCKETS = ((60, "<1m"), (600, "1m-10m"), (3600, "10m-1h"), (86400, "1h-1d"))
OLDEST_AGE = "1d+"
REFUNDS_WATCHED = (RefundStatus.PENDING, RefundStatus.PROCESSING, RefundStatus.FAILED)
DELIVERIES_WATCHED = (DeliveryStatus.PENDING, DeliveryStatus.DEAD)


class DatabaseGauges(Collector):
    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        up = GaugeMetricFamily("paycenter_database_up", "1 when the database answered this scrape")
        try:
            families = [*_payments(now), *_refunds(), *_webhooks(now), *_risk(now), *_jobs(now)]
        except DatabaseError:
            logger.warning("metrics: the database did not answer", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families


def _gauge(name: str, documentation: str, labels: list[str], rows) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for *values, number in rows:
        family.add_metric([str(value) for value in values], number)
    return family


def _by_channel_and_age(payments: QuerySet, now: datetime) -> list[tuple[str, str, int]]:
    age = Case(
        *(
            When(created_at__gt=now - timedelta(seconds=seconds), then=Value(label))
            for seconds, label in AGE_BUCKETS
        ),
        default=Value(OLDEST_AGE),
    )
    rows = payments.order_by().annotate(age=age).values("channel", "age").annotate(n=Count("pk"))
    return [(row["channel"], row["age"], row["n"]) for row in rows]


def _seconds_since(moment: datetime | None, now: datetime) -> float:
    return max((now - moment).total_seconds(), 0.0) if moment else 0.0


def _payments(now: datetime) -> list[Metric]:
    open_payments = Payment.objects.filter(status__in=OPEN_PAYMENT_STATUSES)
    oldest_due = Payment.objects.filter(next_check_at__lte=now).aggregate(at=Min("next_check_at"))
    return [
        _gauge(
            "paycenter_payments_open",
            "Open payment attempts (UNPAID, PAYING) by channel and age",
            ["channel", "age"],
            _by_channel_and_age(open_payments, now),
        ),
        _gauge(
            "paycenter_payments_stuck",
            "Stuck payments (the back office's stuck list) by channel and age",
            ["channel", "age"],
            _by_channel_and_age(Payment.objects.filter(stuck_payments(now)), now),
        ),
        _gauge(
            "paycenter_payment_checks_oldest_due_lag_seconds",
            "How far behind its due time the oldest due payment check is (0: none due)",
            [],
            [(_seconds_since(oldest_due["at"], now),)],
        ),
    ]


def _refunds() -> list[Metric]:
    rows = (
        Refund.objects.filter(status__in=REFUNDS_WATCHED)
        .order_by()
        .values("status", "currency")
        .annotate(n=Count("pk"), total=Sum("amount"))
    )
    counts: dict[str, int] = dict.fromkeys(REFUNDS_WATCHED, 0)
    for row in rows:
        counts[row["status"]] += row["n"]
    return [
        _gauge(
            "paycenter_refunds",
            "Refunds not done: PENDING, PROCESSING (the outcome unknown yet), FAILED",
            ["status"],
            counts.items(),
        ),
        _gauge(
            "paycenter_refunds_amount_minor",
            "Their money in minor units, by status and currency",
            ["status", "currency"],
            [(row["status"], row["currency"], row["total"]) for row in rows],
        ),
    ]


def _webhooks(now: datetime) -> list[Metric]:
    rows = (
        WebhookDelivery.objects.filter(status__in=DELIVERIES_WATCHED)
        .order_by()
        .values("status")
        .annotate(n=Count("pk"), oldest=Min("created_at"))
    )
    counts = dict.fromkeys(DELIVERIES_WATCHED, 0)
    oldest = dict.fromkeys(DELIVERIES_WATCHED, None)
    for row in rows:
        counts[row["status"]], oldest[row["status"]] = row["n"], row["oldest"]
    return [
        _gauge(
            "paycenter_webhook_deliveries",
            "Webhook deliveries not delivered: PENDING (being tried) and DEAD",
            ["status"],
            counts.items(),
        ),
        _gauge(
            "paycenter_webhook_deliveries_oldest_age_seconds",
            "Age of the oldest delivery in each status (0: none)",
            ["status"],
            [(status, _seconds_since(at, now)) for status, at in oldest.items()],
        ),
    ]


def _risk(now: datetime) -> list[Metric]:
    lines = money_at_risk(now=now)
    discrepancies = (
        Discrepancy.objects.filter(resolved_at__isnull=True)
        .order_by()
        .values("kind")
        .annotate(n=Count("pk"))
    )
    return [
        _gauge(
            "paycenter_risk_rows",
            "The back office dashboard's lines: rows per line (at_risk: counted as money at risk)",
            ["risk", "at_risk"],
            [(line.risk.key, str(line.risk.at_risk).lower(), line.count) for line in lines],
        ),
        _gauge(
            "paycenter_money_at_risk_minor",
            "The dashboard's money at risk: each line's total in minor units, per currency",
            ["risk", "currency"],
            [
                (line.risk.key, currency, total)
                for line in lines
                if line.risk.at_risk
                for total, currency in line.totals
            ],
        ),
        _gauge(
            "paycenter_discrepancies_open",
            "Discrepancies not resolved, by kind",
            ["kind"],
            [(row["kind"], row["n"]) for row in discrepancies],
        ),
    ]


def _jobs(now: datetime) -> list[Metric]:
    return [
        _gauge(
            "paycenter_q2_queue_depth",
            "django-q2 tasks in the queue, waiting or being worked on (not yet acknowledged)",
            [],
            [(OrmQ.objects.count(),)],
        ),
        _gauge(
            "paycenter_jobs_last_tick_timestamp_seconds",
            "When each django-q2 cluster last did work: its pump's tick or a finished task",
            ["cluster"],
            [(beat.name, beat.last_tick_at.timestamp()) for beat in JobHeartbeat.objects.all()],
        ),
    ]
