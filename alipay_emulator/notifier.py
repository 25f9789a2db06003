"""Async notifies: durable form POSTs signed RSA2, retried on Alipay's schedule until the merchant
answers exactly ``success``.

The delivery loop, its fault handling and the attempt log are the WeChat emulator's (same tables);
what differs is the notification itself. Its parameters are stored once (stable ``notify_id``);
each attempt gets a fresh ``notify_time`` and is signed again over the sorted parameters without
``sign`` and ``sign_type``.
"""

import http.client
import json
import secrets
import sqlite3
from typing import Any
from urllib.parse import urlencode, urlsplit

from cryptography.hazmat.primitives.asymmetric import rsa

from sandbox_channel.faults import Faults
from wechatpay_emulator import notifier as wechat_notifier

from . import clock, crypto, validation
from .store import Store

SEND_TIMEOUT = 5.0
READ_LIMIT = 64 * 1024
STORED_BODY_LIMIT = 500
ACKNOWLEDGEMENT = "success"

Due = wechat_notifier.Due
Outcome = wechat_notifier.Outcome
list_attempts = wechat_notifier.list_attempts


class Notifier(wechat_notifier.Notifier):
    def __init__(
        self,
        store: Store,
        faults: Faults,
        alipay_private_key: rsa.RSAPrivateKey,
        schedule: tuple[float, ...],
    ):
        # WeChat's signer and APIv3 key serve only its own enqueue/_send, both replaced here.
        super().__init__(store, faults, signer=None, apiv3_key=b"", schedule=schedule)
        self._private_key = alipay_private_key

    # Other arguments than WeChat's enqueue: an Alipay notify is a form, not an encrypted event.
    def enqueue(
        self,
        conn: sqlite3.Connection,
        *,
        subject: str,
        url: str,
        params: dict[str, str],
        at: float,
    ) -> None:
        """Store a notify; called inside the transaction that records the event."""
        notify_id = secrets.token_hex(17)
        body = json.dumps({**params, "notify_id": notify_id}, ensure_ascii=False).encode()
        conn.execute(
            "INSERT INTO notifications (id, event_type, subject, url, body, state,"
            " next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)",
            (notify_id, params["trade_status"], subject, url, body, at + self._schedule[0], at),
        )

    def _send(self, due: Due) -> Outcome:
        params: dict[str, Any] = json.loads(due.body)
        params["notify_time"] = clock.china_time(clock.now())
        if self._faults.chance("notify_amount_tamper_rate"):
            # Correctly signed, but about another amount: only a merchant that checks it notices.
            total = validation.fen(params, "total_amount")
            params["total_amount"] = validation.yuan(self._faults.other_amount(total))
        body = urlencode(crypto.signed_params(self._private_key, params)).encode()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            "User-Agent": "Mozilla/4.0 (Alipay emulator)",
        }
        parts = urlsplit(due.url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection_class = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        connection = connection_class(parts.hostname, parts.port, timeout=SEND_TIMEOUT)
        try:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read(READ_LIMIT).decode("utf-8", "replace")
        except (OSError, http.client.HTTPException) as exc:
            return Outcome("failed", clock.now(), response_body=repr(exc)[:STORED_BODY_LIMIT])
        finally:
            connection.close()
        # Alipay reads the body, not the status: anything but the seven letters means "again".
        delivered = response.status == 200 and text == ACKNOWLEDGEMENT
        return Outcome(
            "delivered" if delivered else "sent",
            clock.now(),
            response.status,
            text[:STORED_BODY_LIMIT],
        )
