"""The core's own hook implementations, registered like a plugin (datasette's lesson).

If the core can do it through a hook, so can a plugin: the core's tables,
pipelines and custom fields arrive through the same registration hooks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from sqlalchemy import MetaData

from . import schema
from .hookspecs import hookimpl

if TYPE_CHECKING:  # pragma: no cover
    from .app import Crm
    from .customfields import CustomField
    from .pipelines import PipelineSpec


@hookimpl(trylast=True)
def crm_register_tables(crm: "Crm") -> MetaData:
    return schema.metadata


@hookimpl(trylast=True)
def crm_register_pipelines(crm: "Crm") -> Iterable["PipelineSpec"]:
    return crm.settings.pipelines


@hookimpl(trylast=True)
def crm_register_custom_fields(crm: "Crm") -> Iterable["CustomField"]:
    return crm.settings.custom_fields
