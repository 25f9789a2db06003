"""WeChat's error answer: an HTTP status plus ``{"code": "...", "message": "..."}``."""


class WechatError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def param_error(message: str) -> WechatError:
    return WechatError(400, "PARAM_ERROR", message)


def invalid_request(message: str) -> WechatError:
    return WechatError(400, "INVALID_REQUEST", message)


def sign_error(message: str) -> WechatError:
    return WechatError(401, "SIGN_ERROR", message)


def system_error(
    message: str = "system error, retry later with the same parameters",
) -> WechatError:
    return WechatError(500, "SYSTEM_ERROR", message)
