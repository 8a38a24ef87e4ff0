"""Where a database stands: its ``alembic_version`` rows, read against the deployment's branches."""

from __future__ import annotations

from typing import Sequence

import attrs
from sqlalchemy import Column, Connection, MetaData, PrimaryKeyConstraint, String, Table, select

from ..errors import ConfigError
from .layout import Layout, installed_branches
from .scripts import VERSION_NUM_LENGTH, applied

VERSION_TABLE = "alembic_version"

version_table = Table(
    VERSION_TABLE, MetaData(),
    Column("version_num", String(VERSION_NUM_LENGTH), nullable=False),
    PrimaryKeyConstraint("version_num", name=f"{VERSION_TABLE}_pkc"),
)
"""alembic's own table, as alembic creates it."""

UPGRADE_COMMAND = "crmkit db upgrade"


class SchemaBehindError(ConfigError):
    """The database is behind the code's schema (or was made before crmkit had migrations)."""

    code = "schema_behind"


@attrs.frozen
class BranchState:
    """One branch of the deployment in one database."""

    name: str
    head: str
    current: str | None
    """The newest applied revision of the branch (``None``: none, its tables are not created)."""

    @property
    def at_head(self) -> bool:
        return self.current == self.head

    def describe(self) -> str:
        return f"{self.name} {self.current or 'not created'} -> {self.head}"


@attrs.frozen
class DatabaseState:
    rows: tuple[str, ...] | None
    """The ``alembic_version`` rows (``None``: no such table)."""
    branches: tuple[BranchState, ...]
    layout: Layout
    unknown: tuple[str, ...] = ()
    """Rows no installed code ships (a newer release upgraded the database, or a plugin was uninstalled)."""
    disabled: tuple[BranchState, ...] = ()
    """Branches of installed, disabled plugins whose revisions the rows hold (when they were read)."""

    @property
    def at_head(self) -> bool:
        return all(b.at_head for b in self.branches)

    @property
    def behind(self) -> list[BranchState]:
        return [b for b in self.branches if not b.at_head]


def read_rows(conn: Connection) -> tuple[str, ...] | None:
    if not conn.dialect.has_table(conn, VERSION_TABLE):
        return None
    return tuple(conn.execute(select(version_table.c.version_num)).scalars())


def evaluate(layout: Layout, rows: Sequence[str] | None, *, complete: bool = False) -> DatabaseState:
    """Each enabled branch's current revision.

    A row the enabled branches do not ship is a disabled plugin's revision, which may have folded in
    the core's (alembic keeps only the newest of revisions that depend on each other). When such a row
    hides where an enabled branch stands, or when alembic is to run (``complete``: it needs every row's
    file), the installed plugins' branches are read too and :attr:`DatabaseState.layout` includes them.
    """
    state = _evaluate(layout, rows)
    if state.unknown and (complete or not state.at_head):
        wider = layout.with_branches(installed_branches(b.name for b in layout.branches))
        if len(wider.branches) > len(layout.branches):
            full = _evaluate(wider, rows)
            names = {b.name for b in layout.branches}
            return attrs.evolve(full, branches=tuple(b for b in full.branches if b.name in names),
                                disabled=tuple(b for b in full.branches if b.name not in names))
    return state


def _evaluate(layout: Layout, rows: Sequence[str] | None) -> DatabaseState:
    revisions = layout.revisions
    done = applied(rows or (), revisions)
    states = tuple(_state(b.name, [r.id for r in b.ordered()], b.head, done) for b in layout.branches)
    unknown = tuple(sorted(r for r in rows or () if r not in revisions))
    return DatabaseState(tuple(rows) if rows is not None else None, states, layout, unknown)


def _state(name: str, ordered: list[str], head: str, done: set[str]) -> BranchState:
    current = None
    for rev in ordered:
        if rev in done:
            current = rev
    return BranchState(name=name, head=head, current=current)


def behind_message(state: DatabaseState, *, legacy: bool = False) -> str:
    if legacy:
        return (f"the database was made before crmkit had schema migrations: run `{UPGRADE_COMMAND}` once "
                "(it adopts the existing tables and rows)")
    parts = "; ".join(b.describe() for b in state.behind)
    return f"the database schema is behind this installation ({parts}): run `{UPGRADE_COMMAND}`"


def unknown_message(unknown: Sequence[str]) -> str:
    return (f"the database holds schema revision(s) {', '.join(unknown)} that no installed part of crmkit ships: "
            "it was upgraded by a newer release, or a plugin that made them was uninstalled "
            "(install that release or plugin again; a plugin may stay disabled)")
