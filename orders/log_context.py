"""Binding what a service acts on to every log line it writes (docs/operations.md, "Logs").

A service entry point names the log fields it knows from its keyword arguments once, instead of
every logger call repeating them; the fields are bound for the call only, so a job looping over
payments never lends one payment's id to the next.
"""

from functools import wraps
from operator import attrgetter

from structlog.contextvars import bound_contextvars


def logs_with(**fields: str):
    """Decorator: ``@logs_with(payment="payment_id", out_trade_no="result.out_trade_no")`` binds
    each log field to the named keyword argument (or an attribute of one), as text."""
    getters = {field: attrgetter(argument) for field, argument in fields.items()}

    def decorate(service):
        @wraps(service)
        def bound(*args, **kwargs):
            context = {}
            for field, get in getters.items():
                try:
                    value = get(_Arguments(kwargs))
                except (AttributeError, KeyError):
                    continue  # an optional argument not given
                if value is not None:
                    context[field] = str(value)
            with bound_contextvars(**context):
                return service(*args, **kwargs)

        return bound

    return decorate


class _Arguments:
    """Keyword arguments read as attributes, so one attrgetter reaches ``result.out_trade_no``."""

    def __init__(self, kwargs: dict):
        self._kwargs = kwargs

    def __getattr__(self, name: str):
        return self._kwargs[name]
