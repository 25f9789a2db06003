from django.urls import path, re_path

from partner_api import views

urlpatterns = [
    path("orders", views.OrdersView.as_view(), name="api-orders"),
    path("orders/<str:order_id>", views.OrderView.as_view(), name="api-order"),
    path(
        "orders/<str:order_id>/payments",
        views.OrderPaymentsView.as_view(),
        name="api-order-payments",
    ),
    path("orders/<str:order_id>/close", views.OrderCloseView.as_view(), name="api-order-close"),
    path(
        "orders/<str:order_id>/refunds", views.OrderRefundsView.as_view(), name="api-order-refunds"
    ),
    path("payments/<str:payment_id>", views.PaymentView.as_view(), name="api-payment"),
    path(
        "payments/<str:payment_id>/sync", views.PaymentSyncView.as_view(), name="api-payment-sync"
    ),
    path("refunds/<str:refund_id>", views.RefundView.as_view(), name="api-refund"),
    path("events", views.EventsView.as_view(), name="api-events"),
    path(
        "webhook-secret/rotate",
        views.WebhookSecretRotateView.as_view(),
        name="api-webhook-secret-rotate",
    ),
    re_path(r"^(?P<path>.*)$", views.not_found),
]
