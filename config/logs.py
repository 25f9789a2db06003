"""Structured logs: one JSON line per event, with the context bound for the request or task.

Every logger in the project is a plain `logging.getLogger(__name__)`; structlog's
ProcessorFormatter renders each record as JSON and adds what structlog's context variables hold
(request id, merchant, order, payment, refund, channel, actor: bound once by the request
middleware, the task wrapper and the service entry points). The last step before rendering
removes secrets: a log line is read by more people than the database is.
"""

import re

import structlog

REDACTED = "[redacted]"
# A field whose name says it holds a secret (or a signature: sign, paySign) is never written.
SECRET_FIELD = re.compile(r"secret|password|passwd|token|api_?key|authorization|sign|cookie")
# Secrets inside text (a message, an error, a header dump), each with what replaces it and the
# words (lower case) without one of which the pattern cannot match: most text holds none, and a
# substring test costs far less than the pattern (every log line passes through here). No
# words: no such test, the pattern always runs.
SECRET_TEXT = [
    (re.compile(r"(?i)\b(bearer|basic)\s+[^\s,;'\"]+"), r"\1 " + REDACTED, ("bearer", "basic")),
    (re.compile(r"\b(pk|whsec)_[A-Za-z0-9_-]{8,}"), r"\1_" + REDACTED, ("pk_", "whsec_")),
    # Signature parameters: Paycenter-Signature (v1=), WeChat Pay / Alipay (signature=, sign=)
    (
        re.compile(r"(?i)\b(v1|sign|signature|paysign)([\"']?\s*[=:]\s*[\"']?)[^\s,;&'\"]+"),
        r"\1\2" + REDACTED,
        ("v1", "sign"),
    ),
    # Long runs of hex or base64: RSA and HMAC signature material, key bytes (not a file path).
    (re.compile(r"[A-Za-z0-9+/=_-]{64,}"), lambda match: _mask_if_random(match.group()), ()),
]
HEX = re.compile(r"[0-9a-fA-F]+")


def _mask_if_random(text: str) -> str:
    """Random bytes in hex, or in base64 (upper and lower case and digits mixed), are masked;
    a long lower-case path of a traceback is not."""
    mixed = all(re.search(chars, text) for chars in ("[A-Z]", "[a-z]", "[0-9]"))
    return REDACTED if HEX.fullmatch(text) or mixed else text


# 13 to 19 digits, optionally grouped by spaces or dashes — or by a form's "+" or a URL's
# "%20", as a subject travels to a channel — that pass the Luhn check: a card. A card stands on
# its own: digits with a letter or digit right before or after are part of something else, such
# as an id's random hex (about one channel number in a hundred holds a Luhn-valid run), which
# must stay searchable. A number right after "%" is the tail of an escape; a whole escape
# ("%20", "%2C") before a card is not part of it.
CARD_LIKE = re.compile(
    r"(?:(?<=%[0-9A-Fa-f]{2})|(?<![0-9A-Za-z%]))\d(?:(?:[ +-]|%20)?\d){12,18}(?![0-9A-Za-z])"
)
CARD_SEPARATORS = re.compile(r"%20|\D")


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, digit in enumerate(int(d) for d in reversed(digits)):
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _mask_card(match: re.Match) -> str:
    digits = CARD_SEPARATORS.sub("", match.group())
    return "[card]" if _luhn_valid(digits) else match.group()


def redact_text(text: str) -> str:
    lowered = text.lower()
    for pattern, replacement, words in SECRET_TEXT:
        if not words or any(word in lowered for word in words):
            text = pattern.sub(replacement, text)
    return CARD_LIKE.sub(_mask_card, text)


def _redact_value(value):
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {key: _redact_field(str(key), item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(item) for item in value]
    return value


def _redact_field(name: str, value):
    return REDACTED if SECRET_FIELD.search(name.lower()) else _redact_value(value)


def redact(_logger, _method, event_dict: dict) -> dict:
    """structlog processor: secret fields dropped, secrets inside every text masked."""
    return {key: _redact_field(key, value) for key, value in event_dict.items()}


# Applied to every record, from structlog or the standard library alike.
PRE_CHAIN = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.ExtraAdder(),
    structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
]


def formatter(log_format: str) -> dict:
    """The LOGGING formatter: JSON lines, or structlog's console rendering for a person."""
    renderer = (
        structlog.dev.ConsoleRenderer(colors=False)
        if log_format == "console"
        else structlog.processors.JSONRenderer()
    )
    return {
        "()": structlog.stdlib.ProcessorFormatter,
        "foreign_pre_chain": PRE_CHAIN,
        "processors": [
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact,
            renderer,
        ],
    }
