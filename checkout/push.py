"""Server push for the checkout pages: a Server-Sent Events stream of the order's state.

Async, so a waiting customer costs no thread; each tick reads the state in a short sync call
that closes its database connection again, so a waiting customer holds no connection either.
Every stream of one order in one process shares that read (one per tick, `SharedReads`), and
its read repair asks the channel at most once per interval across processes, so two hundred
pages on one order cost the database and the channel about what one does.
A stream ends at a final state or after CHECKOUT_PUSH_LIFETIME_SECONDS (the browser's
EventSource reconnects by itself), so none lives forever.
"""

import asyncio
import json
import weakref
from collections.abc import AsyncIterator

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection

from checkout.services import checkout_state
from orders.selectors import order_get

KEEPALIVE_SECONDS = 15  # a comment line now and then keeps proxies from cutting an idle stream


async def checkout_events_stream(order_id: str) -> AsyncIterator[str]:
    """The event stream of one order; raises Http404 at once for an unknown order."""
    await sync_to_async(_read_once(order_get))(order_id)
    return _events(order_id)


async def _events(order_id: str) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    end = loop.time() + settings.CHECKOUT_PUSH_LIFETIME_SECONDS
    retry_ms = int(settings.CHECKOUT_POLL_SECONDS * 1000)
    yield f"retry: {retry_ms}\n\n"
    last_key, last_sent = None, loop.time()
    while True:
        state = await shared_reads().state(order_id)
        if state["state"] != last_key:
            yield f"event: status\ndata: {json.dumps(state)}\n\n"
            last_key, last_sent = state["state"], loop.time()
        elif loop.time() - last_sent >= KEEPALIVE_SECONDS:
            yield ": keep-alive\n\n"
            last_sent = loop.time()
        if state["final"] or loop.time() >= end:
            return
        await asyncio.sleep(settings.CHECKOUT_PUSH_TICK_SECONDS)


class SharedReads:
    """The order states being read in one event loop: a stream joins a read of its order started
    less than a tick ago instead of starting its own. The read runs in a worker thread of its
    own (not the request's), so a stream that ends does not end it for the others."""

    def __init__(self) -> None:
        self._reads: dict[str, asyncio.Future] = {}

    async def state(self, order_id: str) -> dict:
        read = self._reads.get(order_id)
        if read is None:
            read = asyncio.ensure_future(
                sync_to_async(_read_once(_state_json), thread_sensitive=False)(order_id)
            )
            self._reads[order_id] = read
            loop = asyncio.get_running_loop()
            loop.call_later(settings.CHECKOUT_PUSH_TICK_SECONDS, self._forget, order_id, read)
        return await asyncio.shield(read)

    def _forget(self, order_id: str, read: asyncio.Future) -> None:
        if self._reads.get(order_id) is read:
            del self._reads[order_id]


_shared_reads: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def shared_reads() -> SharedReads:
    """This event loop's shared reads (a server runs one loop; tests start one per call)."""
    loop = asyncio.get_running_loop()
    if loop not in _shared_reads:
        _shared_reads[loop] = SharedReads()
    return _shared_reads[loop]


def _state_json(order_id: str) -> dict:
    return checkout_state(order_id, repair=True).as_json()


def _read_once(read):
    """Run ``read`` and give its database connection back: between ticks the stream holds none."""

    def run(*args):
        try:
            return read(*args)
        finally:
            connection.close()

    return run
