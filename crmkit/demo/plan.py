"""When the demo's steps happen: the steps of many stories, run in time order on a FrozenClock."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from typing import Callable

from ..core.clock import FrozenClock

Step = Callable[[], None]


class Plan:
    """Steps of many stories, run in time order with the clock set to each step's time.

    Times are moved into working hours (08:00-18:00 UTC) when that stays in the
    past; the steps of one story never run out of the order they were planned in.
    """

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.steps: list[tuple[datetime, int, Step]] = []
        self._last: dict[int, datetime] = {}

    def at(self, when: datetime, step: Step, story: int = 0) -> None:
        """Plan ``step`` at ``when`` (in working hours) as the next step of ``story`` (0: none)."""
        day = datetime.combine(when.date(), time(0), tzinfo=timezone.utc)
        working = day + timedelta(hours=8) + (when - day) * 10 / 24
        when = (working if working < self.now else when).replace(microsecond=0)
        previous = self._last.get(story)
        if story and previous is not None and when <= previous:
            when = previous + timedelta(minutes=1)
        self._last[story] = when
        self.steps.append((when, len(self.steps), step))

    def run(self, clock: FrozenClock) -> None:
        """Run every step in time order (ties: in planning order), the clock set to its time."""
        for when, _, step in sorted(self.steps, key=lambda s: (s[0], s[1])):
            clock.set(when)
            step()


def business_hour(when: datetime) -> datetime:
    """``when``'s day at 10:00 UTC, moved off the weekend."""
    day = when.date()
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, time(10, 0), tzinfo=timezone.utc)
