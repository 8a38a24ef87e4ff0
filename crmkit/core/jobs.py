"""Periodic jobs: registered by plugins (``crm_register_periodic_jobs``), run by the worker."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Callable

import attrs

if TYPE_CHECKING:  # pragma: no cover
    from .app import Crm


@attrs.frozen
class PeriodicJob:
    """``run(crm, now)`` every ``every``; ``name`` is unique within the deployment."""

    name: str
    every: timedelta
    run: Callable[["Crm", datetime], object]
