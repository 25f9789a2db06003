"""Async notifies: durable form POSTs signed RSA2, retried on Alipay's schedule until the merchant
answers exactly ``success``.

The delivery loop, its fault handling and the attempt log are every emulator's (``channel_sim``);
what differs is the notification itself. Its parameters are stored once (stable ``notify_id``);
each attempt gets a fresh ``notify_time`` and is signed again over the sorted parameters without
``sign`` and ``sign_type``.
"""

import json
import logging
import secrets
import sqlite3
from typing import Any
from urllib.parse import urlencode

from cryptography.hazmat.primitives.asymmetric import rsa

from channel_sim.notifier import EventDue as Due
from channel_sim.notifier import EventNotifier, Outcome, list_event_attempts
from sandbox_channel.faults import Faults

from . import clock, crypto, validation
from .store import Store

ACKNOWLEDGEMENT = "success"

list_attempts = list_event_attempts


class Notifier(EventNotifier):
    log = logging.getLogger(__name__)

    def __init__(
        self,
        store: Store,
        faults: Faults,
        alipay_private_key: rsa.RSAPrivateKey,
        schedule: tuple[float, ...],
    ):
        super().__init__(store, faults, schedule)
        self._private_key = alipay_private_key

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
        self._store_notification(
            conn,
            id=notify_id,
            event_type=params["trade_status"],
            subject=subject,
            url=url,
            body=body,
            at=at,
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
        return self._post(due.url, body, headers)

    def _acknowledged(self, status: int, text: str) -> bool:
        # Alipay reads the body, not the status: anything but the seven letters means "again".
        return status == 200 and text == ACKNOWLEDGEMENT
