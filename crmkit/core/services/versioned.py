"""The version-checked UPDATE of a card, prepared once per table, and the row it leaves.

The same check and answers as ``Service._bump`` (409 naming ``version`` for a stale version or
a concurrent change), through :class:`crmkit.core.prepared.Update`; the caller builds its record
from the returned row instead of reading the card back.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Mapping

from sqlalchemy import Row, Table

from ..errors import ConflictError
from ..prepared import Update
from ..unit_of_work import Tx
from .base import check_id

_UPDATES: dict[str, Update] = {}


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
