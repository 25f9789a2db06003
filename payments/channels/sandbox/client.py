"""HTTP to the sandbox's JSON API: every way a call can go wrong becomes ChannelUnavailable
(outcome unknown) or ChannelError (the sandbox's definite refusal)."""

from typing import Any

import requests

from payments.channels.base import ChannelError, ChannelUnavailable
from payments.channels.http import channel_session

# A request of ours with the same number is still being worked on: it may yet succeed.
IN_FLIGHT_CODES = {"REFUND_IN_PROGRESS"}


class SandboxClient:
    def __init__(self, *, base_url: str, timeout: float):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def call(self, method: str, path: str, **kwargs) -> dict[str, Any]:
        """The answer's JSON object."""
        response = self.send(method, path, **kwargs)
        try:
            answer = response.json()
        except ValueError:
            raise ChannelUnavailable(f"{method} {path}: unreadable answer") from None
        if not isinstance(answer, dict):
            raise ChannelUnavailable(f"{method} {path}: answer is not a JSON object")
        return answer

    def send(self, method: str, path: str, **kwargs) -> requests.Response:
        try:
            response = channel_session().request(
                method, self.base_url + path, timeout=self.timeout, **kwargs
            )
        except requests.RequestException as error:
            raise ChannelUnavailable(f"{method} {path}: {error}") from error
        if response.status_code >= 500 or response.status_code == 429:
            raise ChannelUnavailable(f"{method} {path}: HTTP {response.status_code}")
        if response.status_code >= 400:
            try:
                error = response.json()["error"]
                code, message = str(error.get("code", "ERROR")), str(error.get("message", ""))
            except (ValueError, KeyError, TypeError, AttributeError):
                code, message = f"HTTP_{response.status_code}", response.text[:200]
            if code in IN_FLIGHT_CODES:
                raise ChannelUnavailable(f"{method} {path}: {code} {message}")
            raise ChannelError(code, message)
        return response
