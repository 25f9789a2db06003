"""ASGI entry point (uvicorn in `make run`): what lets the checkout pages push status (SSE)."""

import os
import warnings

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# WhiteNoise answers static files with a synchronous file iterator, which Django reads in a
# thread under ASGI and warns about on every file; static files are small, so that is fine.
warnings.filterwarnings(
    "ignore",
    message="StreamingHttpResponse must consume synchronous iterators",
    module="django.core.handlers.asgi",
)
application = get_asgi_application()
