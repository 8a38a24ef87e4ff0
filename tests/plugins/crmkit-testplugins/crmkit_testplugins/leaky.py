"""Breaks the plugin contract on purpose, for the conformance check's tests: a private import, an
API range without an upper bound, an undocumented hookspec without the plugin's prefix, and a
table without the plugin's prefix and without migrations."""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, Table

import crmkit
from crmkit import hookimpl
from crmkit.core.errors import ValidationError  # private: crmkit.ValidationError is the public name


class Specs:
    @crmkit.hookspec
    def undocumented(self, deal_id: int) -> None:
        pass


plugin_info = crmkit.PluginInfo(name="leaky", version="0.1.0", api=">=1.0", hookspecs=Specs)

metadata = MetaData()
stray = Table("stray_rows", metadata, Column("id", Integer, primary_key=True))


@hookimpl
def crm_register_tables() -> MetaData:
    if ValidationError is None:  # pragma: no cover - keeps the import used
        raise RuntimeError
    return metadata
