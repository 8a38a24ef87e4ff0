"""What a ``Crm`` does with its database's schema when it starts (:func:`prepare_schema`).

* A brand-new, empty database is created at head at once: every enabled table from the models
  (``create_all``) and the branches' heads written to ``alembic_version`` (alembic's "create_all,
  then stamp" recipe): the SDK, tests and ``crmkit init`` stay fast.
* A database at head: nothing to do (two small queries, no alembic import).
* A plugin enabled for the first time (its branch not in the database at all) is installed: its
  migrations run from its first revision, in one transaction under a lock, touching nothing else
  (a first revision that fills its tables from existing rows does so; ``create_all`` would not).
* A database behind head (a new release of crmkit or of a plugin, or made before crmkit had
  migrations) is refused with :class:`SchemaBehindError` naming ``crmkit db upgrade`` -- unless the
  deployment is an embedded SQLite one with ``[settings.database] upgrade_on_start = true``.
* Enabled plugins without migrations get their missing tables created, as before migrations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Mapping

import attrs
from sqlalchemy import Connection, MetaData, inspect, insert, text

from .. import schema as core_schema
from ..errors import ConfigError
from ..unit_of_work import write_connection
from .layout import CORE, Layout, layout
from .scripts import stamp_rows
from .state import (
    DatabaseState, SchemaBehindError, behind_message, evaluate, read_rows, unknown_message, version_table,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..app import Crm

SECTION = "database"
IDEMPOTENCY_TABLE = "crm_idempotency_keys"
PG_LOCK_KEY = 0x63726D6B  # "crmk": one schema change at a time per PostgreSQL database


@attrs.frozen
class DatabaseOptions:
    """``[settings.database]`` of crmkit.toml."""

    upgrade_on_start: bool = False
    """Run ``crmkit db upgrade`` when a ``Crm`` starts on a database behind head (embedded SQLite only)."""


def database_options(settings: Any) -> DatabaseOptions:
    table: Mapping[str, Any] = settings.plugin_settings.get(SECTION, {})
    where = f"crmkit.toml: [settings.{SECTION}]"
    unknown = sorted(set(table) - {"upgrade_on_start"})
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known: upgrade_on_start)")
    value = table.get("upgrade_on_start", False)
    if not isinstance(value, bool):
        raise ConfigError(f"{where} upgrade_on_start must be true or false, got {value!r}")
    if value and not settings.database_url().startswith("sqlite"):
        raise ConfigError(f"{where} upgrade_on_start is for an embedded SQLite deployment; with PostgreSQL "
                          "run `crmkit db upgrade` once per release, before the servers and workers start")
    return DatabaseOptions(upgrade_on_start=value)


def model_metadatas(crm: "Crm") -> list[MetaData]:
    """The models of every enabled table: the hook-registered MetaData and the API's idempotency keys
    (a core table defined next to the API: ``crmkit.web.idempotency``)."""
    metadatas = list(crm.metadatas)
    if not any(IDEMPOTENCY_TABLE in md.tables for md in metadatas):
        from ...web.idempotency import metadata as idempotency

        metadatas.append(idempotency)
    return metadatas


def prepare_schema(crm: "Crm", *, upgrade: bool | None = None) -> None:
    """Bring a starting deployment's database to the code's schema, or refuse (see the module doc).

    :param upgrade: upgrade a database behind head (default: ``[settings.database] upgrade_on_start``).
    """
    options = database_options(crm.settings)
    if upgrade is None:
        upgrade = options.upgrade_on_start
    lay = layout(crm)
    state, fresh = _read(crm, lay)
    if fresh and not create_fresh(crm, lay):
        state, fresh = _read(crm, lay)  # another process made it in the meantime
    if not fresh and not state.at_head:
        if state.unknown:
            raise SchemaBehindError(unknown_message(state.unknown))
        # a plugin the database has never seen is installed; anything else behind head needs the upgrade
        new = [b.name for b in state.behind if b.current is None and b.name != CORE and state.rows is not None]
        if not upgrade and len(new) < len(state.behind):
            raise SchemaBehindError(behind_message(state, legacy=state.rows is None))
        from . import runner

        runner.upgrade(crm, None if upgrade else new)
    if lay.unversioned:
        create_unversioned(crm, lay)


def open_upgraded(settings: Any, **kwargs: Any) -> "Crm":
    """A started ``Crm`` whose database was first brought to head (``crmkit init`` and ``demo``):
    an empty one is created at head at once, one behind head is upgraded (as ``crmkit db upgrade``)."""
    from ..app import Crm

    crm = Crm(settings, setup=False, **kwargs)
    try:
        prepare_schema(crm, upgrade=True)
        crm.setup()
    except BaseException:
        if "engine" in kwargs:  # the caller's: left open
            crm.security.close()
        else:
            crm.close()
        raise
    return crm


def _read(crm: "Crm", lay: Layout) -> tuple[DatabaseState, bool]:
    """The database's state, and whether it is brand-new (no revision, none of the enabled tables)."""
    with crm.engine.connect() as conn:
        rows = read_rows(conn)
        state = evaluate(lay, rows)
        fresh = not state.at_head and not rows and not _has_any_table(conn, crm)
    return state, fresh


def _has_any_table(conn: Connection, crm: "Crm") -> bool:
    names = set(crm.tables) | {IDEMPOTENCY_TABLE}
    return bool(names.intersection(inspect(conn).get_table_names()))


def create_fresh(crm: "Crm", lay: Layout) -> bool:
    """Create an empty database at head (``create_all``, then the heads in ``alembic_version``).
    False if, under the write lock, it turns out another process got there first."""
    with write_connection(crm) as conn:
        _lock(conn)
        if read_rows(conn) or _has_any_table(conn, crm):
            return False
        for md in model_metadatas(crm):
            md.create_all(conn, checkfirst=False)
        stamp(conn, lay)
    return True


def stamp(conn: Connection, lay: Layout) -> None:
    """Write the heads of ``lay``'s branches to ``alembic_version`` (made if missing)."""
    version_table.create(conn, checkfirst=True)
    rows = stamp_rows((b.head for b in lay.branches), lay.revisions)
    conn.execute(insert(version_table), [{"version_num": r} for r in rows])


def create_unversioned(crm: "Crm", lay: Layout) -> None:
    """The missing tables of enabled plugins that ship no migrations (created, never altered)."""
    metadatas = _unversioned_metadatas(crm, lay.unversioned)
    if not metadatas:
        return
    with crm.engine.connect() as conn:
        existing = set(inspect(conn).get_table_names())
    if all(name in existing for md in metadatas for name in md.tables):
        return
    with write_connection(crm) as conn:
        for md in metadatas:
            md.create_all(conn, checkfirst=True)


def _unversioned_metadatas(crm: "Crm", names: Iterable[str]) -> list[MetaData]:
    """What ``crm_register_tables`` of the plugins ``names`` returns (called on them only)."""
    wanted = set(names)
    others = [p for p in crm.pm.get_plugins() if crm.pm.get_name(p) not in wanted]
    results = crm.pm.subset_hook_caller("crm_register_tables", remove_plugins=others)(crm=crm)
    out: dict[int, MetaData] = {}
    for result in results:
        if result is None:
            continue
        for md in [result] if isinstance(result, MetaData) else [t.metadata for t in result]:
            if md is not core_schema.metadata:
                out.setdefault(id(md), md)
    return list(out.values())


def _lock(conn: Connection) -> None:
    """PostgreSQL: one schema change at a time (until the transaction ends). SQLite: BEGIN IMMEDIATE did it."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK_KEY})
