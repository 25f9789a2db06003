"""Daily statement reconciliation: fetch a channel's statement for one of its days, keep it, and
match it line by line against our books (reconciliation/matching.py).

A day is the channel's own (its time zone). Before the channel's statement is final (its
``ready_at`` on the next day) a run is provisional: lines are matched and healed, but nothing is
called missing at the channel yet.
"""

import hashlib
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from payments.channels import get_channel
from payments.channels.base import ChannelError, ChannelUnavailable
from reconciliation import matching
from reconciliation.days import channel_today, final_from
from reconciliation.models import Statement, StatementDay, StatementLine

logger = logging.getLogger(__name__)

# Long enough for a day of lines to be matched; a crashed run's lease simply runs out.
RUN_LEASE = timedelta(minutes=30)
# How far back the schedule keeps trying days the channel was not ready for.
RETRY_DAYS = 7


class UnreadableStatement(Exception):
    """A line of the file cannot be kept as it is (too long, a NUL byte, an unknown kind)."""


class StatementRunBusy(Exception):
    """Another run holds this channel's day."""


@dataclass(frozen=True)
class RunResult:
    day: StatementDay
    statement: Statement | None  # None when the statement could not be had
    error: str = ""


def statement_reconcile(*, channel: str, day: date, now: datetime | None = None) -> RunResult:
    """Fetch, keep and match the statement of one channel's day. A channel that does not answer
    (or is not ready) leaves the day PENDING with the error recorded, for the schedule to retry."""
    now = now or timezone.now()
    final = now >= final_from(channel, day)
    statement_day = _take_lease(channel, day, now)
    if statement_day is None:
        raise StatementRunBusy(f"{channel} {day} is being reconciled right now")
    try:
        try:
            fetched = get_channel(channel).statement_lines(day)
            statement = statement_store(
                channel=channel,
                day=day,
                raw=fetched.raw,
                lines=fetched.lines,
                stated_fee_total=fetched.fee_total,
            )
        except (ChannelUnavailable, ChannelError, UnreadableStatement) as error:
            logger.warning(
                "statement not available: channel=%s day=%s error=%s", channel, day, error
            )
            _finish(
                statement_day, status=StatementDay.Status.PENDING, error=str(error) or "unavailable"
            )
            return RunResult(day=statement_day, statement=None, error=str(error) or "unavailable")
        matching.statement_match(statement=statement, final=final)
        status = StatementDay.Status.RECONCILED if final else StatementDay.Status.PROVISIONAL
        _finish(statement_day, status=status, error="", reconciled_at=timezone.now())
        return RunResult(day=statement_day, statement=statement)
    except BaseException:
        _finish(statement_day, status=statement_day.status, error="the run failed: see the log")
        raise


def statement_store(
    *, channel: str, day: date, raw: bytes, lines, stated_fee_total: int | None = None
) -> Statement:
    """Keep the file and its lines once: the same bytes again return the kept version, and so
    do other bytes with the same lines and stated fee total as the last version (Alipay stamps
    every download with its export time). A line that cannot be kept refuses the whole file
    (UnreadableStatement): nothing is half-kept."""
    sha256 = hashlib.sha256(raw).hexdigest()
    kept = Statement.objects.filter(channel=channel, day=day, sha256=sha256).first()
    if kept is not None:
        return kept
    rows = [_line_row(number, line) for number, line in enumerate(lines, start=1)]
    latest = Statement.objects.filter(channel=channel, day=day).order_by("-version").first()
    if (
        latest is not None
        and latest.stated_fee_total == stated_fee_total
        and _line_values(latest.lines.all()) == _line_values(rows)
    ):
        return latest
    try:
        with transaction.atomic():
            last = Statement.objects.filter(channel=channel, day=day).aggregate(v=Max("version"))
            statement = Statement.objects.create(
                channel=channel,
                day=day,
                version=(last["v"] or 0) + 1,
                sha256=sha256,
                size=len(raw),
                raw=raw,
                fee_total=sum(line.fee or 0 for line in lines),
                stated_fee_total=stated_fee_total,
            )
            for row in rows:
                row.statement = statement
            StatementLine.objects.bulk_create(rows)
    except IntegrityError:
        # a concurrent download kept the same file (or took the version number) first
        return Statement.objects.get(channel=channel, day=day, sha256=sha256)
    logger.info(
        "statement kept: channel=%s day=%s version=%s lines=%s size=%s",
        channel,
        day,
        statement.version,
        len(lines),
        statement.size,
    )
    return statement


def statements_reconcile_due(*, channel: str, now: datetime | None = None) -> list[RunResult]:
    """The schedule's work for one channel: the previous day once its statement is ready, and
    every recent day not yet reconciled against a final statement."""
    now = now or timezone.now()
    today = channel_today(channel, now)
    recent = [today - timedelta(days=back) for back in range(RETRY_DAYS, 0, -1)]
    done = set(
        StatementDay.objects.filter(
            channel=channel, day__in=recent, status=StatementDay.Status.RECONCILED
        ).values_list("day", flat=True)
    )
    known = set(
        StatementDay.objects.filter(channel=channel, day__in=recent).values_list("day", flat=True)
    )
    yesterday = today - timedelta(days=1)
    due = [
        day
        for day in recent
        if day not in done
        and (day in known or day == yesterday)
        and now >= final_from(channel, day)
    ]
    results = []
    for day in due:
        try:
            results.append(statement_reconcile(channel=channel, day=day, now=now))
        except StatementRunBusy:
            continue
    return results


def _line_row(number: int, line) -> StatementLine:
    row = StatementLine(
        number=number,
        kind=line.kind,
        out_trade_no=line.out_trade_no,
        channel_trade_no=line.channel_trade_no,
        out_refund_no=line.out_refund_no or "",
        channel_refund_no=line.channel_refund_no or "",
        amount=line.amount,
        currency=line.currency,
        status=line.status,
        time=line.time,
        fee=line.fee,
    )
    try:
        row.clean_fields(exclude=["statement"])
        texts = (row.out_trade_no, row.channel_trade_no, row.out_refund_no, row.channel_refund_no)
        if row.amount <= 0 or any("\x00" in text for text in (*texts, row.status, row.currency)):
            raise ValidationError("an amount must be positive and no text may hold a NUL byte")
    except ValidationError as error:
        raise UnreadableStatement(f"line {number}: {error.messages}") from None
    return row


LINE_FIELDS = (
    "number",
    "kind",
    "out_trade_no",
    "channel_trade_no",
    "out_refund_no",
    "channel_refund_no",
    "amount",
    "currency",
    "status",
    "time",
    "fee",
)


def _line_values(lines) -> list[tuple]:
    return [tuple(getattr(line, name) for name in LINE_FIELDS) for line in lines]


def _take_lease(channel: str, day: date, now: datetime) -> StatementDay | None:
    StatementDay.objects.get_or_create(channel=channel, day=day)
    taken = StatementDay.objects.filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now), channel=channel, day=day
    ).update(lease_until=now + RUN_LEASE)
    return StatementDay.objects.get(channel=channel, day=day) if taken else None


def _finish(statement_day: StatementDay, *, status: str, error: str, reconciled_at=None) -> None:
    statement_day.status = status
    statement_day.last_error = error
    statement_day.attempts += 1
    statement_day.last_attempt_at = timezone.now()
    statement_day.lease_until = None
    fields = ["status", "last_error", "attempts", "last_attempt_at", "lease_until"]
    if reconciled_at is not None:
        statement_day.reconciled_at = reconciled_at
        fields.append("reconciled_at")
    statement_day.save(update_fields=fields)
