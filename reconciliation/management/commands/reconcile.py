"""`manage.py reconcile CHANNEL DAY`: reconcile one channel's day now and print its summary.

DAY is YYYY-MM-DD in the channel's own time zone. Exit 0 when the books agree, 1 when
discrepancies remain open or the statement could not be had, 2 for bad arguments.
"""

import sys
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from reconciliation.days import StatementUnavailable, availability
from reconciliation.statements import StatementRunBusy, statement_reconcile
from reconciliation.summary import DaySummary, day_summary


class Command(BaseCommand):
    help = "Reconcile a channel's statement of one day (YYYY-MM-DD, the channel's time zone)."

    def add_arguments(self, parser):
        parser.add_argument("channel")
        parser.add_argument("day")

    def handle(self, *args, channel: str, day: str, **options):
        try:
            availability(channel)
            the_day = date.fromisoformat(day)
        except StatementUnavailable as error:
            raise CommandError(str(error), returncode=2) from None
        except ValueError:
            raise CommandError(f"DAY must be YYYY-MM-DD, got {day!r}", returncode=2) from None
        try:
            run = statement_reconcile(channel=channel, day=the_day)
        except StatementRunBusy as busy:
            raise CommandError(str(busy), returncode=1) from None
        if run.statement is None:
            self.stdout.write(
                f"{channel} {the_day}: statement not available ({run.error}); retry later"
            )
            sys.exit(1)
        summary = day_summary(channel=channel, day=the_day)
        self.stdout.write(render(summary, status=run.day.status))
        if summary.open_discrepancies:
            sys.exit(1)


def render(summary: DaySummary, *, status: str) -> str:
    statement = summary.statement
    out = [
        f"{summary.channel} {summary.day} ({status}): statement v{statement.version}, "
        f"{statement.lines.count()} lines, sha256 {statement.sha256[:12]}",
        f"{'':10}{'ours':>30}{'channel':>30}",
    ]
    for row in summary.rows():
        out.append(f"{row.label:10}{_money(row.ours):>30}{_money(row.channel):>30}")
    out.append(
        "outcomes: "
        + (", ".join(f"{k} {n}" for k, n in sorted(summary.outcomes.items())) or "none")
    )
    out.append(f"open discrepancies: {len(summary.open_discrepancies)}")
    out.extend(
        f"  #{d.pk} {d.kind} {d.out_trade_no} {d.details.get('problem', '')}"
        for d in summary.open_discrepancies
    )
    return "\n".join(out)


def _money(amounts: dict[str, int] | None) -> str:
    if amounts is None:
        return "n/a"  # we do not book the channel's fees
    return " ".join(f"{amount} {currency}" for currency, amount in sorted(amounts.items())) or "0"
