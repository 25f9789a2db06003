"""The API calls a simulated channel received, in memory (bounded): lets tests see what was asked
and answered. A call is a dict the channel may go on filling in after recording it."""

import threading
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

CALL_LOG_SIZE = 100_000


class CallLog:
    def __init__(self) -> None:
        self._calls: deque[dict[str, Any]] = deque(maxlen=CALL_LOG_SIZE)
        self._guard = threading.Lock()

    def record(self, call: dict[str, Any]) -> dict[str, Any]:
        with self._guard:
            self._calls.append(call)
        return call

    def matching(self, query: Mapping[str, str], names: Iterable[str]) -> list[dict[str, Any]]:
        """The calls, oldest first, whose fields equal every one of ``names`` given in ``query``."""
        wanted = {name: query.get(name) for name in names}
        with self._guard:
            calls = list(self._calls)
        return [
            call
            for call in calls
            if all(value is None or call[name] == value for name, value in wanted.items())
        ]
