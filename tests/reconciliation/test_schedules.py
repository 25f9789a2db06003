"""One statement Schedule per channel with a statement, and runs of one day never overlap."""

import ast
from datetime import UTC, datetime

import pytest
from django.utils.module_loading import import_string
from django_q.models import Schedule

from config.schedules import statement_schedules, sync_schedules
from reconciliation.models import ReconciliationOutcome, Statement, StatementDay
from reconciliation.statements import StatementRunBusy, statement_reconcile
from tests.factories import paid_payment
from tests.helpers import race

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


def with_channel(settings, code, adapter):
    settings.PAYMENT_CHANNELS = {
        **settings.PAYMENT_CHANNELS,
        code: {
            **settings.PAYMENT_CHANNELS["sandbox"],
            "class": f"tests.reconciliation.channels.{adapter}",
        },
    }


def test_each_channel_with_a_statement_gets_its_schedule_from_its_ready_time(sandbox, settings):
    with_channel(settings, "no_statement", "SandboxWithoutStatement")

    specs = {spec["name"]: spec for spec in statement_schedules(NOW)}

    assert set(specs) == {"reconcile-statements-sandbox", "reconcile-statements-sandbox_card"}
    sandbox_spec = specs["reconcile-statements-sandbox"]
    assert sandbox_spec["func"] == "reconciliation.tasks.statements_reconcile_due"
    assert sandbox_spec["args"] == "'sandbox'"
    assert sandbox_spec["next_run"] == NOW  # 00:00 UTC has passed today: at once


def test_a_channel_ready_later_today_starts_then(sandbox, settings):
    with_channel(settings, "late", "SandboxReadyLateInShanghai")

    specs = {spec["name"]: spec for spec in statement_schedules(NOW)}

    assert specs["reconcile-statements-late"]["next_run"] == datetime(
        2026, 3, 4, 14, 0, tzinfo=UTC
    )  # 22:00 in Shanghai


@pytest.mark.django_db
def test_sync_writes_the_statement_schedules(sandbox):
    sync_schedules()

    rows = Schedule.objects.filter(name__startswith="reconcile-statements-")
    assert rows.count() == 2
    row = rows.get(name="reconcile-statements-sandbox")
    # what the cluster does with the row: the dotted function, the literal arguments
    assert import_string(row.func)(ast.literal_eval(row.args)) == 1  # yesterday, reconciled
    assert StatementDay.objects.get().status == StatementDay.Status.RECONCILED


@pytest.mark.django_db(transaction=True)
def test_two_runs_of_the_same_day_at_once_make_one_set_of_outcomes(merchant, sandbox):
    paid_payment(merchant, sandbox)
    day = datetime.now(UTC).date()

    results = race(lambda _: statement_reconcile(channel="sandbox", day=day), 4)

    assert all(not isinstance(r, Exception) or isinstance(r, StatementRunBusy) for r in results)
    assert any(not isinstance(r, Exception) for r in results)
    assert Statement.objects.count() == 1
    facts = list(ReconciliationOutcome.objects.values_list("fact", flat=True))
    assert len(facts) == len(set(facts)) > 0
