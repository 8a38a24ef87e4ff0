"""The other side of the ``club_bar`` glue plugin: a bar, with settings parsed by a callable.

``[settings.bar]``: ``tab_limit`` (a decimal as text, default ``"50.00"``), ``currency`` (default
the deployment's). ``GET /api/v1/bar/limit`` answers them.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, Mapping

import attrs

import crmkit
from crmkit import ConfigError, Settings, hookimpl


@attrs.frozen
class BarSettings:
    tab_limit: Decimal
    currency: str


def parse(table: Mapping[str, Any], settings: Settings) -> BarSettings:
    """``[settings.bar]`` (a ``ConfigError`` names the key)."""
    unknown = sorted(set(table) - {"tab_limit", "currency"})
    if unknown:
        raise ConfigError(f"settings.bar.{unknown[0]}: unknown key (known: currency, tab_limit)")
    try:
        limit = Decimal(str(table.get("tab_limit", "50.00")))
    except InvalidOperation:
        raise ConfigError(f"settings.bar.tab_limit: {table.get('tab_limit')!r} is not an amount") from None
    return BarSettings(tab_limit=limit, currency=str(table.get("currency", settings.default_currency)))


plugin_info = crmkit.PluginInfo(name="bar", version="0.1.0", api=">=1.0,<2", settings=parse, description="A bar.")


@hookimpl
def crm_register_routes(crm: Any) -> list[Any]:
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def limit(request: Request) -> JSONResponse:
        found: BarSettings = crm.settings_of("bar")
        return JSONResponse({"tab_limit": str(found.tab_limit), "currency": found.currency})

    return [Route("/limit", limit, methods=["GET"])]
