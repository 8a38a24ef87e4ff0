"""A card's change under optimistic concurrency, with statements built once.

:func:`locked_row` reads the card to change as ``Service._row(..., lock=True)`` does, with the
locked statement cached per role (``_row`` adds ``FOR UPDATE`` to it on every call, so SQLAlchemy
computes the whole record rule's cache key again each time). :func:`bump` makes the same check
and answers as ``Service._bump`` (409 naming ``version`` for a stale version or a concurrent
change) through :class:`crmkit.core.prepared.Update`; the caller builds its record from the row
it returns instead of reading the card back.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Mapping

from sqlalchemy import Connection, Row, Table

from ..errors import ConflictError
from ..prepared import Update, first
from ..unit_of_work import Tx
from .base import check_id

_UPDATES: dict[str, Update] = {}


def locked_row(service: Any, conn: Connection, id: Any) -> Row[Any]:
    """The card ``id`` to change, locked (PostgreSQL), if the acting user may change it; else the
    404 or 403 of ``Service._row``."""
    ident = check_id(id, "id")
    query = service.access.by_id(service.entity, service.table, write=True, lock=True)
    row = first(conn, query, {"ident": ident})
    return row if row is not None else service._row(conn, ident, lock=True)  # raises the right error


def bump(entity: str, table: Table, tx: Tx, row: Row[Any], values: Mapping[str, Any],
         version: int | None) -> SimpleNamespace:
    """Write ``values`` if the card is still at ``version`` (and at the version read); return the
    row as it now is (``version`` + 1, ``updated_at`` = the command's time)."""
    if version is not None:
        version = check_id(version, "version")
        if version != row.version:
            raise ConflictError(
                f"{entity} {row.id} was changed by someone else (you have version {version}, "
                f"it is at {row.version}); reload it and try again",
                field="version",
            )
    update = _UPDATES.get(table.name)
    if update is None:
        update = _UPDATES[table.name] = Update(table)
    written = {**values, "version": row.version + 1, "updated_at": tx.now}
    if update(tx.conn, row.id, row.version, written) != 1:
        raise ConflictError(f"{entity} {row.id} was changed concurrently; reload it and try again", field="version")
    return SimpleNamespace(**{**row._mapping, **written})
