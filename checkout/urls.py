from django.urls import path

from checkout import views

urlpatterns = [
    path("", views.shop, name="shop"),
    path("shop/order/", views.shop_order, name="shop-order"),
    path("checkout/<str:order_id>/", views.checkout, name="checkout"),
    path("checkout/<str:order_id>/pay/", views.checkout_pay, name="checkout-pay"),
    path("checkout/<str:order_id>/check/", views.checkout_check, name="checkout-check"),
    path("checkout/<str:order_id>/status/", views.checkout_status, name="checkout-status"),
    path("checkout/<str:order_id>/events/", views.checkout_events, name="checkout-events"),
    path("checkout/<str:order_id>/return/", views.checkout_return, name="checkout-return"),
]
