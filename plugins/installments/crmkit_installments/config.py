"""The plugin's names and its ``[settings.installments]`` (checked by crmkit at start: ``PluginInfo(settings=Config)``)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import attrs

from crmkit import Crm, PipelineSpec, StageSpec

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

_WHOLE = [attrs.validators.ge(0), attrs.validators.le(10_000)]


@attrs.frozen
class Config:
    """``[settings.installments]``, checked by crmkit when the deployment starts (``PluginInfo(settings=Config)``).

    ``due_soon_days``: how early an upcoming payment counts as due soon (and is reminded);
    ``check_every_minutes``: how often the worker reviews the plans (at least 1);
    ``task_due_hours``: when an overdue task is due after it is created.
    All are whole numbers from 0 to 10000."""

    due_soon_days: int = attrs.field(default=3, validator=_WHOLE)
    check_every_minutes: int = attrs.field(default=60, validator=[attrs.validators.ge(1), attrs.validators.le(10_000)])
    task_due_hours: int = attrs.field(default=24, validator=_WHOLE)

    @property
    def every(self) -> timedelta:
        return timedelta(minutes=self.check_every_minutes)


def config(crm: Crm) -> Config:
    """The deployment's settings of this plugin (parsed and checked once, when the deployment started)."""
    found: Config = crm.settings_of(NAME)
    return found


def local_date(crm: Crm, when: datetime) -> date:
    """The calendar date of ``when`` in the deployment's timezone."""
    return when.astimezone(crm.settings.tz).date()
