"""Text from outside (headers, channel answers, error messages) as PostgreSQL can keep it."""


def storable_text(value: str) -> str:
    """PostgreSQL text holds neither a NUL byte nor a lone surrogate: both become visible
    escapes, everything else is kept as it came."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
