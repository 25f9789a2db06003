"""Back-office fixtures: staff users in the groups the migration created, and a person's way
through an admin action (select rows, pick the action, fill its form, confirm)."""

from html.parser import HTMLParser

import pytest
from django.contrib.admin.utils import quote
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from orders.audit import Actor
from orders.enums import ActorKind
from payments.enums import PaymentStatus
from payments.models import Payment
from payments.services.attempts import payment_start
from payments.services.checks import payment_check_now
from tests.factories import make_order

PASSWORD = "a-long-test-password-9"
CUSTOMER = Actor(ActorKind.CUSTOMER, "tests")


def staff_user(username: str, *groups: str) -> User:
    user = User.objects.create_user(username, password=PASSWORD, is_staff=True)
    user.groups.add(*Group.objects.filter(name__in=groups))
    return user


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)  # the login itself (throttled by axes) has its own tests
    return client


@pytest.fixture
def finance(db) -> Client:
    return client_for(staff_user("fiona.finance", "Finance"))


@pytest.fixture
def support(db) -> Client:
    return client_for(staff_user("sam.support", "Support"))


def admin_url(model, view: str, pk=None) -> str:
    """An admin URL as the admin writes it: the pk quoted (ours contain "_", its escape)."""
    args = () if pk is None else (quote(pk),)
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


class _HiddenInputs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.fields: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("type") == "hidden" and attrs.get("name"):
            self.fields.append((attrs["name"], attrs.get("value", "")))


def hidden_inputs(html: str) -> dict[str, list[str]]:
    parser = _HiddenInputs()
    parser.feed(html)
    fields: dict[str, list[str]] = {}
    for name, value in parser.fields:
        fields.setdefault(name, []).append(value)
    fields.pop("csrfmiddlewaretoken", None)
    return fields


def run_action(client: Client, list_url: str, action: str, rows, **form):
    """Do what a person does: tick rows and pick the action on the list, fill the action's form
    (if it has one) and review it, then confirm. Returns the final response, redirects followed,
    and every page on the way (so tests can check what was shown)."""
    pages = [
        client.post(
            list_url,
            {"action": action, "index": "0", "_selected_action": [row.pk for row in rows]},
        )
    ]
    if form:
        pages.append(client.post(list_url, {**hidden_inputs(pages[-1].text), **form}))
    assert pages[-1].status_code == 200, pages[-1]
    pages.append(client.post(list_url, hidden_inputs(pages[-1].text), follow=True))
    return pages[-1], pages


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def said(response) -> list[tuple[str, str]]:
    """The messages with their level ("success", "warning", …), as the page colours them."""
    return [(message.level_tag, str(message)) for message in response.context["messages"]]


def paying(merchant, amount=1000) -> Payment:
    """A payment the buyer can pay at the sandbox now (its callbacks are lost in tests)."""
    order = make_order(merchant, amount=amount)
    return payment_start(order_id=order.pk, channel="sandbox", client="pc", actor=CUSTOMER)


def paid(merchant, sandbox, amount=1000) -> Payment:
    payment = paying(merchant, amount)
    sandbox.pay(payment.out_trade_no)
    payment_check_now(payment_id=payment.pk, actor=CUSTOMER)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    return payment
