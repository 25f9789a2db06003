"""The back office's actions, one per service: the same services every other door calls."""

from backoffice.actions import ActionCall, BackOfficeAction
from backoffice.forms import RefundForm, ResolveForm
from orders.errors import Refusal
from orders.templatetags.money import money
from payments.enums import RefundReason
from payments.models import ChannelNotification, Discrepancy, Payment, WebhookDelivery
from payments.services.attempts import payment_close_attempt
from payments.services.checks import payment_check_now
from payments.services.refunds import refund_execute, refund_request, refundable_amount
from payments.services.reprocessing import notification_reprocess
from payments.webhooks.delivery import webhook_delivery_replay
from reconciliation.models import StatementDay
from reconciliation.services import discrepancy_resolve
from reconciliation.statements import StatementRunBusy, statement_reconcile


def _payment(payment: Payment) -> str:
    return (
        f"{payment.pk} · order {payment.order_id} · {payment.channel} {payment.out_trade_no} · "
        f"{money(payment.amount, payment.currency)} · {payment.status}"
    )


def _check_now(payment: Payment, call: ActionCall) -> str:
    outcome = payment_check_now(payment_id=payment.pk, actor=call.actor)
    payment.refresh_from_db()
    return f"channel queried: {outcome}; payment {payment.status}"


def _close(payment: Payment, call: ActionCall) -> str:
    outcome = payment_close_attempt(payment_id=payment.pk, actor=call.actor)
    payment.refresh_from_db()
    return f"close at channel: {outcome}; payment {payment.status}"


def _refundable(payment: Payment) -> str:
    left = refundable_amount(payment)
    return f"{_payment(payment)} · refundable {money(left, payment.currency)} ({left})"


def _refund(payment: Payment, call: ActionCall) -> str:
    refund = refund_request(
        payment_id=payment.pk,
        amount=call.data["amount"],
        reason=RefundReason.MANUAL,
        actor=call.actor,
        note=call.data["reason"],
    )
    # Executed now, as the admin, so the answer is on the page; the job queued after commit
    # finds it final (or retries it with the same out_refund_no when the channel was unsure).
    refund = refund_execute(refund_id=refund.pk, actor=call.actor)
    return f"refund {refund.pk} of {money(refund.amount, refund.currency)}: {refund.status}"


def _refund_review(rows: list[Payment], data: dict) -> str:
    (payment,) = rows
    return (
        f"Refund {money(data['amount'], payment.currency)} ({data['amount']} minor units) "
        f"of {payment.pk}, reason: “{data['reason']}”."
    )


def _callback(notification: ChannelNotification) -> str:
    verdict = f" {notification.error_code}" if notification.error_code else ""
    return (
        f"callback #{notification.pk} · {notification.channel} · "
        f"{notification.out_trade_no or 'trade not verified'} · {notification.outcome}{verdict}"
    )


def _reprocess(notification: ChannelNotification, call: ActionCall) -> str:
    was = f"{notification.outcome} {notification.error_code}".strip()
    notification = notification_reprocess(notification_id=notification.pk)
    now = f"{notification.outcome} {notification.error_code}".strip()
    return f"was {was}, now {now}"


def _delivery(delivery: WebhookDelivery) -> str:
    return f"{delivery.event_id} → {delivery.endpoint_url} · {delivery.status}"


def _replay(delivery: WebhookDelivery, call: ActionCall) -> str:
    delivery = webhook_delivery_replay(delivery_id=delivery.pk, actor=call.actor)
    return f"queued again ({delivery.status}); sent right after this request"


def _discrepancy(discrepancy: Discrepancy) -> str:
    where = discrepancy.out_trade_no or "no trade"
    return f"#{discrepancy.pk} · {discrepancy.channel} · {discrepancy.kind} · {where}"


def _resolve_review(rows: list[Discrepancy], data: dict) -> str:
    return f"Resolve {len(rows)} discrepancy(ies) with the note: “{data['note']}”."


def _resolve(discrepancy: Discrepancy, call: ActionCall) -> str:
    discrepancy_resolve(
        discrepancy_id=discrepancy.pk, resolved_by=call.user, note=call.data["note"]
    )
    return "resolved"


def _statement_day(day: StatementDay) -> str:
    return f"{day.channel} {day.day} · {day.status}"


def _reconcile_day(day: StatementDay, call: ActionCall) -> str:
    """The same run as the schedule's and `manage.py reconcile`'s (a day not run yet is made)."""
    try:
        run = statement_reconcile(channel=day.channel, day=day.day)
    except StatementRunBusy as busy:
        raise Refusal("run_busy", str(busy)) from None
    if run.statement is None:
        return f"statement not available ({run.error}); still {run.day.status}, retried later"
    return (
        f"{run.day.status} against statement v{run.statement.version} "
        f"({run.statement.lines.count()} lines)"
    )


CHECK_NOW = BackOfficeAction(
    name="recheck_payments",
    title="Check at the channel now",
    permission="recheck",
    run=_check_now,
    describe=_payment,
)
CLOSE = BackOfficeAction(
    name="close_payments",
    title="Close at the channel",
    permission="close",
    run=_close,
    describe=_payment,
)
REFUND = BackOfficeAction(
    name="refund_payment",
    title="Refund",
    permission="refund",
    run=_refund,
    describe=_refundable,
    form_class=RefundForm,
    summarize=_refund_review,
    one_row=True,
)
REPROCESS = BackOfficeAction(
    name="reprocess_callbacks",
    title="Reprocess callback (verified again)",
    permission="reprocess",
    run=_reprocess,
    describe=_callback,
)
REPLAY = BackOfficeAction(
    name="replay_deliveries",
    title="Replay dead-lettered webhook",
    permission="replay",
    run=_replay,
    describe=_delivery,
)
RESOLVE = BackOfficeAction(
    name="resolve_discrepancies",
    title="Resolve with a note",
    permission="resolve",
    run=_resolve,
    describe=_discrepancy,
    form_class=ResolveForm,
    summarize=_resolve_review,
)
RECONCILE_DAY = BackOfficeAction(
    name="reconcile_days",
    title="Reconcile this day",
    permission="reconcile",
    run=_reconcile_day,
    describe=_statement_day,
)
