"""The one error type the HTTP layer turns into ``{"error": {"code", "message"}}``."""


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str = ""):
        super().__init__(message or code)
        self.status = status
        self.code = code
        self.message = message or code


def invalid(message: str) -> ApiError:
    return ApiError(400, "INVALID_REQUEST", message)
