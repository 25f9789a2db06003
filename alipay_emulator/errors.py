"""Alipay's error answer: the gateway's ``code``/``msg`` plus the cause's ``sub_code``/``sub_msg``.

Alipay answers errors with HTTP 200 inside the signed ``<method>_response`` object: 40001 missing
arguments, 40002 invalid arguments (signature, app id), 40004 business failures (``ACQ.*``),
20000 service unavailable.
"""


class AlipayError(Exception):
    def __init__(self, code: str, msg: str, sub_code: str, sub_msg: str):
        super().__init__(f"{sub_code}: {sub_msg}")
        self.code = code
        self.msg = msg
        self.sub_code = sub_code
        self.sub_msg = sub_msg

    def fields(self) -> dict[str, str]:
        return {
            "code": self.code,
            "msg": self.msg,
            "sub_code": self.sub_code,
            "sub_msg": self.sub_msg,
        }


def missing_argument(sub_code: str, sub_msg: str) -> AlipayError:
    return AlipayError("40001", "Missing Required Arguments", sub_code, sub_msg)


def invalid_argument(sub_code: str, sub_msg: str) -> AlipayError:
    return AlipayError("40002", "Invalid Arguments", sub_code, sub_msg)


def business(sub_code: str, sub_msg: str) -> AlipayError:
    return AlipayError("40004", "Business Failed", sub_code, sub_msg)


def invalid_parameter(detail: str) -> AlipayError:
    return business("ACQ.INVALID_PARAMETER", f"参数无效 ({detail})")


def trade_not_exist() -> AlipayError:
    return business("ACQ.TRADE_NOT_EXIST", "交易不存在")


def system_error() -> AlipayError:
    return business("ACQ.SYSTEM_ERROR", "系统错误 (retry with the same parameters)")


def service_unavailable() -> AlipayError:
    return AlipayError("20000", "Service Currently Unavailable", "isp.unknow-error", "系统繁忙")
