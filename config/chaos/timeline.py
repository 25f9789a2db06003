"""What happened when during a chaos run: faults set, disruptions, recoveries, the verdict."""

import threading
import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Moment:
    at: float  # seconds since the run started
    kind: str  # fault | disruption | recovery | customer | verdict
    text: str


@dataclass
class Timeline:
    started: float = field(default_factory=time.time)
    moments: list[Moment] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def note(self, kind: str, text: str) -> None:
        with self._lock:
            self.moments.append(Moment(round(time.time() - self.started, 2), kind, text))
