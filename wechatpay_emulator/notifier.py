"""Callbacks: durable, signed, AEAD-encrypted notifications retried on WeChat's schedule.

The delivery loop, its retry schedule, its fault dice and the attempt log are every emulator's
(``channel_sim.notifier``); here is WeChat's callback: a stable event id and encrypted body,
fresh signature headers on every attempt, and any 2xx as the acknowledgement. The loop also
settles refunds that fall due (``start(refunds.settle_due)``), which emits their callbacks.
"""

import json
import logging
import secrets
import sqlite3
from typing import Any

from channel_sim.notifier import EventDue as Due
from channel_sim.notifier import EventNotifier, Outcome, list_event_attempts
from sandbox_channel.faults import Faults

from . import clock, crypto
from .signer import Signer
from .store import Store

log = logging.getLogger(__name__)

SUMMARIES = {
    "TRANSACTION.SUCCESS": "支付成功",
    "REFUND.SUCCESS": "退款成功",
    "REFUND.ABNORMAL": "退款异常",
    "REFUND.CLOSED": "退款关闭",
}

# The amounts a tampered callback misreports: what the buyer paid, or what was refunded.
TAMPERED_AMOUNTS = {"transaction": ("total", "payer_total"), "refund": ("refund", "payer_refund")}


class Notifier(EventNotifier):
    log = logging.getLogger(__name__)

    def __init__(
        self,
        store: Store,
        faults: Faults,
        signer: Signer,
        apiv3_key: bytes,
        schedule: tuple[float, ...],
    ):
        super().__init__(store, faults, schedule)
        self._signer = signer
        self._apiv3_key = apiv3_key

    def enqueue(
        self,
        conn: sqlite3.Connection,
        *,
        event_type: str,
        subject: str,
        url: str,
        resource: dict[str, Any],
        original_type: str,
        at: float,
    ) -> None:
        """Store a callback; called inside the transaction that records the event."""
        event_id = f"EV-{secrets.token_hex(10).upper()}"
        if self._faults.chance("notify_amount_tamper_rate"):
            resource = self._tampered(resource, original_type)
        plaintext = json.dumps(resource, ensure_ascii=False, separators=(",", ":")).encode()
        encrypted = crypto.encrypt_resource(self._apiv3_key, plaintext, original_type)
        body = json.dumps(
            {
                "id": event_id,
                "create_time": clock.rfc3339(at),
                "resource_type": "encrypt-resource",
                "event_type": event_type,
                "summary": SUMMARIES[event_type],
                "resource": {"original_type": original_type, **encrypted},
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        self._store_notification(
            conn, id=event_id, event_type=event_type, subject=subject, url=url, body=body, at=at
        )

    def _tampered(self, resource: dict[str, Any], original_type: str) -> dict[str, Any]:
        """The same event, encrypted and signed as ever, reporting another amount."""
        amount = dict(resource["amount"])
        keys = TAMPERED_AMOUNTS[original_type]
        amount.update(dict.fromkeys(keys, self._faults.other_amount(amount[keys[0]])))
        return {**resource, "amount": amount}

    def _send(self, due: Due) -> Outcome:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Mozilla/4.0 (WechatPay emulator)",
            **self._signer.headers(due.body),
        }
        return self._post(due.url, due.body, headers)

    def _acknowledged(self, status: int, text: str) -> bool:
        # WeChat takes any 2xx (200 or 204) as received; the body is not read.
        return 200 <= status < 300


list_attempts = list_event_attempts
