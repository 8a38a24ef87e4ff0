"""The core's messaging, registered like a plugin (``trylast``): its tables, its channels from
``[settings.messages]``, and the worker's jobs (sending the outbox, webhooks, reminders, campaigns)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import MetaData

from crmkit import PeriodicJob, Permission, hookimpl

from .config import load
from .privacy import crm_personal_data_erase, crm_personal_data_export  # noqa: F401  (hook implementations)
from .tables import metadata

if TYPE_CHECKING:  # pragma: no cover
    from crmkit import Crm

    from .records import Channel


@hookimpl(trylast=True)
def crm_register_tables(crm: "Crm") -> MetaData:
    load(crm)  # a wrong [settings.messages] fails at start
    return metadata


@hookimpl(trylast=True)
def crm_register_permissions(crm: "Crm") -> list[Permission]:
    return [Permission("messages.manage", roles=("admin", "head"),
                       description="templates, campaigns, webhooks and the whole outbox")]


@hookimpl(trylast=True)
def crm_register_channels(crm: "Crm") -> list["Channel"]:
    settings = load(crm)
    found: list[Any] = []
    if settings.email is not None:
        from .smtp import SmtpChannel

        found.append(SmtpChannel(settings.email))
    if settings.sms is not None:
        from .sms_gateway import HttpSmsChannel

        found.append(HttpSmsChannel(settings.sms))
    if settings.telegram is not None:
        from .telegram import TelegramChannel

        found.append(TelegramChannel(settings.telegram))
    return found


def send_messages(crm: "Crm", now: datetime) -> int:
    """The job ``core.messages``: send what is due."""
    return crm.messages.deliver().sent  # type: ignore[no-any-return]


def send_webhooks(crm: "Crm", now: datetime) -> int:
    """The job ``core.webhooks``: new events to subscriptions, then due deliveries."""
    return crm.messages.webhooks.run()  # type: ignore[no-any-return]


def run_reminders(crm: "Crm", now: datetime) -> int:
    """The job ``core.reminders``: task due/overdue reminders and digests to assignees."""
    from .reminders import remind

    return remind(crm, now)


def run_campaigns(crm: "Crm", now: datetime) -> int:
    """The job ``core.campaigns``: queue the campaigns whose time has come (birthdays daily)."""
    return crm.messages.campaigns.run_due(now)  # type: ignore[no-any-return]


def run_campaign_triggers(crm: "Crm", now: datetime) -> int:
    """The job ``core.campaign_triggers``: event campaigns' messages for new matching events."""
    return crm.messages.campaigns.run_triggers()  # type: ignore[no-any-return]


@hookimpl(trylast=True)
def crm_register_periodic_jobs(crm: "Crm") -> list[PeriodicJob]:
    return [
        PeriodicJob(name="messages", every=timedelta(seconds=10), run=send_messages),
        PeriodicJob(name="webhooks", every=timedelta(seconds=10), run=send_webhooks),
        PeriodicJob(name="reminders", every=timedelta(minutes=1), run=run_reminders),
        PeriodicJob(name="campaigns", every=timedelta(minutes=5), run=run_campaigns),
        PeriodicJob(name="campaign_triggers", every=timedelta(seconds=10), run=run_campaign_triggers),
    ]
