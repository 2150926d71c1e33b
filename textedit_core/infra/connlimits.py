"""How much work one browser connection may ask of the server (the page's websocket).

Every message a page sends on its websocket can start a run of the whole script, so one
connection sending thousands of them kept every other user waiting. Two rules bound it:

- `MessageBudget`, per connection: a burst of messages at once, then a steady rate. A message
  past the budget is held back until its turn (nothing is dropped: a person clicking fast only
  waits a moment); a connection that is held back many times in a row is not a person, and is
  closed.
- `OpenConnections`, per client address: at most so many connections at once.

The message size cap needs no state: serve.py compares each message with the setting.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable


class MessageBudget:
    """A token bucket of `burst` messages refilled at `per_second`."""

    def __init__(
        self,
        burst: int,
        per_second: float,
        held_back_limit: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._burst = burst
        self._rate = per_second
        self._held_back_limit = held_back_limit
        self._clock = clock
        self._tokens = float(burst)
        self._at = clock()
        self._held_back = 0

    def admit(self) -> float | None:
        """Seconds to hold this message back before handling it (0: at once), or None when the
        connection has been held back `held_back_limit` times in a row and is to be closed."""
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
        self._at = now
        if self._tokens >= 1:
            self._tokens -= 1
            self._held_back = 0
            return 0.0
        self._held_back += 1
        if self._held_back > self._held_back_limit:
            return None
        # The message is handled once the bucket holds a whole token again; it is spent then.
        self._tokens -= 1
        return -self._tokens / self._rate


class OpenConnections:
    """The connections open at once per client address, at most `limit` each (shared by the
    process's connections, which the server handles on several threads)."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._open: Counter[str] = Counter()
        self._lock = threading.Lock()

    def take(self, address: str) -> bool:
        """Count one more connection from `address`; False (counting nothing) when it has
        `limit` open already."""
        with self._lock:
            if self._open[address] >= self._limit:
                return False
            self._open[address] += 1
            return True

    def give_back(self, address: str) -> None:
        with self._lock:
            self._open[address] -= 1
            if self._open[address] <= 0:
                del self._open[address]

    def open_from(self, address: str) -> int:
        with self._lock:
            return self._open[address]
