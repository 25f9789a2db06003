from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from bench.baseline.models import BaselineOrder


class BaselineOrderSerializer(serializers.ModelSerializer):
    amount = serializers.IntegerField(min_value=1)
    currency = serializers.RegexField(r"^[A-Z]{3}$")
    expires_in = serializers.IntegerField(min_value=120, max_value=86_400, required=False)

    class Meta:
        model = BaselineOrder
        fields = ["id", "merchant_order_no", "amount", "currency", "subject", "expires_in"]


class OrdersView(APIView):
    def post(self, request):
        serializer = BaselineOrderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return Response(serializer.data, status=status.HTTP_201_CREATED)
