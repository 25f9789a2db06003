"""django-csp's middleware, with the policy of the settings built once per process.

django-csp builds the Content-Security-Policy header from CONTENT_SECURITY_POLICY for every
response (and the report-only one too), which cost about as much as a database query on every
partner API request. Here a response that no view gave a policy of its own and that used no
nonce gets the policy built once (built again when the setting changes); every other response,
and every response while DEBUG is on or a report-only policy is set, is django-csp's own.
"""

from functools import cache

from csp.constants import HEADER
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

# What a view sets on its response for a policy of its own (django-csp's decorators).
VIEW_POLICY = tuple(
    f"_csp_{kind}{suffix}" for kind in ("config", "update", "replace") for suffix in ("", "_ro")
)


class CSPMiddleware(DjangoCSPMiddleware):
    def process_response(self, request, response):
        if not _settings_policy_applies(request, response):
            return super().process_response(request, response)
        policy = _settings_policy()
        configured = getattr(settings, "CONTENT_SECURITY_POLICY", None) or {}
        excluded = configured.get("EXCLUDE_URL_PREFIXES") or ()
        if (
            policy
            and HEADER not in response
            and not getattr(response, "_csp_exempt", False)
            and not request.path_info.startswith(tuple(excluded))
        ):
            response[HEADER] = policy
        # as django-csp: a nonce asked for after the header is written is an error, not a gap
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response


def _settings_policy_applies(request, response) -> bool:
    return not (
        settings.DEBUG
        or getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None)
        or getattr(request, "_csp_nonce", None) is not None
        or any(getattr(response, name, None) is not None for name in VIEW_POLICY)
    )


@cache
def _settings_policy() -> str:
    return build_policy()


@receiver(setting_changed)
def _forget_policy(*, setting: str, **kwargs) -> None:
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _settings_policy.cache_clear()
