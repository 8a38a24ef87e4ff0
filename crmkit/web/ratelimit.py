"""A per-client token bucket on an injectable clock (tests move a ``FrozenClock``).

Buckets live in the process: with several web processes each keeps its own.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from ..core.clock import Clock


class RateLimiter:
    """``capacity`` requests per ``period`` seconds per key, refilled continuously."""

    def __init__(self, clock: "Clock", *, max_keys: int = 100_000) -> None:
        self.clock = clock
        self._buckets: dict[tuple[str, ...], tuple[float, float]] = {}
        self._lock = threading.Lock()
        self._max_keys = max_keys

    def hit(self, key: tuple[str, ...], capacity: int, period: float = 60.0) -> float:
        """Take one token; return 0 if allowed, else the seconds until one is free."""
        now = self.clock.now().timestamp()
        rate = capacity / period
        with self._lock:
            tokens, last = self._buckets.get(key, (float(capacity), now))
            tokens = min(float(capacity), tokens + max(0.0, now - last) * rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return (1.0 - tokens) / rate
            if len(self._buckets) >= self._max_keys:
                self._buckets.clear()
            self._buckets[key] = (tokens - 1.0, now)
            return 0.0
