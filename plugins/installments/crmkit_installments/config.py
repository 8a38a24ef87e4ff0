"""The plugin's names and its ``[settings.installments]``, checked at start."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import attrs

from crmkit import ConfigError, Crm, PipelineSpec, StageSpec

NAME = "installments"
PIPELINE = "installment_control"
WAITING, DUE_SOON, OVERDUE, PAID_OFF, WRITTEN_OFF = "waiting", "due_soon", "overdue", "paid_off", "written_off"
OVERDUE_RULE = f"{NAME}.overdue"
"""The ``rule`` of the overdue tasks the plugin creates (one open task per control deal)."""

CONTROL_PIPELINE = PipelineSpec(key=PIPELINE, name="Installment control", origin=NAME, stages=(
    StageSpec(WAITING, "Waiting for payment"),
    StageSpec(DUE_SOON, "Due soon"),
    StageSpec(OVERDUE, "Overdue"),
    StageSpec(PAID_OFF, "Paid off", "won"),
    StageSpec(WRITTEN_OFF, "Written off", "lost"),
))

_DEFAULTS: dict[str, int] = {"due_soon_days": 3, "check_every_minutes": 60, "task_due_hours": 24}


@attrs.frozen
class Config:
    """``due_soon_days``: how early an upcoming payment counts as due soon (and is reminded);
    ``check_every_minutes``: how often the worker reviews the plans;
    ``task_due_hours``: when an overdue task is due after it is created."""

    due_soon_days: int = 3
    check_every_minutes: int = 60
    task_due_hours: int = 24

    @property
    def every(self) -> timedelta:
        return timedelta(minutes=self.check_every_minutes)


def config(crm: Crm) -> Config:
    """The deployment's settings of this plugin (``ConfigError`` naming a bad key)."""
    raw: Any = crm.plugin_settings(NAME)
    unknown = sorted(set(raw) - set(_DEFAULTS))
    if unknown:
        raise ConfigError(f"settings.{NAME}: unknown key {unknown[0]!r} (known: {', '.join(sorted(_DEFAULTS))})")
    values = {**_DEFAULTS, **raw}
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10_000:
            raise ConfigError(f"settings.{NAME}.{key}: expected a whole number from 0 to 10000, got {value!r}")
    if values["check_every_minutes"] < 1:
        raise ConfigError(f"settings.{NAME}.check_every_minutes: must be at least 1")
    return Config(**values)


def local_date(crm: Crm, when: datetime) -> date:
    """The calendar date of ``when`` in the deployment's timezone."""
    return when.astimezone(crm.settings.tz).date()
