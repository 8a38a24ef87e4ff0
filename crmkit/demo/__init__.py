"""Demo data: the window company of MISSION.md, seeded through the public services only.

``seed(crm)`` fills an empty deployment (made from the crmkit.toml template) with
about six weeks of work ending now: staff, ~50 leads from every channel (some
rejected with a reason), contacts and companies, deals spread over every Sales
stage (some won, some lost, some parked in Deferred demand), tasks due and
overdue for the right people, and notes. The same ``seed`` and ``now`` give the
same data; the time runs on the Crm's :class:`~crmkit.FrozenClock`, so every
card's timeline reads like real history.

Modules: ``data`` (the fixed names, companies, channels, reasons), ``plan`` (steps
run in time order), ``office`` (the staff acting through the services), ``steps``
and ``story`` (what happens to each lead and deal), ``summary`` (the counts).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from ..core.clock import FrozenClock
from ..core.errors import ConfigError
from .data import COMPANY_NAME, CONFIG_EXTRA, DAYS, DOMAIN, STAFF
from .story import Demo
from .summary import DemoSummary, summarize

if TYPE_CHECKING:  # pragma: no cover
    from ..core.app import Crm

__all__ = ["COMPANY_NAME", "CONFIG_EXTRA", "DAYS", "DOMAIN", "STAFF", "DemoSummary", "seed", "summarize"]


def seed(crm: "Crm", *, now: datetime | None = None, seed: int = 42) -> DemoSummary:
    """Fill ``crm`` (an empty deployment from the crmkit.toml template) with the demo data.

    ``crm`` must run on a :class:`~crmkit.FrozenClock` (the demo sets it to each
    step's time and leaves it at ``now``, default: the clock's current time).
    """
    if not isinstance(crm.clock, FrozenClock):
        raise ConfigError("demo data needs a Crm running on a FrozenClock")
    current = (now or crm.clock.now()).astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
    crm.clock.set(current - timedelta(days=DAYS))
    demo = Demo(crm, random.Random(seed), current)
    demo.run()
    return summarize(crm, notes=demo.notes)
