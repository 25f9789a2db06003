from django.urls import path

from bench.baseline.views import OrdersView

urlpatterns = [path("api/v1/orders", OrdersView.as_view())]
