"""Customer pages: demo shop → order (choose a channel) → pay → result. Thin doors onto
checkout.services and the domain services; every render reads the order's real state first."""

import secrets

from django.conf import settings
from django.contrib import messages
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from checkout.forms import DEMO_PRODUCTS, ChannelChoiceForm, ShopOrderForm, client_for_user_agent
from checkout.push import checkout_events_stream
from checkout.services import (
    CheckoutState,
    checkout_payment_check,
    checkout_payment_start,
    checkout_state,
)
from orders.audit import CUSTOMER_CHECKOUT
from orders.models import Merchant
from orders.selectors import order_get
from orders.services import order_submit
from payments.enums import PaymentClient
from payments.queue import jobs_backlog_check
from payments.services.attempts import PaymentRefused

# The attempt a Pay click just started or returned, kept in the session under a one-time key
# that only that click's redirect carries (?started=): its first render shows the code to pay
# with; any other render (reload, back button, another tab) asks whether it was paid first.
JUST_STARTED = "checkout_just_started"
JUST_STARTED_KEPT = 5  # redirects a double click cancelled are never followed: keep a few

# Refusals in the customer's words; anything else shows the service's own message.
REFUSAL_WORDING = {
    "payment_in_progress": (
        "Your earlier payment may still be going through, so we cannot start another one yet. "
        "If you have paid, choose “I have paid — check now”."
    ),
    "page_outdated": (
        "A payment for this order was already started, perhaps in another tab or window."
    ),
    "order_paid": "Your earlier payment went through: this order is paid.",
    "order_expired": "This order has expired and can no longer be paid.",
    "order_expiring": "This order expires too soon to be paid this way: choose another way to pay.",
    "order_closed": "This order is closed and can no longer be paid.",
    "channel_unavailable": "The payment channel did not answer. Please try again.",
}
# Refusals that are good news for the customer: shown as a success, never in a red banner.
GOOD_NEWS = {"order_paid"}


@require_GET
def shop(request: HttpRequest) -> HttpResponse:
    return render(
        request, "checkout/shop.html", {"products": DEMO_PRODUCTS, "form": ShopOrderForm()}
    )


@require_POST
def shop_order(request: HttpRequest) -> HttpResponse:
    jobs_backlog_check()  # new work only while the job queue can take it (else a 503 page)
    form = ShopOrderForm(request.POST)
    if not form.is_valid():
        return render(
            request, "checkout/shop.html", {"products": DEMO_PRODUCTS, "form": form}, status=400
        )
    name, price = form.product_details()
    order, _ = order_submit(
        merchant=Merchant.objects.get(pk=settings.DEMO_MERCHANT_ID),
        merchant_order_no=f"shop-{form.cleaned_data['token']}",
        amount=price,
        currency="CNY",
        subject=name,
        actor=CUSTOMER_CHECKOUT,
        submitter=_session_key(request),
    )
    return redirect("checkout", order_id=order.pk)


def _session_key(request: HttpRequest) -> str:
    if request.session.session_key is None:
        request.session.save()
    return request.session.session_key


@never_cache  # no-store: the back button and bfcache must fetch the real state again
@require_GET
def checkout(request: HttpRequest, order_id: str) -> HttpResponse:
    just_started = _take_just_started(request)
    # a re-render asks the channel (rate-limited); the one right after Pay has nothing to learn
    state = checkout_state(order_id, repair=just_started is None)
    if state.paid:
        return _page(request, "checkout/result.html", state)
    if not state.payable:
        return _page(request, "checkout/expired.html", state)
    if state.attempt is None:
        return _page(request, "checkout/order.html", state, form=_channel_form(request, state))
    if state.attempt.pk == just_started and state.attempt.pay_action:
        return _page(request, "checkout/pay.html", state)
    return _page(
        request,
        "checkout/in_progress.html",
        state,
        form=_channel_form(request, state, exclude=state.attempt.channel),
    )


@require_POST
def checkout_pay(request: HttpRequest, order_id: str) -> HttpResponse:
    jobs_backlog_check()
    order = order_get(order_id)
    form = ChannelChoiceForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose how to pay.")
        return redirect("checkout", order_id=order.pk)
    client = form.cleaned_client()
    try:
        payment = checkout_payment_start(
            order_id=order.pk,
            channel=form.cleaned_data["channel"],
            client=client,
            seen_attempt=form.cleaned_seen_attempt(),
        )
    except PaymentRefused as refusal:
        say = messages.success if refusal.code in GOOD_NEWS else messages.error
        say(request, REFUSAL_WORDING.get(refusal.code, refusal.message))
        return redirect("checkout", order_id=order.pk)
    if client == PaymentClient.MOBILE and payment.pay_action.get("url"):
        return redirect(payment.pay_action["url"])  # the channel brings them back: return page
    return redirect(
        f"{reverse('checkout', args=[order.pk])}?started={_just_started(request, payment)}"
    )


@require_POST
def checkout_check(request: HttpRequest, order_id: str) -> HttpResponse:
    """ "I have paid — check now"."""
    state = checkout_payment_check(order_id=order_id)
    if not state.paid:
        messages.info(
            request,
            "The payment has not reached us yet. If you have paid, this page will update by "
            "itself as soon as it does.",
        )
    return redirect("checkout", order_id=state.order.pk)


@never_cache
@require_GET
def checkout_return(request: HttpRequest, order_id: str) -> HttpResponse:
    """Where the channel sends a mobile customer back: ask the channel before answering."""
    state = checkout_payment_check(order_id=order_id)
    if state.paid:
        return _page(request, "checkout/result.html", state)
    if state.attempt is None:
        return redirect("checkout", order_id=state.order.pk)
    return _page(request, "checkout/return.html", state)


@never_cache
@require_GET
def checkout_status(request: HttpRequest, order_id: str) -> JsonResponse:
    """Polled by the pages; while a payment is open it also asks the channel (read repair)."""
    return JsonResponse(checkout_state(order_id, repair=True).as_json())


@never_cache
@require_GET
async def checkout_events(request: HttpRequest, order_id: str) -> HttpResponse:
    """Server push (SSE) of the same state. Only under ASGI: under WSGI a stream would hold a
    worker thread, so 204 tells the browser's EventSource to stop (the page keeps polling)."""
    if not isinstance(request, ASGIRequest):
        return HttpResponse(status=204)
    return StreamingHttpResponse(
        await checkout_events_stream(order_id),
        content_type="text/event-stream",
        headers={"X-Accel-Buffering": "no"},  # proxies must pass events on at once
    )


def _just_started(request: HttpRequest, payment) -> str:
    key = secrets.token_urlsafe(8)
    started = list(request.session.get(JUST_STARTED, {}).items())[-JUST_STARTED_KEPT + 1 :]
    request.session[JUST_STARTED] = {**dict(started), key: payment.pk}
    return key


def _take_just_started(request: HttpRequest) -> str | None:
    started = request.session.get(JUST_STARTED, {})
    payment_id = started.pop(request.GET.get("started", ""), None)
    if payment_id is not None:
        request.session[JUST_STARTED] = started
    return payment_id


def _channel_form(
    request: HttpRequest, state: CheckoutState, exclude: str = ""
) -> ChannelChoiceForm:
    return ChannelChoiceForm(
        client=client_for_user_agent(request.headers.get("User-Agent", "")),
        exclude=exclude,
        initial={"seen_attempt": state.attempt.pk if state.attempt else ""},
    )


def _page(request: HttpRequest, template: str, state: CheckoutState, **context) -> HttpResponse:
    live = {}
    if not state.final:
        live = {
            "status_url": reverse("checkout-status", args=[state.order.pk]),
            # server push only where it costs no thread: under ASGI
            "events_url": (
                reverse("checkout-events", args=[state.order.pk])
                if isinstance(request, ASGIRequest)
                else ""
            ),
            "poll_ms": int(settings.CHECKOUT_POLL_SECONDS * 1000),
            "poll_max_ms": int(settings.CHECKOUT_POLL_MAX_SECONDS * 1000),
        }
    return render(
        request, template, {"state": state, "order": state.order, "live": live, **context}
    )
