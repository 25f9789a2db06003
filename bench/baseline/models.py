from django.db import models


class BaselineOrder(models.Model):
    merchant_order_no = models.CharField(max_length=64, unique=True)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    subject = models.CharField(max_length=256)
    expires_in = models.PositiveIntegerField(default=1800)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.merchant_order_no
