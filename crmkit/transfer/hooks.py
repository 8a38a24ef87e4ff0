"""The transfer feature's hook implementations, registered with the core's defaults."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import MetaData

from ..core.hookspecs import hookimpl
from .tables import metadata

if TYPE_CHECKING:  # pragma: no cover
    from ..core.app import Crm


@hookimpl(trylast=True)
def crm_register_tables(crm: "Crm") -> MetaData:
    return metadata
