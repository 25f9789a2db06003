"""ASGI entry point (uvicorn in `make run`): what lets the checkout pages push status (SSE)."""

import os
import warnings

from django.conf import settings
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
if not settings.configured:
    # Under ASGI every request runs in a thread of its own, so a kept connection is never used
    # again and stays open until garbage collection (Django ticket #33497; measured: 150
    # requests to uvicorn left 23 connections open). Here each request closes its connection.
    os.environ["DB_CONN_MAX_AGE"] = "0"
# WhiteNoise answers static files with a synchronous file iterator, which Django reads in a
# thread under ASGI and warns about on every file; static files are small, so that is fine.
warnings.filterwarnings(
    "ignore",
    message="StreamingHttpResponse must consume synchronous iterators",
    module="django.core.handlers.asgi",
)
application = get_asgi_application()
