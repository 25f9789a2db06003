"""Who may do what: the groups the migration creates, and throttled admin logins (django-axes,
for real: failures are counted in the database by the login view)."""

import pytest
from django.contrib.auth.models import Group

from tests.admin.conftest import PASSWORD, staff_user

pytestmark = pytest.mark.django_db

ACTIONS = {
    "payments.recheck_payment",
    "payments.close_payment",
    "payments.refund_payment",
    "payments.reprocess_notification",
    "payments.replay_webhook",
    "reconciliation.resolve_discrepancy",
    "reconciliation.reconcile_statementday",
}
VIEWS = {
    f"{app}.view_{model}"
    for app, models in {
        "orders": ("merchant", "order", "statuschange"),
        "payments": (
            "payment",
            "paymentcheck",
            "channeltransaction",
            "channelnotification",
            "refund",
            "event",
            "webhookdelivery",
            "idempotencykey",
        ),
        "reconciliation": (
            "discrepancy",
            "stuckpayment",
            "statementday",
            "statement",
            "statementline",
            "reconciliationoutcome",
        ),
    }.items()
    for model in models
}


def permissions_of(group_name: str) -> set[str]:
    group = Group.objects.get(name=group_name)
    return {
        f"{perm.content_type.app_label}.{perm.codename}"
        for perm in group.permissions.select_related("content_type")
    }


def test_finance_views_everything_and_runs_every_back_office_action():
    assert permissions_of("Finance") == VIEWS | ACTIONS


def test_support_views_everything_and_may_only_requery():
    assert permissions_of("Support") == VIEWS | {"payments.recheck_payment"}


def login(client, username: str, password: str):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password})


def test_admin_logins_are_locked_out_after_the_failure_limit(client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    staff_user("fiona.finance", "Finance")

    failures = [login(client, "fiona.finance", "guess").status_code for _ in range(3)]
    locked = login(client, "fiona.finance", PASSWORD)

    assert failures[:2] == [200, 200]  # the login form again, with its error
    assert locked.status_code == 429
    assert "too many login attempts" in locked.text
    assert client.get("/admin/").status_code == 302  # still not signed in


def test_the_lockout_is_per_user_and_address_so_colleagues_can_still_sign_in(client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    staff_user("fiona.finance", "Finance")
    staff_user("sam.support", "Support")
    for _ in range(3):
        login(client, "fiona.finance", "guess")

    signed_in = login(client, "sam.support", PASSWORD)

    assert signed_in.status_code == 302 and signed_in["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_a_success_before_the_limit_forgives_earlier_failures(client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    staff_user("fiona.finance", "Finance")
    login(client, "fiona.finance", "guess")
    login(client, "fiona.finance", "guess")
    assert login(client, "fiona.finance", PASSWORD).status_code == 302
    client.logout()

    login(client, "fiona.finance", "guess")
    login(client, "fiona.finance", "guess")

    assert login(client, "fiona.finance", PASSWORD).status_code == 302
