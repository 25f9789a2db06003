"""A simulator of a third-party payment channel, run as its own process.

Paycenter talks to it only over HTTP, exactly as it would talk to a real channel: the simulator
keeps its own SQLite store, calls the merchant back with signed notifications on its own retry
schedule, and misbehaves on demand (see ``faults``). Standard library only, plus ``segno``.
"""
