"""Found by the admin's autodiscovery: registers every model's back-office page."""

from backoffice import orders_admin, payments_admin, reconciliation_admin, statements_admin

__all__ = ["orders_admin", "payments_admin", "reconciliation_admin", "statements_admin"]
