"""Text from outside (headers, channel answers, error messages) as PostgreSQL can keep it."""

import math
from typing import Any


def storable_text(value: str) -> str:
    """PostgreSQL text holds neither a NUL byte nor a lone surrogate: both become visible
    escapes, everything else is kept as it came."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def storable_json(value: Any) -> Any:
    """Parsed JSON as a jsonb column takes it: text made storable (keys too), and the NaN and
    Infinity that Python's parser accepts but PostgreSQL refuses kept as text."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict):
        return {storable_text(str(key)): storable_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [storable_json(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value
