"""Production security with DEBUG off: a Content-Security-Policy that the checkout and admin pages
fit (no inline script anywhere), and — with an https public address behind a TLS proxy — HSTS,
Secure + HttpOnly cookies and the https redirect."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from csp.utils import build_policy
from django.conf import settings
from django.core.management import call_command
from django.http import HttpResponse

from config.content_security import CSPMiddleware
from orders.models import Merchant
from tests.factories import make_order

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parent.parent
SCRIPT = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (part.split() for part in policy.split(";") if part.strip())
    }


def inline_scripts(html: str) -> list[str]:
    """<script> tags that would run inline code: no src and a JavaScript (or no) type."""
    return [
        attributes
        for attributes in SCRIPT.findall(html)
        if "src=" not in attributes and "application/json" not in attributes
    ]


@pytest.fixture
def pages(client, sandbox, admin_user):
    call_command("seed_demo", verbosity=0)
    order = make_order(Merchant.objects.get(pk=settings.DEMO_MERCHANT_ID))
    answers = {"shop": client.get("/"), "order": client.get(f"/checkout/{order.pk}/")}
    answers["pay (inline QR)"] = client.post(
        f"/checkout/{order.pk}/pay/", {"channel": "sandbox"}, follow=True
    )
    answers["in progress"] = client.get(f"/checkout/{order.pk}/")
    answers["admin login"] = client.get("/admin/login/")
    answers["api docs"] = client.get("/api/docs/")
    client.force_login(admin_user)
    answers["admin index"] = client.get("/admin/")
    payment = order.payments.get()
    answers["admin payment"] = client.get(f"/admin/payments/payment/{payment.pk}/change/")
    assert "<svg" in answers["pay (inline QR)"].content.decode()
    return answers


def test_every_page_carries_a_policy_that_allows_no_inline_script(pages):
    for name, response in pages.items():
        assert response.status_code == 200, name
        policy = directives(response)
        assert policy["script-src"] == ["'self'"], name
        assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
        assert inline_scripts(response.content.decode()) == [], name


def test_the_swagger_ui_init_script_is_a_file_of_its_own(client):
    page = client.get("/api/docs/").content.decode()
    (init,) = re.findall(r'<script src="([^"]*script=[^"]*)"', page)

    script = client.get(init.replace("&amp;", "&"))

    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")


def production_answers(**env: str) -> dict:
    """Settings as a fresh process reads them from the environment, and what its pages send."""
    code = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client
client = Client()
shop = client.get("/", HTTP_X_FORWARDED_PROTO="https")
plain = client.get("/")
print(json.dumps({
    "hsts": shop.headers.get("Strict-Transport-Security"),
    "csrf_cookie": shop.cookies["csrftoken"].output() if "csrftoken" in shop.cookies else "",
    "session_cookie_secure": settings.SESSION_COOKIE_SECURE,
    "session_cookie_httponly": settings.SESSION_COOKIE_HTTPONLY,
    "plain_http": [plain.status_code, plain.headers.get("Location")],
}))
"""
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env}
    environment.pop("DEBUG", None)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=BASE_DIR, env=environment, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_an_https_deployment_behind_a_proxy_gets_hsts_secure_cookies_and_the_redirect():
    answers = production_answers(
        PUBLIC_BASE_URL="https://pay.example.com", SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto"
    )

    assert answers["hsts"] == "max-age=31536000"
    assert "Secure" in answers["csrf_cookie"] and "HttpOnly" in answers["csrf_cookie"]
    assert answers["session_cookie_secure"] and answers["session_cookie_httponly"]
    assert answers["plain_http"] == [301, "https://testserver/"]


def test_plain_http_for_local_use_keeps_cookies_usable_without_tls():
    answers = production_answers(PUBLIC_BASE_URL="http://127.0.0.1:8000")

    assert answers["hsts"] is None
    assert "Secure" not in answers["csrf_cookie"] and "HttpOnly" in answers["csrf_cookie"]
    assert answers["plain_http"][0] == 200


def test_the_policy_built_once_is_django_csps_and_a_views_own_policy_still_applies(rf):
    # given the settings' policy, built once, and a view that widens it for its own answer
    widened = HttpResponse()
    widened._csp_update = {"img-src": ["https://images.example"]}

    # when a plain answer and the widened one pass the middleware
    plain = CSPMiddleware(lambda request: HttpResponse())(rf.get("/api/v1/orders"))
    own = CSPMiddleware(lambda request: widened)(rf.get("/checkout/"))

    # then the plain one carries exactly what django-csp builds, the other its own policy
    assert plain["Content-Security-Policy"] == build_policy()
    assert "https://images.example" in directives(own)["img-src"]
    assert "https://images.example" not in directives(plain)["img-src"]
