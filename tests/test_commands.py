import json
from io import StringIO

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command

from orders.models import Merchant
from orders.services import hash_api_key

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_merchant_prints_its_secrets_once_and_stores_the_key_hashed():
    data = json.loads(
        run("create_merchant", "Acme", "--webhook-url", "https://acme.test/hook", "--json")
    )

    assert set(data) == {"id", "api_key", "webhook_secret"}
    merchant = Merchant.objects.get(pk=data["id"])
    assert merchant.name == "Acme" and merchant.webhook_url == "https://acme.test/hook"
    assert merchant.api_key_hash == hash_api_key(data["api_key"])
    assert data["api_key"] not in merchant.api_key_hash
    assert merchant.webhook_secret == data["webhook_secret"]


def test_create_merchant_plain_output():
    out = run("create_merchant", "Plain Co")
    assert "api_key: pk_" in out and "not shown again" in out


def test_create_merchant_refuses_a_bad_webhook_url():
    with pytest.raises(CommandError):
        run("create_merchant", "Bad", "--webhook-url", "ftp://nope")
    assert not Merchant.objects.filter(name="Bad").exists()


def test_seed_demo_runs_twice_and_keeps_data():
    run("seed_demo")
    demo = Merchant.objects.get(pk=settings.DEMO_MERCHANT_ID)
    run("seed_demo")

    assert Merchant.objects.filter(pk=settings.DEMO_MERCHANT_ID).count() == 1
    assert Merchant.objects.get(pk=demo.pk).api_key_hash == demo.api_key_hash
    assert (
        User.objects.filter(username=settings.DEMO_ADMIN_USERNAME, is_superuser=True).count() == 1
    )


def test_the_finance_group_exists_with_view_permissions():
    finance = Group.objects.get(name="Finance")
    codenames = set(finance.permissions.values_list("codename", flat=True))
    assert {"view_order", "view_payment", "view_refund", "view_discrepancy"} <= codenames
    assert not any(code.startswith(("change_", "delete_", "add_")) for code in codenames)
