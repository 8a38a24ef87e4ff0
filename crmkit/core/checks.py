"""What ``crmkit config check`` checks: everything a deployment's start would refuse, as a list.

:func:`problems` runs the same checks as ``Crm(...)`` and ``crmkit serve`` at start, without
writing anything, and keeps going where it can so that every problem is reported at once:

1. the plugins: installed, importable, API ranges, requirements, glue plugins;
2. each enabled plugin's ``[settings.<plugin>]`` against its ``PluginInfo(settings=...)`` (every
   problem of every plugin), and ``[settings.<name>]`` tables that no installed plugin and no part
   of the core reads (a typo would be ignored silently);
3. the declarations (registration hooks, pipelines, custom fields, stage rules, roles), the core's
   own sections (``[settings.database]``, ``[settings.server]``, ``[settings.forms]``);
4. the database: reachable, and its schema not behind the code (``crmkit db upgrade``).
"""

from __future__ import annotations

import difflib
from typing import Any, Callable

from sqlalchemy.exc import SQLAlchemyError

from .errors import CrmError
from .plugin_settings import CORE_SECTIONS, parse_all
from .plugins import installed_plugins, plugin_info, resolve
from .settings import Settings


def problems(settings: Settings) -> list[str]:
    """One line per problem of the deployment ``settings`` describes (empty: it would start)."""
    try:
        enabled = resolve(settings.plugins)
    except CrmError as exc:
        return [exc.message]
    _, found = parse_all(((plugin_info(p).name, plugin_info(p).settings) for p in enabled.plugins), settings)
    found += _unknown_sections(settings)
    if found:
        return found
    from .app import Crm

    try:
        crm = Crm(settings, setup=False)
    except CrmError as exc:
        return [exc.message]
    try:
        for check in _CHECKS:
            try:
                check(crm)
            except CrmError as exc:
                found.append(exc.message)
        if not found:
            found += _database(crm)
    finally:
        crm.close()
    return found


def _unknown_sections(settings: Settings) -> list[str]:
    known = sorted(CORE_SECTIONS | set(installed_plugins()))
    out = []
    for name in sorted(settings.plugin_settings):
        if name in known:
            continue
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean [settings.{close[0]}]?" if close else f"known: {', '.join(known)}"
        out.append(f"crmkit.toml [settings.{name}]: no installed plugin and no part of crmkit reads it ({hint})")
    return out


def _database_options(crm: Any) -> None:
    from .migrations import database_options

    database_options(crm.settings)


def _server(crm: Any) -> None:
    from ..web.limits import server_limits

    server_limits(crm)


def _forms(crm: Any) -> None:
    from ..web.resources.forms import load_forms

    load_forms(crm)


def _operations(crm: Any) -> None:
    from ..ops.config import logging_options, monitoring_options
    from ..web.proxy import trusted_proxies

    monitoring_options(crm.settings)
    logging_options(crm.settings)
    trusted_proxies(crm)


def _routes(crm: Any) -> None:
    from ..web.app import _plugin_routes, operations

    _plugin_routes(crm, operations(crm, crm.clock))


_CHECKS: tuple[Callable[[Any], None], ...] = (_database_options, _server, _forms, _operations, _routes)


def _database(crm: Any) -> list[str]:
    """The database answers, and the start would accept its schema (see ``prepare_schema``): at the
    code's head, brand-new (the start creates it), behind only by plugins enabled for the first time
    (the start installs them), or behind with ``upgrade_on_start``."""
    from sqlalchemy import inspect

    from .migrations import CORE, database_options, layout
    from .migrations.state import behind_message, evaluate, read_rows, unknown_message

    try:
        lay = layout(crm)
        with crm.engine.connect() as conn:
            rows = read_rows(conn)
            state = evaluate(lay, rows)
            fresh = not rows and not set(crm.tables).intersection(inspect(conn).get_table_names())
    except CrmError as exc:
        return [exc.message]
    except SQLAlchemyError as exc:
        detail = " ".join(str(getattr(exc, "orig", None) or exc).split()).split(" [SQL")[0]
        return [f"database: not usable: {detail}"]
    if state.at_head or fresh:
        return []
    if state.unknown:
        return [unknown_message(state.unknown)]
    new = [b for b in state.behind if b.current is None and b.name != CORE and state.rows is not None]
    if len(new) == len(state.behind) or database_options(crm.settings).upgrade_on_start:
        return []
    return [behind_message(state, legacy=state.rows is None)]
