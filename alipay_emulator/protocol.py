"""The gateway's common parameters: reading them from query and form, checking them and the RSA2
signature in Alipay's order, and reading ``biz_content``. Every failure is an AlipayError."""

import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from wechatpay_emulator.web import Request

from . import clock, crypto
from .errors import invalid_argument, invalid_parameter, missing_argument
from .keys import Keys

MAX_PARAMS = 64


def parameters(request: Request) -> dict[str, str]:
    """The query's and (for a POST) the form body's parameters; a name given twice is refused."""
    try:
        pairs = parse_qsl(urlsplit(request.target).query, keep_blank_values=True, errors="strict")
        if request.method == "POST":
            pairs += parse_qsl(
                request.body.decode("utf-8"), keep_blank_values=True, errors="strict"
            )
    except UnicodeDecodeError:
        raise invalid_argument("isv.invalid-charset", "参数必须是 UTF-8 编码") from None
    params: dict[str, str] = {}
    for key, value in pairs:
        if key in params:
            raise invalid_argument("isv.invalid-parameter", f"参数 {key} 重复 (given twice)")
        params[key] = value
    if len(params) > MAX_PARAMS:
        raise invalid_argument("isv.invalid-parameter", f"至多 {MAX_PARAMS} 个参数")
    return params


def check(params: dict[str, str], keys: Keys, method_known: bool) -> None:
    """The common parameters and the signature, as the gateway checks them, else AlipayError."""
    for name, sub_code in (("app_id", "isv.missing-app-id"), ("method", "isv.missing-method")):
        if not params.get(name):
            raise missing_argument(sub_code, f"缺少 {name} 参数")
    if not method_known:
        raise invalid_argument("isv.invalid-method", "不存在的方法名")
    if params.get("format", "JSON").upper() != "JSON":
        raise invalid_argument("isv.invalid-format", "format 只支持 JSON")
    if params.get("charset", "utf-8").lower() != "utf-8":
        raise invalid_argument("isv.invalid-charset", "charset 只支持 utf-8 (emulator)")
    if not params.get("sign_type"):
        raise missing_argument("isv.missing-signature-type", "缺少签名类型参数")
    if params["sign_type"] != "RSA2":
        raise invalid_argument("isv.invalid-signature-type", "签名类型只支持 RSA2")
    if not params.get("sign"):
        raise missing_argument("isv.missing-signature", "缺少签名参数")
    if not params.get("timestamp"):
        raise missing_argument("isv.missing-timestamp", "缺少时间戳参数")
    try:
        clock.parse_china_time(params["timestamp"])
    except ValueError:
        raise invalid_argument(
            "isv.invalid-timestamp", "时间戳格式为 yyyy-MM-dd HH:mm:ss"
        ) from None
    if not params.get("version"):
        raise missing_argument("isv.missing-version", "缺少版本参数")
    if params["version"] != "1.0":
        raise invalid_argument("isv.invalid-version", "version 只支持 1.0")
    if params["app_id"] != keys.app_id:
        raise invalid_argument("isv.invalid-app-id", "无效的AppID参数")
    message = crypto.signing_string(params)
    if not crypto.verify(keys.app_public_key, message, params["sign"]):
        # Like Alipay, say which string was verified: it is how integrators find their mistake.
        raise invalid_argument(
            "isv.invalid-signature",
            f"验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：{message}",  # noqa: RUF001
        )


def biz_content(params: dict[str, str]) -> dict[str, Any]:
    raw = params.get("biz_content")
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise invalid_parameter("biz_content must be a JSON object")
    return value


def response_key(method: str | None) -> str:
    """``alipay.trade.query`` answers in ``alipay_trade_query_response``."""
    return method.replace(".", "_") + "_response" if method else "error_response"
