"""The ``telephony`` plugin: its hook implementations (the entry point loads this module)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import click
from sqlalchemy import MetaData

import crmkit
from crmkit import Permission, hookimpl

from . import config, hookspecs, sms
from .providers.asterisk import AsteriskProvider
from .providers.generic import GenericProvider
from .providers.twilio import TwilioProvider
from .merging import crm_merge_records  # noqa: F401  (hook implementation)
from .privacy import crm_personal_data_erase, crm_personal_data_export  # noqa: F401  (hook implementations)
from .schema import metadata
from .ui import crm_register_ui_actions, crm_register_ui_panels, crm_register_ui_timeline  # noqa: F401  (web UI)

if TYPE_CHECKING:  # pragma: no cover
    from crmkit import Crm, Event, Tx

__version__ = "0.1.0"

plugin_info = crmkit.PluginInfo(
    name=config.NAME, version=__version__, api=">=1.0,<2", hookspecs=hookspecs,
    migrations="crmkit_telephony.migrations",
    description="Calls from an IP PBX or cloud telephony: leads, call log, call-back tasks, click-to-call",
)


@hookimpl
def crm_register_tables(crm: "Crm") -> MetaData:
    config.load(crm)  # a bad [settings.telephony] fails at start, not on the first call
    sms.settings(crm)
    return metadata


@hookimpl
def crm_register_channels(crm: "Crm") -> list[Any]:
    """Twilio SMS (``[settings.telephony.sms]``) as the message channel ``twilio``."""
    return sms.channels(crm)


@hookimpl
def crm_event_committed(crm: "Crm", event: "Event") -> None:
    """The missed-call SMS option (``missed_call_sms``)."""
    sms.on_call_finished(crm, event)


@hookimpl
def crm_register_permissions(crm: "Crm") -> list[Permission]:
    return [
        Permission("telephony.call", roles=("admin", "head", "manager"), description="place calls (click-to-call)"),
        Permission("telephony.stats", roles=("admin", "head"), description="every call and the call statistics"),
    ]


@hookimpl
def crm_register_routes(crm: "Crm") -> list[Any]:
    from .web import routes

    return routes(crm)


@hookimpl
def crm_register_commands(cli: click.Group, crm: "Crm") -> None:
    from .cli import group

    cli.add_command(group(crm))


@hookimpl
def crm_on_events(tx: "Tx", events: "Sequence[Event]") -> None:
    from .callbacks import on_events

    on_events(tx, events)


@hookimpl
def telephony_register_providers(crm: "Crm") -> list[Any]:
    return [GenericProvider(), TwilioProvider(), AsteriskProvider()]
