from django.contrib import admin
from django.urls import include, path

from payments.views import callback

urlpatterns = [
    path("admin/", admin.site.urls),
    path("callbacks/<slug:channel>/", callback, name="callback"),
    path("", include("orders.urls")),
]
