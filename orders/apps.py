from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self) -> None:
        from orders import api_keys  # noqa: F401  (connects the key cache's invalidation)
