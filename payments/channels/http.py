"""The HTTP session every channel client sends with."""

import os
import threading

import requests

_sessions = threading.local()


def _forget_sessions() -> None:
    global _sessions
    _sessions = threading.local()


# A forked process (a django-q2 worker is one) must not send on its parent's open connections:
# two processes writing to one socket read each other's answers.
os.register_at_fork(after_in_child=_forget_sessions)


def channel_session() -> requests.Session:
    """This thread's session (a Session is not thread-safe). It keeps its connections to a
    channel open between calls, where ``requests.request`` builds a session, and opens a TCP
    (and TLS) connection, for every call: that cost more CPU than the rest of a sandbox call,
    and on a real channel a handshake is a round trip or two more that a waiting buyer pays
    for. A connection the channel has closed meanwhile is opened again; one that breaks under
    a call is that call's ChannelUnavailable (outcome unknown), as any network error is."""
    session = getattr(_sessions, "session", None)
    if session is None:
        session = _sessions.session = requests.Session()
    return session
