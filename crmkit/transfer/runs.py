"""Import runs as records, saved mappings, the rejects file and undoing an import."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Iterator, Mapping

import attrs
from sqlalchemy import Row, delete, select, update

from ..core import schema
from ..core.access import WRITE
from ..core.errors import NotFoundError, ValidationError
from ..core.services.base import check_id, check_text, read_connection
from .mapping import check_entity
from .tables import import_mappings, import_rejects, import_rows, imports

if TYPE_CHECKING:  # pragma: no cover
    from ..core.services import Services

MODES = ("create-only", "update", "upsert")


@attrs.frozen
class ImportRun:
    """One import: its counts add up, ``total == created + updated + rejected + skipped``."""

    id: int | None
    entity: str
    file_name: str
    mode: str
    dry_run: bool
    status: str
    total: int
    created: int
    updated: int
    rejected: int
    skipped: int
    mapping: Mapping[str, str]
    options: Mapping[str, Any]
    error: str | None = None
    created_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def accepted(self) -> int:
        return self.created + self.updated

    def summary(self) -> str:
        """``12 rows: 10 accepted (8 created, 2 updated), 1 rejected, 1 skipped (duplicates)``."""
        what = "would be " if self.dry_run else ""
        return (f"{self.total} rows: {self.accepted} {what}accepted ({self.created} {what}created, "
                f"{self.updated} {what}updated), {self.rejected} rejected, {self.skipped} skipped (duplicates)")

    def to_json(self) -> dict[str, Any]:
        out = attrs.asdict(self)
        out["accepted"] = self.accepted
        for k in ("created_at", "finished_at"):
            out[k] = out[k].isoformat() if out[k] is not None else None
        out["mapping"] = dict(self.mapping)
        out["options"] = dict(self.options)
        return out


def run_record(row: Row[Any]) -> ImportRun:
    return ImportRun(
        id=row.id, entity=row.entity, file_name=row.file_name, mode=row.mode, dry_run=row.dry_run,
        status=row.status, total=row.checkpoint, created=row.created, updated=row.updated, rejected=row.rejected,
        skipped=row.skipped, mapping=row.mapping, options=row.options, error=row.error, created_at=row.created_at,
        finished_at=row.finished_at,
    )


def _row(services: "Services", conn: Any, import_id: Any) -> Row[Any]:
    ident = check_id(import_id, "import_id")
    row = conn.execute(select(imports).where(imports.c.id == ident)).first()
    access = services.access
    if row is None or (not access.unrestricted and row.actor_id != services.actor_id):
        raise NotFoundError(f"import {ident} does not exist")
    return row


def get(services: "Services", import_id: Any) -> ImportRun:
    """An import run the acting user started (admins: any)."""
    with read_connection(services.crm) as conn:
        return run_record(_row(services, conn, import_id))


def runs(services: "Services", *, limit: int = 50) -> list[ImportRun]:
    """The latest imports (the acting user's; admins: everyone's), newest first."""
    query = select(imports).order_by(imports.c.id.desc()).limit(max(1, min(limit, 500)))
    if not services.access.unrestricted:
        query = query.where(imports.c.actor_id == services.actor_id)
    with read_connection(services.crm) as conn:
        return [run_record(r) for r in conn.execute(query)]


def rejects(services: "Services", import_id: Any) -> Iterator[dict[str, Any]]:
    """The rejected records of an import, in file order (streamed in pages)."""
    with read_connection(services.crm) as conn:
        _row(services, conn, import_id)
    r = import_rejects.c
    after = 0
    while True:
        with read_connection(services.crm) as conn:
            page = conn.execute(select(import_rejects).where(r.import_id == int(import_id), r.record > after)
                                .order_by(r.record).limit(1000)).all()
        for row in page:
            yield {"record": row.record, "line": row.line, "field": row.field, "reason": row.reason,
                   "cells": list(row.cells)}
        if len(page) < 1000:
            return
        after = page[-1].record


def reject_rows(services: "Services", import_id: Any, header: list[str] | None = None) -> Iterator[list[Any]]:
    """The rejects file's rows: ``line``, ``field``, ``reason``, then the original row's cells (a
    formula-like cell guarded as an export's), after a header row."""
    from .exporting import safe_cell

    run = get(services, import_id)
    yield ["line", "field", "reason", *(header or run.options.get("header") or list(run.mapping))]
    for item in rejects(services, import_id):
        yield [item["line"], item["field"], safe_cell(item["reason"]), *map(safe_cell, item["cells"])]


def write_rejects(services: "Services", import_id: Any, out: IO[str], header: list[str] | None = None) -> int:
    """The rejects as CSV (:func:`reject_rows`). Returns the count."""
    writer = csv.writer(out)
    n = -1
    for row in reject_rows(services, import_id, header):
        writer.writerow(row)
        n += 1
    return n


# -- saved mappings --------------------------------------------------------------------------------

def save_mapping(services: "Services", name: str, entity: str, mapping: Mapping[str, str]) -> None:
    """Save (or replace) a mapping under ``name``."""
    name = check_text(name, "name", required=True, max_length=100)
    check_entity(entity)
    if not isinstance(mapping, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()):
        raise ValidationError("mapping: expected an object {header: field}", field="mapping")
    with services.crm.transaction(services.actor_id) as tx:
        services.access.require(WRITE, "save import mappings")
        tx.conn.execute(delete(import_mappings).where(import_mappings.c.name == name))
        tx.conn.execute(import_mappings.insert().values(name=name, entity=entity, mapping=dict(mapping),
                                                        updated_at=tx.now))


def load_mapping(services: "Services", name: str, entity: str | None = None) -> dict[str, str]:
    with read_connection(services.crm) as conn:
        row = conn.execute(select(import_mappings).where(import_mappings.c.name == name)).first()
    if row is None:
        raise ValidationError(f"mapping: no saved mapping {str(name)[:100]!r}", field="mapping")
    if entity is not None and row.entity != entity:
        raise ValidationError(f"mapping: {name!r} is a mapping for {row.entity}s, not {entity}s", field="mapping")
    return dict(row.mapping)


def mappings(services: "Services") -> list[dict[str, Any]]:
    with read_connection(services.crm) as conn:
        return [{"name": r.name, "entity": r.entity, "mapping": dict(r.mapping)}
                for r in conn.execute(select(import_mappings).order_by(import_mappings.c.name))]


# -- undo ------------------------------------------------------------------------------------------

def undo(services: "Services", import_id: Any, *, batch_size: int = 500) -> dict[str, int]:
    """Undo an import: the cards it created are archived, the fields it changed get their old values
    back (through the services: events, hooks, record rules). Counts of each; the run is ``undone``."""
    run = get(services, import_id)
    if run.status == "undone":
        raise ValidationError(f"import {run.id}: already undone", field="import_id")
    if run.status == "uploaded":
        raise ValidationError(f"import {run.id}: has not started; nothing to undo", field="import_id")
    if run.status == "running":
        raise ValidationError(f"import {run.id}: still running (resume it or let it finish first)", field="import_id")
    svc = getattr(services, {"contact": "contacts", "company": "companies", "lead": "leads", "deal": "deals"}[run.entity])
    r = import_rows.c
    counts = {"archived": 0, "restored": 0}
    after = 0
    while True:
        with services.crm.transaction(services.actor_id) as tx:
            page = tx.conn.execute(select(import_rows).where(r.import_id == run.id, r.record > after,
                                                             r.action != "skipped")
                                   .order_by(r.record).limit(batch_size)).all()
            table = schema.CARD_TABLES[run.entity]
            for row in page:
                live = tx.conn.scalar(select(table.c.archived_at).where(table.c.id == row.entity_id))
                if row.action == "created":
                    exists = tx.conn.scalar(select(table.c.id).where(table.c.id == row.entity_id))
                    if exists is not None and live is None:
                        svc.archive(row.entity_id)
                        counts["archived"] += 1
                elif row.before:
                    svc.update(row.entity_id, dict(row.before))
                    counts["restored"] += 1
                tx.emit(f"{run.entity}.import_undone", run.entity, row.entity_id, data={"import_id": run.id})
            if len(page) < batch_size:
                tx.conn.execute(update(imports).where(imports.c.id == run.id).values(status="undone", updated_at=tx.now))
                return counts
        after = page[-1].record


def check_mode(mode: Any) -> str:
    if mode not in MODES:
        raise ValidationError(f"mode: {str(mode)[:40]!r} is not one of {', '.join(MODES)}", field="mode")
    return str(mode)


def sha256_of(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


