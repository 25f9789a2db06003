"""The back office's actions, one per service: the same services every other door calls."""

from backoffice.actions import ActionCall, BackOfficeAction, Result
from backoffice.forms import RefundForm, ResolveForm
from backoffice.wording import check_result, close_result, refund_result
from orders.errors import Refusal
from payments.enums import NotificationOutcome, RefundReason
from payments.models import ChannelNotification, Discrepancy, Payment, PaymentCheck, WebhookDelivery
from payments.services.attempts import payment_close_attempt
from payments.services.checks import payment_check_now
from payments.services.refunds import (
    refund_can_be_requested,
    refund_execute,
    refund_request,
    refundable_amount,
)
from payments.services.reprocessing import notification_reprocess
from payments.templatetags.money import money
from payments.webhooks.delivery import webhook_delivery_replay
from reconciliation.models import StatementDay
from reconciliation.services import discrepancy_resolve
from reconciliation.statements import StatementRunBusy, statement_reconcile


def _payment(payment: Payment) -> str:
    return (
        f"{payment.pk} · order {payment.order_id} · {payment.channel} {payment.out_trade_no} · "
        f"{money(payment.amount, payment.currency)} · {payment.get_status_display()}"
    )


def _payment_name(payment: Payment) -> str:
    return f"Payment {payment.pk}"


def _check_now(payment: Payment, call: ActionCall) -> Result:
    outcome = payment_check_now(payment_id=payment.pk, actor=call.actor)
    payment.refresh_from_db()
    return check_result(payment, outcome, payment.checks.last())


def _close(payment: Payment, call: ActionCall) -> Result:
    outcome = payment_close_attempt(payment_id=payment.pk, actor=call.actor)
    payment.refresh_from_db()
    return close_result(
        payment, outcome, payment.checks.filter(call=PaymentCheck.Call.CLOSE).last()
    )


def _refundable(payment: Payment) -> str:
    left = refundable_amount(payment)
    return f"{_payment(payment)} · still refundable {money(left, payment.currency)}"


def _refund_form(rows: list[Payment], data: dict | None) -> RefundForm:
    (payment,) = rows
    return RefundForm(data, payment=payment)


def _not_refundable(rows: list[Payment]) -> str:
    (payment,) = rows
    if not refund_can_be_requested(payment):
        return (
            f"payment {payment.pk} is {payment.get_status_display()}: only a succeeded payment "
            "can be refunded"
        )
    if refundable_amount(payment) <= 0:
        return f"payment {payment.pk} has nothing left to refund"
    return ""


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
    return refund_result(refund_execute(refund_id=refund.pk, actor=call.actor))


def _refund_review(rows: list[Payment], data: dict) -> str:
    (payment,) = rows
    return (
        f"Refund {money(data['amount'], payment.currency)} of payment {payment.pk} "
        f"(still refundable {money(refundable_amount(payment), payment.currency)}), "
        f"reason: “{data['reason']}”."
    )


def _callback(notification: ChannelNotification) -> str:
    verdict = f" {notification.error_code}" if notification.error_code else ""
    return (
        f"callback #{notification.pk} · {notification.channel} · "
        f"{notification.out_trade_no or 'trade not verified'} · {notification.outcome}{verdict}"
    )


def _reprocess(notification: ChannelNotification, call: ActionCall) -> Result:
    was = f"{notification.outcome} {notification.error_code}".strip()
    notification = notification_reprocess(notification_id=notification.pk)
    now = f"{notification.outcome} {notification.error_code}".strip()
    settled = notification.outcome in (NotificationOutcome.APPLIED, NotificationOutcome.UNCHANGED)
    return Result(f"was {was}, now {now}", done=settled)


def _delivery(delivery: WebhookDelivery) -> str:
    return f"{delivery.event_id} → {delivery.endpoint_url} · {delivery.status}"


def _replay(delivery: WebhookDelivery, call: ActionCall) -> Result:
    delivery = webhook_delivery_replay(delivery_id=delivery.pk, actor=call.actor)
    return Result(f"queued again ({delivery.status}); sent right after this request")


def _discrepancy(discrepancy: Discrepancy) -> str:
    where = discrepancy.out_trade_no or "no trade"
    return f"#{discrepancy.pk} · {discrepancy.channel} · {discrepancy.kind} · {where}"


def _resolve_form(rows: list[Discrepancy], data: dict | None) -> ResolveForm:
    return ResolveForm(data)


def _resolve_review(rows: list[Discrepancy], data: dict) -> str:
    return f"Resolve {len(rows)} discrepancy(ies) with the note: “{data['note']}”."


def _resolve(discrepancy: Discrepancy, call: ActionCall) -> Result:
    discrepancy_resolve(
        discrepancy_id=discrepancy.pk, resolved_by=call.user, note=call.data["note"]
    )
    return Result("resolved")


def _statement_day(day: StatementDay) -> str:
    return f"{day.channel} {day.day} · {day.status}"


def _reconcile_day(day: StatementDay, call: ActionCall) -> Result:
    """The same run as the schedule's and `manage.py reconcile`'s (a day not run yet is made)."""
    try:
        run = statement_reconcile(channel=day.channel, day=day.day)
    except StatementRunBusy as busy:
        raise Refusal("run_busy", str(busy)) from None
    if run.statement is None:
        return Result(
            f"statement not available ({run.error}); still {run.day.status}, retried later",
            done=False,
        )
    return Result(
        f"{run.day.status} against statement v{run.statement.version} "
        f"({run.statement.lines.count()} lines)"
    )


CHECK_NOW = BackOfficeAction(
    name="recheck_payments",
    title="Check at the channel now",
    permission="recheck",
    run=_check_now,
    describe=_payment,
    name_row=_payment_name,
)
CLOSE = BackOfficeAction(
    name="close_payments",
    title="Close at the channel",
    permission="close",
    run=_close,
    describe=_payment,
    name_row=_payment_name,
)
REFUND = BackOfficeAction(
    name="refund_payment",
    title="Refund",
    permission="refund",
    run=_refund,
    describe=_refundable,
    name_row=_payment_name,
    form=_refund_form,
    summarize=_refund_review,
    one_row=True,
    refuse=_not_refundable,
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
    form=_resolve_form,
    summarize=_resolve_review,
)
RECONCILE_DAY = BackOfficeAction(
    name="reconcile_days",
    title="Reconcile this day",
    permission="reconcile",
    run=_reconcile_day,
    describe=_statement_day,
)
