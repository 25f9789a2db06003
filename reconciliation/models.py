from payments.models import Payment


class StuckPayment(Payment):
    """The back office's list of payments that need finance staff (a proxy: no table of its
    own; which payments are stuck is decided in reconciliation/backoffice/risk.py)."""

    class Meta:
        proxy = True
