"""The transfer feature's hook implementations, registered with the core's defaults."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from sqlalchemy import MetaData

from ..core.hookspecs import hookimpl
from .tables import metadata

DEFAULT_PLUGIN_NAME = "crmkit.transfer"  # its name among the core's default plugins (hook traces, tests)

if TYPE_CHECKING:  # pragma: no cover
    from ..core.app import Crm
    from ..core.events import Event
    from ..core.unit_of_work import Tx


@hookimpl(trylast=True)
def crm_register_tables(crm: "Crm") -> MetaData:
    return metadata


@hookimpl(trylast=True)
def crm_validate(tx: "Tx", events: Sequence["Event"]) -> None:
    """Strict mode refuses duplicates (see :mod:`crmkit.transfer.duplicates`)."""
    from .duplicates import refuse_duplicates

    refuse_duplicates(tx, events)
