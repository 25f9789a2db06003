"""Payment reads: for the partner API always scoped to one merchant (another merchant's id is
a 404), and the attempt a customer is paying with."""

from operator import attrgetter

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import BigIntegerField, Func, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.lookups import GreaterThan
from django.http import Http404

from orders.ids import is_id_shaped
from orders.models import Merchant, Order
from payments.enums import OPEN_PAYMENT_STATUSES
from payments.models import Event, Payment, Refund

# Every transaction older than this one has ended (committed or rolled back).
OLDEST_RUNNING_TRANSACTION = RawSQL("pg_snapshot_xmin(pg_current_snapshot())::text::bigint", [])


class UnknownEvent(LookupError):
    pass


def merchant_orders(
    *,
    merchant: Merchant,
    status: str | None = None,
    merchant_order_no: str | None = None,
    created_after=None,
    created_before=None,
) -> QuerySet[Order]:
    orders = Order.objects.filter(merchant=merchant)
    if status:
        orders = orders.filter(status=status)
    if merchant_order_no:
        orders = orders.filter(merchant_order_no=merchant_order_no)
    if created_after:
        orders = orders.filter(created_at__gte=created_after)
    if created_before:
        orders = orders.filter(created_at__lt=created_before)
    return orders


def merchant_order(*, merchant: Merchant, order_id: str) -> Order:
    return _own(Order.objects.prefetch_related("payments"), order_id, merchant=merchant)


def merchant_order_id(*, merchant: Merchant, order_id: str) -> str:
    """The id of one of the merchant's orders (else 404), for a change that reads the order
    itself, under its lock: nothing else is read here."""
    return _own(Order.objects.values_list("pk", flat=True), order_id, merchant=merchant)


def merchant_payment(*, merchant: Merchant, payment_id: str) -> Payment:
    return _own(Payment.objects.all(), payment_id, order__merchant=merchant)


def merchant_refund(*, merchant: Merchant, refund_id: str) -> Refund:
    return _own(
        Refund.objects.select_related("payment"), refund_id, payment__order__merchant=merchant
    )


def merchant_events_after(
    *, merchant: Merchant, after: str | None, limit: int
) -> tuple[list[Event], bool]:
    """The merchant's events in feed order after the event ``after``, and whether more follow.

    Feed order is (transaction_id, sequence), and only events of transactions older than the
    oldest one still running are served. Those transactions have all ended, so nothing can
    commit behind them later: a partner's cursor never skips an event. The price is that one
    long writing transaction holds the feed back (never loses anything) until it ends.

    One query whatever the feed's length: the page's positions are read from the feed's index
    alone (an index-only walk starting at the cursor), then only those events' rows.
    """
    positions = Event.objects.filter(
        merchant=merchant, transaction_id__lt=OLDEST_RUNNING_TRANSACTION
    ).order_by("transaction_id", "sequence")
    if after:
        cursor = (
            Event.objects.filter(merchant=merchant, pk=after)
            .order_by()
            .values_list("transaction_id", "sequence")
            .first()
        )
        if cursor is None:
            raise UnknownEvent(after)
        positions = positions.filter(
            GreaterThan(
                FeedPosition("transaction_id", "sequence"), FeedPosition(*map(Value, cursor))
            )
        )
    page = list(
        Event.objects.filter(sequence__in=positions.values("sequence")[: limit + 1]).order_by(
            "transaction_id", "sequence"
        )
    )
    return page[:limit], len(page) > limit


class FeedPosition(Func):
    """(transaction_id, sequence) as one row value. Compared whole, "after the cursor" is one
    range of the feed's index (merchant, transaction_id, sequence); spelled as an OR of the two
    columns it would be read as two ranges, and every later event sorted to find a page."""

    template = "(%(expressions)s)"
    output_field = BigIntegerField()


def _own(queryset: QuerySet, pk: str, **scope):
    if not is_id_shaped(pk):
        raise Http404
    try:
        return queryset.get(pk=pk, **scope)  # by primary key: no ordering to compile
    except ObjectDoesNotExist:
        raise Http404 from None


def order_open_attempt(order: Order) -> Payment | None:
    """The attempt the customer is paying with right now, if any. Read from the order's
    payments (an order has a few), so an order read with them prefetched costs no query."""
    open_attempts = [
        payment
        for payment in order.payments.all()
        if payment.status in OPEN_PAYMENT_STATUSES and not payment.superseded
    ]
    return max(open_attempts, key=attrgetter("created_at"), default=None)
