"""The channel clients' HTTP session."""

import os
import threading

from payments.channels.http import channel_session


def test_a_thread_keeps_its_session_and_another_thread_has_its_own():
    mine = channel_session()
    theirs = []
    thread = threading.Thread(target=lambda: theirs.append(channel_session()))
    thread.start()
    thread.join()

    assert channel_session() is mine
    assert theirs[0] is not mine


def test_a_forked_process_does_not_send_on_its_parents_connections():
    parents = channel_session()
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # the child answers through the pipe and leaves at once
        os.write(write_end, b"own" if channel_session() is not parents else b"parent's")
        os._exit(0)
    os.close(write_end)
    answer = os.read(read_end, 16)
    os.waitpid(child, 0)

    assert answer == b"own"
