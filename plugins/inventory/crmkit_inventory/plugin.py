"""The inventory plugin: the stock of a fitness bar or cafe.

Enabled with ``plugins = ["inventory"]`` in crmkit.toml (settings in ``[settings.inventory]``,
see :class:`~crmkit_inventory.config.Config`):

* tables ``inventory_products``, ``_suppliers``, ``_locations``, ``_movements`` (the append-only
  stock ledger), ``_sales``, ``_sale_lines``, ``_tabs``, ``_tab_entries``, ``_thresholds``,
  ``_counts``, ``_count_lines``; its own alembic branch ``inventory``;
* permissions ``inventory.sell`` (admin, head, manager) and ``inventory.manage`` (admin, head);
* its own hooks ``inventory_tab_holds`` and ``inventory_member_segments`` (:mod:`.hooks`);
* API routes under ``/api/v1/inventory/``, the CLI group ``crmkit inventory``, a bar-sale and a
  stock page in the web UI.
"""

from __future__ import annotations

from typing import Any, Iterable

import click
from sqlalchemy import MetaData

import crmkit
from crmkit import Permission, hookimpl

from . import __version__, hooks
from .config import MANAGE, NAME, SELL, Config
from .tables import metadata
from .people import (  # noqa: F401  (hook implementations)
    crm_merge_records, crm_personal_data_erase, crm_personal_data_export, crm_register_purchases,
)
from .ui import crm_register_ui_pages, crm_register_ui_timeline  # noqa: F401  (web UI)

plugin_info = crmkit.PluginInfo(
    name=NAME, version=__version__, api=">=1.0,<2", migrations="crmkit_inventory.migrations", settings=Config,
    hookspecs=hooks, description="A fitness bar's stock: products, stock ledger, sales and tabs, counts, analysis.",
)


@hookimpl
def crm_register_tables() -> MetaData:
    return metadata


@hookimpl
def crm_register_permissions() -> list[Permission]:
    return [Permission(SELL, roles=("admin", "head", "manager"), description="sell at the bar, take tab payments"),
            Permission(MANAGE, roles=("admin", "head"),
                       description="products, receipts, counts, reversals, tab limits")]


@hookimpl
def crm_register_routes() -> Iterable[Any]:
    from .web import routes

    return routes()


@hookimpl
def crm_register_commands(cli: click.Group) -> None:
    from .cli import group

    cli.add_command(group)
