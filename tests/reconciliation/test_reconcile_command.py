"""`manage.py reconcile CHANNEL DAY`: the summary it prints and its exit code."""

import io
import re
from datetime import UTC

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from reconciliation.models import Statement
from tests.factories import paid_payment

pytestmark = pytest.mark.django_db


def reconcile(*args) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("reconcile", *args, stdout=out)
    except SystemExit as exit_:
        return exit_.code, out.getvalue()
    return 0, out.getvalue()


def test_a_day_with_a_refund_we_never_made_prints_it_and_exits_1(merchant, sandbox):
    payment = paid_payment(merchant, sandbox, amount=2500)
    sandbox.console_refund(payment.out_trade_no, 500)
    day = timezone.now().astimezone(UTC).date().isoformat()

    code, output = reconcile("sandbox", day)

    assert code == 1
    assert f"sandbox {day} (PROVISIONAL)" in output
    assert "payments" in output and "refunds" in output and "fees" in output and "net" in output
    assert re.search(r"outcomes: .*REFUND_MISSING_HERE [1-9]", output)
    assert f"REFUND_MISMATCH {payment.out_trade_no} refund_missing_here" in output
    # ours is this test's database; the channel's file also holds other tests' trades of today
    lines = Statement.objects.get().lines.filter(currency="CNY")
    theirs = {
        kind: sum(line.amount for line in lines if line.kind == kind)
        for kind in ("payment", "refund")
    }
    rows = {line[:10].strip(): (line[10:40].strip(), line[40:]) for line in output.splitlines()}
    assert rows["payments"][0] == "2500 CNY" and f"{theirs['payment']} CNY" in rows["payments"][1]
    assert rows["refunds"][0] == "0" and f"{theirs['refund']} CNY" in rows["refunds"][1]
    assert rows["fees"] == ("n/a", f"{'0':>30}")
    net = theirs["payment"] - theirs["refund"]
    assert rows["net"][0] == "2500 CNY" and f"{net} CNY" in rows["net"][1]


def test_a_day_whose_books_agree_exits_0(sandbox):
    code, output = reconcile("sandbox", "2020-01-01")  # a final day with nothing on it

    assert code == 0, output
    assert "sandbox 2020-01-01 (RECONCILED)" in output
    assert "open discrepancies: 0" in output


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("nowhere", "2020-01-01"), "no channel 'nowhere'"),
        (("sandbox", "2020-13-01"), "DAY must be YYYY-MM-DD"),
        (("sandbox", "yesterday"), "DAY must be YYYY-MM-DD"),
    ],
)
def test_bad_arguments_are_refused_clearly_and_change_nothing(sandbox, args, says):
    with pytest.raises(CommandError, match=says) as refusal:
        call_command("reconcile", *args)
    assert refusal.value.returncode == 2


def test_a_channel_that_does_not_answer_exits_1_and_says_retry(sandbox):
    sandbox.set_faults({"api_error_rate": {"statement": 1}})

    code, output = reconcile("sandbox", "2020-01-02")

    assert code == 1
    assert "statement not available" in output and "retry later" in output
