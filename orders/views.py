"""The thin demo checkout: shop → order → channel → QR → paid. Business rules live in services."""

import secrets

import segno
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from orders.audit import Actor
from orders.enums import ActorKind
from orders.forms import DEMO_PRODUCTS, ChannelChoiceForm, ShopOrderForm
from orders.models import Merchant
from orders.selectors import order_get, order_open_attempt
from orders.services import order_create
from payments.services.attempts import PaymentRefused, payment_start

CUSTOMER = Actor(ActorKind.CUSTOMER, "checkout")


@require_GET
def shop(request: HttpRequest) -> HttpResponse:
    return render(request, "orders/shop.html", {"products": DEMO_PRODUCTS, "form": ShopOrderForm()})


@require_POST
def shop_order(request: HttpRequest) -> HttpResponse:
    form = ShopOrderForm(request.POST)
    if not form.is_valid():
        return render(
            request, "orders/shop.html", {"products": DEMO_PRODUCTS, "form": form}, status=400
        )
    name, price = form.product_details()
    order, _ = order_create(
        merchant=Merchant.objects.get(pk=settings.DEMO_MERCHANT_ID),
        merchant_order_no=f"shop-{secrets.token_hex(8)}",
        amount=price,
        currency="CNY",
        subject=name,
        actor=CUSTOMER,
    )
    return redirect("checkout", order_id=order.pk)


@require_GET
def checkout(request: HttpRequest, order_id: str) -> HttpResponse:
    """Reads the order's real status on every render: paid, paying (show the same QR) or not."""
    order = order_get(order_id)
    attempt = order_open_attempt(order)
    qr_svg = None
    if attempt and attempt.pay_action and attempt.pay_action.get("qr_content"):
        qr_svg = segno.make(attempt.pay_action["qr_content"]).svg_inline(scale=5)
    return render(
        request,
        "orders/checkout.html",
        {"order": order, "attempt": attempt, "qr_svg": qr_svg, "form": ChannelChoiceForm()},
    )


@require_POST
def checkout_pay(request: HttpRequest, order_id: str) -> HttpResponse:
    order = order_get(order_id)
    form = ChannelChoiceForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose how to pay.")
    else:
        try:
            payment_start(
                order_id=order.pk,
                channel=form.cleaned_data["channel"],
                client="pc",
                actor=CUSTOMER,
            )
        except PaymentRefused as refusal:
            messages.error(request, refusal.message)
    return redirect("checkout", order_id=order.pk)


@require_GET
def checkout_status(request: HttpRequest, order_id: str) -> JsonResponse:
    order = order_get(order_id)
    return JsonResponse({"id": order.pk, "status": order.status})


@require_GET
def checkout_return(request: HttpRequest, order_id: str) -> HttpResponse:
    """Where the channel sends a mobile customer back to."""
    return redirect("checkout", order_id=order_get(order_id).pk)
