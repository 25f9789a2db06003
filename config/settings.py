"""Settings: every value comes from an environment variable with a safe default (12-factor).

With neither DATABASE_URL nor REDIS_URL set, the embedded PostgreSQL and Redis under var/
are started (or joined) — see config/embedded.py.
"""

import os
import secrets
import socket
from datetime import timedelta
from pathlib import Path

import dj_database_url

from config import embedded, logs

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = embedded.var_dir(BASE_DIR)


def env_bool(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _secret_key() -> str:
    if key := os.environ.get("SECRET_KEY"):
        return key
    # Embedded default: a random key kept under var/ so sessions survive restarts.
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    # The Django admin with the back office's site: money-at-risk dashboard on the index.
    "backoffice.apps.BackOfficeAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "axes",
    "config",
    # The domain, floor by floor (docs/architecture.md: every import runs downhill) …
    "orders",
    "payments",
    "reconciliation",
    # … and the doors on top, which call down into it.
    "checkout",
    "backoffice",
]

MIDDLEWARE = [
    # First: every answer, also a refusal by a later middleware, carries its Request-Id.
    "config.request_context.RequestContextMiddleware",
    # Next: it counts every answer, also those the middleware below gives.
    "config.metrics.RequestsCounted",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it answers a locked-out login with 429.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASE_URL = os.environ.get("DATABASE_URL") or embedded.postgres_url(VAR_DIR)
# Connections are kept (a new PostgreSQL connection per request was most of a request's cost)
# and checked before reuse after an idle spell, so a restarted server costs one reconnect, not
# an error. ASGI processes do not keep theirs (config/asgi.py says why).
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=env_bool("DB_CONN_HEALTH_CHECKS", True),
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL") or embedded.redis_url(VAR_DIR)
REDIS_TIMEOUT_SECONDS = env_float("REDIS_TIMEOUT_SECONDS", 0.5)
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "paycenter"),
        "OPTIONS": {
            "SOCKET_CONNECT_TIMEOUT": REDIS_TIMEOUT_SECONDS,
            "SOCKET_TIMEOUT": REDIS_TIMEOUT_SECONDS,
            # Redis is the fast path only: when it is down the cache misses and the database
            # (row locks, unique constraints) still gives the right answer.
            "IGNORE_EXCEPTIONS": True,
        },
    }
}
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# Admin logins are throttled by django-axes (its backend first). Failures are counted per
# (username, client IP) in PostgreSQL, so every web node sees them and a Redis outage does not
# lift the limit; after ADMIN_LOGIN_FAILURE_LIMIT failures that pair is locked out for the
# cool-off. The client IP is REMOTE_ADDR: behind a proxy set AXES_IPWARE_* (django-ipware).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("ADMIN_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(seconds=env_int("ADMIN_LOGIN_COOLOFF_SECONDS", 900))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

LANGUAGE_CODE = "en-us"
# What people read times in (back office, checkout pages): the time zone of the channels' own
# days. Stored and exchanged times stay UTC (USE_TZ; the API writes "Z").
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True
# One date format for people everywhere, with the offset: config/formats/en/formats.py.
FORMAT_MODULE_PATH = ["config.formats"]

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns on every request until collectstatic ran
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "UNAUTHENTICATED_TOKEN": None,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["partner_api.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "partner_api.errors.exception_handler",
}

# OpenAPI 3 for the partner API; Swagger UI from the sidecar package: no CDN.
SPECTACULAR_SETTINGS = {
    "TITLE": "Paycenter Partner API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "orders.enums.OrderStatus",
        "PaymentStatusEnum": "payments.enums.PaymentStatus",
        "RefundStatusEnum": "payments.enums.RefundStatus",
        "ErrorCodeEnum": "partner_api.schema.ALL_ERROR_CODES",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "partner_api.schema.describe_api",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Outages (payments/outages.py): the database, Redis where needed or a backlogged job queue
# are answered 503 with this Retry-After (seconds). New work (every API POST, the checkout's
# forms) is refused while this many tasks wait in the django-q2 queue.
OUTAGE_RETRY_AFTER_SECONDS = env_int("OUTAGE_RETRY_AFTER_SECONDS", 5)
JOBS_BACKLOG_LIMIT = env_int("JOBS_BACKLOG_LIMIT", 10000)
# A count below the limit holds this long per process (payments/queue.py).
JOBS_BACKLOG_CHECK_SECONDS = env_float("JOBS_BACKLOG_CHECK_SECONDS", 1)

# Failed authentication (payments/auth_failures.py): after this many wrong API keys, or badly
# signed callbacks, from one client address within a window, that address is refused (429)
# until the window ends. Counted in Redis; per process without it.
AUTH_FAILURE_LIMIT = env_int("AUTH_FAILURE_LIMIT", 10)
AUTH_FAILURE_WINDOW_SECONDS = env_int("AUTH_FAILURE_WINDOW_SECONDS", 60)

# Partner API (partner_api/). Rates are per merchant, counted in Redis ("<n>/<s|m|h|d>"). The
# default is Stripe's, 100 a second: a partner's flash sale must not be refused by the limit
# long before the server is busy.
API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "100/s")
# API key → merchant (orders/api_keys.py): kept per process for this long, this many at most;
# a change to a merchant ends every copy at once (an epoch in Redis), its age if Redis lost that.
API_KEY_CACHE_SECONDS = env_float("API_KEY_CACHE_SECONDS", 10)
API_KEY_CACHE_SIZE = env_int("API_KEY_CACHE_SIZE", 1000)
# Retention (payments/services/retention.py, an hourly schedule): how long each kind of record
# that is not money is kept. Money rows, their audit and discrepancies have no lifetime.
IDEMPOTENCY_KEY_RETENTION_SECONDS = env_int("IDEMPOTENCY_KEY_RETENTION_SECONDS", 24 * 3600)
PAYMENT_CHECK_RETENTION_SECONDS = env_int("PAYMENT_CHECK_RETENTION_SECONDS", 90 * 24 * 3600)
NOTIFICATION_RETENTION_SECONDS = env_int("NOTIFICATION_RETENTION_SECONDS", 90 * 24 * 3600)
WEBHOOK_ATTEMPT_RETENTION_SECONDS = env_int("WEBHOOK_ATTEMPT_RETENTION_SECONDS", 30 * 24 * 3600)
ADMIN_LOG_RETENTION_SECONDS = env_int("ADMIN_LOG_RETENTION_SECONDS", 365 * 24 * 3600)
# A key still locked after this long belongs to a process that died: it may be taken over.
IDEMPOTENCY_LOCK_TIMEOUT_SECONDS = env_int("IDEMPOTENCY_LOCK_TIMEOUT_SECONDS", 300)

# Webhooks (payments/webhooks/): one attempt after commit, then retries after these delays
# (seconds, about exponential, the last one ~2.9 days after the event), then dead-lettered.
WEBHOOK_RETRY_SCHEDULE = [
    float(s)
    for s in env_list(
        "WEBHOOK_RETRY_SCHEDULE",
        "10,30,60,300,900,1800,3600,7200,14400,28800,43200,64800,86400",
    )
]
WEBHOOK_TIMEOUT_SECONDS = env_float("WEBHOOK_TIMEOUT_SECONDS", 10)
# Merchant webhook URLs (orders/webhook_urls.py) must be https and resolve, at every send, only
# to public addresses; local development (DEBUG, `make run`) allows plain http and private
# addresses such as 127.0.0.1.
WEBHOOK_ALLOW_HTTP = env_bool("WEBHOOK_ALLOW_HTTP", DEBUG)
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env_bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", DEBUG)
# After a secret rotation the old secret still signs (a second v1=) for this long.
WEBHOOK_SECRET_OVERLAP_SECONDS = env_int("WEBHOOK_SECRET_OVERLAP_SECONDS", 24 * 3600)

# The pump (config/pump.py): started every minute by a Schedule, it runs each due-work job in a
# lane of its own every second, so delays are seconds, not minutes. Its life plus the lane grace
# must stay below Q_TIMEOUT. PUMP_CHANNEL_JOBS get one lane per payment channel (channel=code).
PUMP_TICK_SECONDS = env_float("PUMP_TICK_SECONDS", 1)
PUMP_LIFETIME_SECONDS = env_float("PUMP_LIFETIME_SECONDS", 70)
PUMP_LANE_GRACE_SECONDS = env_float("PUMP_LANE_GRACE_SECONDS", 20)
PUMP_CHANNEL_JOBS = ["payments.tasks.payments_check_due", "payments.tasks.refunds_execute_due"]
PUMP_JOBS = [
    "payments.tasks.notifications_reprocess_stale",
    "payments.tasks.orders_close_expired",
    "payments.tasks.webhook_deliver_due",
]

# django-q2 on the ORM broker: a task survives a worker killed mid-run.
Q_CLUSTER = {
    "name": "paycenter",
    "orm": "default",
    # I/O-bound work (channel calls, webhooks) and a long-lived pump: more workers than cores.
    "workers": env_int("Q_WORKERS", 4),
    "timeout": env_int("Q_TIMEOUT", 120),
    "retry": env_int("Q_RETRY", 180),
    "max_attempts": env_int("Q_MAX_ATTEMPTS", 10),
    "poll": env_float("Q_POLL", 0.5),
    # A cluster takes tasks off the shared queue only as its workers start them (one waits in
    # hand, one in line: RabbitMQ's prefetch of one), so the long drain tasks queued for every
    # cluster are not hoarded by the first to poll (django-q2's default is workers² = 16).
    "queue_limit": env_int("Q_QUEUE_LIMIT", 1),
    "catch_up": False,
    "ack_failures": True,
    "save_limit": env_int("Q_SAVE_LIMIT", 1000),
    "sync": env_bool("Q_SYNC", False),
}

# Job system liveness (config/liveness.py): a cluster's heartbeat advances with work done; one
# older than the stale limit while work is due means the cluster has stopped (runsystem then
# restarts it; /readyz and `manage.py jobs_alive` report it). Every tick of a running pump beats.
JOBS_HEARTBEAT_NAME = os.environ.get(
    "JOBS_HEARTBEAT_NAME", f"{Q_CLUSTER['name']}@{socket.gethostname()}"
)
JOBS_HEARTBEAT_STALE_SECONDS = env_float("JOBS_HEARTBEAT_STALE_SECONDS", 120)
# How often runsystem's supervisor checks its cluster's heartbeat.
JOBS_SUPERVISE_INTERVAL_SECONDS = env_float("JOBS_SUPERVISE_INTERVAL_SECONDS", 5)

# Metrics and health (config/metrics.py, config/readiness.py). prometheus-client reads
# PROMETHEUS_MULTIPROC_DIR when first imported (after settings): every process counts into its own
# file there and /metrics adds them up. runsystem empties it at start.
PROMETHEUS_MULTIPROC_DIR = Path(
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(VAR_DIR / "prometheus"))
)
PROMETHEUS_MULTIPROC_DIR.mkdir(parents=True, exist_ok=True)
# Empty: /metrics answers loopback clients only; set: a Bearer token, from any address.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")

# --- Paycenter ---------------------------------------------------------------------------------
# Where channels send callbacks and customers return: the public address of this web server.
PUBLIC_BASE_URL = os.environ.get(
    "PUBLIC_BASE_URL", f"http://127.0.0.1:{os.environ.get('PORT', '8000')}"
).rstrip("/")

# --- Production security (README "Security") ---------------------------------------------------
# On when DEBUG is off. What only works over TLS (HSTS, Secure cookies, the https redirect)
# follows whether the public address is https, so `make run` and the tests on plain
# http://127.0.0.1 keep working; in production PUBLIC_BASE_URL is https (the channels call it).
HTTPS = env_bool("HTTPS", not DEBUG and PUBLIC_BASE_URL.startswith("https://"))
if proxy_header := os.environ.get("SECURE_PROXY_SSL_HEADER"):  # e.g. X-Forwarded-Proto
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + proxy_header.upper().replace("-", "_"), "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^readyz$", r"^healthz$", r"^metrics$"]  # probes inside the network
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = not DEBUG  # no script reads it: every form carries its token
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp) on every page when DEBUG is off: scripts only from our
# own files (the checkout and the admin have no inline script; the QR code is inline SVG
# markup), styles also inline (the admin's and the back office's <style> blocks).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
if not DEBUG:
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
        "config.content_security.CSPMiddleware",
    )

ORDER_DEFAULT_EXPIRES_IN = env_int("ORDER_DEFAULT_EXPIRES_IN", 1800)
# A rapid identical order submission within this window is answered with the first order.
SUBMISSION_FINGERPRINT_WINDOW_SECONDS = env_int("SUBMISSION_FINGERPRINT_WINDOW_SECONDS", 10)
# The channel stops accepting payment this long before the order itself expires (time_expire).
TIME_EXPIRE_MARGIN_SECONDS = env_int("TIME_EXPIRE_MARGIN_SECONDS", 60)
# The partner API's shortest expires_in leaves a customer this long to pay after that margin
# (a system test shrinks both, to see orders expire by the clock: manage.py chaos).
ORDER_MIN_PAYABLE_SECONDS = env_int("ORDER_MIN_PAYABLE_SECONDS", 60)
PAYMENT_TIMEOUT_SECONDS = env_int("PAYMENT_TIMEOUT_SECONDS", 30)
# After the first check, an open payment is checked again after each of these intervals, then
# with doubling back-off up to the cap, until its order's expiry plus the grace.
PAYMENT_CHECK_SCHEDULE = [float(s) for s in env_list("PAYMENT_CHECK_SCHEDULE", "10,20,30")]
PAYMENT_CHECK_BACKOFF_MAX_SECONDS = env_float("PAYMENT_CHECK_BACKOFF_MAX_SECONDS", 300)
PAYMENT_CHECK_GRACE_SECONDS = env_float("PAYMENT_CHECK_GRACE_SECONDS", 600)
# A claimed check holds its payment this long; a worker killed mid-check only delays it. Checks
# are claimed one at a time, and the lease is never shorter than two channel calls' timeout.
PAYMENT_CHECK_LEASE_SECONDS = env_float("PAYMENT_CHECK_LEASE_SECONDS", 30)
# A backlog of due checks (a full batch in a pump tick) is spread over the job workers of every
# cluster: this many drain tasks, each checking until nothing is due or its life ends, started
# at most once per life system-wide. Keep it below the workers of all clusters together, so
# other tasks (refunds, webhooks) still find a worker; 0 leaves every check to the pump. A
# drainer's life (plus one channel call) must stay below Q_TIMEOUT.
PAYMENT_CHECK_DRAINERS = env_int("PAYMENT_CHECK_DRAINERS", 2)
PAYMENT_CHECK_DRAIN_SECONDS = env_float("PAYMENT_CHECK_DRAIN_SECONDS", 60)
# Read repair: a status read of an open payment queries the channel at most this often.
READ_REPAIR_INTERVAL_SECONDS = env_float("READ_REPAIR_INTERVAL_SECONDS", 3)
# … and waits at most this long for the channel's answer (then answers with what is known).
READ_REPAIR_TIMEOUT_SECONDS = env_float("READ_REPAIR_TIMEOUT_SECONDS", 2)
# … but not about an attempt younger than this: the channel answered its create that recently,
# and a buyer who has paid since is told of by the callback already on its way (a lost one is
# repaired by the first read after this). 0: every read asks at once.
READ_REPAIR_AFTER_SECONDS = env_float("READ_REPAIR_AFTER_SECONDS", 2)
# Checkout pages (checkout/): the pay page polls its status this often (doubling up to the max
# after a network error); a server-push (SSE) stream checks every tick and ends after its
# lifetime (the browser reconnects), so it never holds a connection or a thread for long.
CHECKOUT_POLL_SECONDS = env_float("CHECKOUT_POLL_SECONDS", 2)
CHECKOUT_POLL_MAX_SECONDS = env_float("CHECKOUT_POLL_MAX_SECONDS", 30)
CHECKOUT_PUSH_TICK_SECONDS = env_float("CHECKOUT_PUSH_TICK_SECONDS", 1)
CHECKOUT_PUSH_LIFETIME_SECONDS = env_float("CHECKOUT_PUSH_LIFETIME_SECONDS", 50)
# Back office: a PAYING payment older than this is "stuck" (dashboard and stuck list).
STUCK_PAYMENT_AFTER_SECONDS = env_int("STUCK_PAYMENT_AFTER_SECONDS", 120)
# How often the safety-net scans run (minutes): they should find nothing.
SAFETY_SCAN_MINUTES = env_int("SAFETY_SCAN_MINUTES", 5)
CALLBACK_TOLERANCE_SECONDS = env_int("CALLBACK_TOLERANCE_SECONDS", 300)
# A stored callback still unprocessed after this long is picked up by the inbox job.
NOTIFICATION_REPROCESS_AFTER_SECONDS = env_float("NOTIFICATION_REPROCESS_AFTER_SECONDS", 10)
# A stored callback whose processing raised is tried again after each step (seconds; the last
# repeats), and dead-lettered (shown in the back office, replayable) after the maximum tries.
NOTIFICATION_RETRY_SCHEDULE = [
    int(s) for s in env_list("NOTIFICATION_RETRY_SCHEDULE", "10,30,60,300,900,3600")
]
NOTIFICATION_MAX_ATTEMPTS = env_int("NOTIFICATION_MAX_ATTEMPTS", 10)
CHANNEL_HTTP_TIMEOUT_SECONDS = env_float("CHANNEL_HTTP_TIMEOUT_SECONDS", 10)
# How far a channel's clock may be from ours: "trade not found" is final only past deadline+skew.
CHANNEL_CLOCK_SKEW_SECONDS = env_int("CHANNEL_CLOCK_SKEW_SECONDS", 120)
# Seconds between refund execution attempts; the last step repeats.
REFUND_RETRY_SCHEDULE = [int(s) for s in env_list("REFUND_RETRY_SCHEDULE", "10,30,60,300,900")]
# One caller at a time talks to the channel about a refund, for at most this long: an execution
# makes up to three channel calls (query, send, confirming query), so it outlives all three.
REFUND_LEASE_SECONDS = env_float("REFUND_LEASE_SECONDS", 3 * CHANNEL_HTTP_TIMEOUT_SECONDS + 10)
# After this many attempts a refund that has not succeeded is flagged for finance staff.
REFUND_ATTENTION_AFTER_ATTEMPTS = env_int("REFUND_ATTENTION_AFTER_ATTEMPTS", 5)
ORDER_LOCK_TIMEOUT_SECONDS = env_int("ORDER_LOCK_TIMEOUT_SECONDS", 30)

SANDBOX_URL = os.environ.get(
    "SANDBOX_URL", f"http://127.0.0.1:{os.environ.get('SANDBOX_PORT', '8100')}"
).rstrip("/")
SANDBOX_SECRET = os.environ.get("SANDBOX_SECRET", "sandbox-dev-secret")

# WeChat Pay: real credentials when WECHATPAY_MCHID is set (key files named by path, never
# committed); else the local emulator (`make run` starts it), whose generated manifest the
# adapter reads at first use.
WECHATPAY_EMULATOR_PORT = env_int("WECHATPAY_EMULATOR_PORT", 8101)
WECHATPAY_USES_EMULATOR = not os.environ.get("WECHATPAY_MCHID")
WECHATPAY_BASE_URL = os.environ.get(
    "WECHATPAY_BASE_URL",
    f"http://127.0.0.1:{WECHATPAY_EMULATOR_PORT}"
    if WECHATPAY_USES_EMULATOR
    else "https://api.mch.weixin.qq.com",
)
WECHATPAY_EMULATOR_DATA = Path(
    os.environ.get("WECHATPAY_EMULATOR_DATA", str(VAR_DIR / "wechatpay"))
)
WECHATPAY = {
    "class": "payments.channels.wechatpay.WechatpayChannel",
    "label": "WeChat Pay",
    "base_url": WECHATPAY_BASE_URL,
    "manifest_file": str(WECHATPAY_EMULATOR_DATA / "keys" / "manifest.json")
    if WECHATPAY_USES_EMULATOR
    else "",
    "mchid": os.environ.get("WECHATPAY_MCHID", ""),
    "appid": os.environ.get("WECHATPAY_APPID", ""),
    "merchant_private_key_file": os.environ.get("WECHATPAY_MERCHANT_PRIVATE_KEY_FILE", ""),
    "merchant_certificate_serial": os.environ.get("WECHATPAY_MERCHANT_CERTIFICATE_SERIAL", ""),
    "apiv3_key_file": os.environ.get("WECHATPAY_APIV3_KEY_FILE", ""),
    "platform_public_key_file": os.environ.get("WECHATPAY_PLATFORM_PUBLIC_KEY_FILE", ""),
    "platform_public_key_id": os.environ.get("WECHATPAY_PLATFORM_PUBLIC_KEY_ID", ""),
    # WeChat requires the buyer's IP for H5; behind a proxy, the public address it sees
    "payer_client_ip": os.environ.get("WECHATPAY_PAYER_CLIENT_IP", "127.0.0.1"),
    # WeChat refuses a close within 5 minutes of the order: closes wait that long
    "close_not_before_seconds": env_int("WECHATPAY_CLOSE_NOT_BEFORE_SECONDS", 0),
}
# Alipay (docs/alipay.md): its gateway once an app id and both key files are named; else the
# emulator `make run` starts, whose generated manifest the adapter reads at first use.
ALIPAY_APP_ID = os.environ.get("ALIPAY_APP_ID", "")
ALIPAY_APP_PRIVATE_KEY_FILE = os.environ.get("ALIPAY_APP_PRIVATE_KEY_FILE", "")
ALIPAY_PUBLIC_KEY_FILE = os.environ.get("ALIPAY_PUBLIC_KEY_FILE", "")
# any of them set: a real account (the adapter refuses one half configured), no emulator
ALIPAY_USES_EMULATOR = not (ALIPAY_APP_ID or ALIPAY_APP_PRIVATE_KEY_FILE or ALIPAY_PUBLIC_KEY_FILE)
ALIPAY_EMULATOR_PORT = env_int("ALIPAY_EMULATOR_PORT", 8102)
ALIPAY_EMULATOR_DATA = Path(os.environ.get("ALIPAY_EMULATOR_DATA", VAR_DIR / "alipay"))
ALIPAY_GATEWAY_URL = os.environ.get(
    "ALIPAY_GATEWAY_URL",
    f"http://127.0.0.1:{ALIPAY_EMULATOR_PORT}/gateway.do"
    if ALIPAY_USES_EMULATOR
    else "https://openapi.alipay.com/gateway.do",
)

# Channel code -> adapter class and its options. Channels are resolved by payments.channels.
PAYMENT_CHANNELS = {
    "sandbox": {
        "class": "payments.channels.sandbox.SandboxChannel",
        "label": "Sandbox wallet",
        "base_url": SANDBOX_URL,
        "secret": SANDBOX_SECRET,
    },
    "sandbox_card": {
        "class": "payments.channels.sandbox.SandboxChannel",
        "label": "Sandbox card",
        "base_url": SANDBOX_URL,
        "secret": SANDBOX_SECRET,
    },
    "wechatpay": WECHATPAY,
    "alipay": {
        "class": "payments.channels.alipay.AlipayChannel",
        "label": "Alipay",
        "gateway_url": ALIPAY_GATEWAY_URL,
        "app_id": ALIPAY_APP_ID,
        "app_private_key_file": ALIPAY_APP_PRIVATE_KEY_FILE,
        "alipay_public_key_file": ALIPAY_PUBLIC_KEY_FILE,
        "manifest_file": str(ALIPAY_EMULATOR_DATA / "keys" / "manifest.json"),
    },
}

DEMO_MERCHANT_ID = os.environ.get("DEMO_MERCHANT_ID", "mch_demo")
DEMO_MERCHANT_NAME = os.environ.get("DEMO_MERCHANT_NAME", "Demo Shop")
# The demo merchant's API key is fixed so `make run` can print it on every start (demo only).
DEMO_API_KEY = os.environ.get("DEMO_API_KEY", "pk_demo_local_only")
DEMO_ADMIN_USERNAME = os.environ.get("DEMO_ADMIN_USERNAME", "admin")
DEMO_ADMIN_PASSWORD = os.environ.get("DEMO_ADMIN_PASSWORD", "paycenter-admin")

# One JSON line per event on stderr (config/logs.py); LOG_FORMAT=console for a person to read.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"structured": logs.formatter(LOG_FORMAT)},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django_redis": {"level": "ERROR"},
        "pgserver": {"level": "WARNING"},
    },
}
