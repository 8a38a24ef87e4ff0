"""Importing a spreadsheet: records in batches, one transaction each, with a checkpoint.

Each batch is one transaction holding its cards, their events (hooks run once per batch), the
record of what each row did (``crm_import_rows``: the card carries the import id), the rejects
and the run's counts and checkpoint. A killed import resumes after the last committed batch, so
no row is written twice; rows read again are never counted twice.

A batch never holds two records with the same duplicate key: the second one starts the next
batch, where it meets the first one's card in the database (skipped, or an update).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Sequence

import attrs
from sqlalchemy import insert, select, update

from ..core.errors import ConflictError, CrmError, ValidationError
from . import mapping as mappings
from .bulk import BulkInsert
from .runs import ImportRun, check_mode, load_mapping, run_record, sha256_of
from .sources import Record, Source, open_source
from .tables import import_rejects, import_rows, imports
from .targets import TARGETS, Key, Prepared, Target, _user, _users

if TYPE_CHECKING:  # pragma: no cover
    from ..core.services import Services
    from ..core.unit_of_work import Tx

DRY_REJECTS = 100
"""A dry run keeps this many of its rejected records (:attr:`Importer.dry_rejects`); it writes none."""

Progress = Callable[[int], None]
"""Called after each batch with the number of records done so far."""


@attrs.define
class Rejected:
    number: int
    line: int
    field: str
    reason: str
    cells: Sequence[str]


class _DryRun(Exception):
    """Raised to roll a dry run's batch back."""


class Importer:
    """Imports files as one user (``services``), in batches of ``batch_size`` records."""

    def __init__(self, services: "Services", *, batch_size: int = 1000, progress: Progress | None = None) -> None:
        if not isinstance(batch_size, int) or not 1 <= batch_size <= 50_000:
            raise ValidationError("batch_size: must be an integer from 1 to 50000", field="batch_size")
        self.services = services
        self.crm = services.crm
        self.batch_size = batch_size
        self.progress = progress

    def preview(self, path: str | Path, entity: str, **source_options: Any) -> dict[str, Any]:
        """The header, the guessed mapping and how the file was read (the mapping step)."""
        mappings.check_entity(entity)
        source = open_source(path, **source_options)
        return {"header": list(source.header), "mapping": mappings.guess(self.crm, entity, source.header),
                "fields": mappings.fields(self.crm, entity), **source.describe()}

    def start(
        self, path: str | Path, entity: str, *, mode: str = "create-only", mapping: Mapping[str, str] | None = None,
        mapping_name: str | None = None, dry_run: bool = False, file_name: str | None = None,
        encoding: str | None = None, delimiter: str | None = None, sheet: str | None = None,
        prepared: Callable[[int], None] | None = None,
    ) -> ImportRun:
        """Import ``path`` as ``entity`` cards; ``prepared(import_id)`` is told the run's id before any row."""
        entity = mappings.check_entity(entity)
        mode = check_mode(mode)
        self.services.access.require("cards.write", f"import {entity}s")
        path = Path(path)
        source = open_source(path, encoding=encoding, delimiter=delimiter, sheet=sheet)
        if not source.header:
            raise ValidationError("file: is empty (no header row)", field="file")
        if mapping is None and mapping_name:
            mapping = load_mapping(self.services, mapping_name, entity)
        checked = (mappings.check(self.crm, entity, source.header, mapping) if mapping is not None
                   else mappings.guess(self.crm, entity, source.header))
        if not any(checked.values()):
            raise ValidationError("mapping: no column maps to a field (give a mapping)", field="mapping")
        options = {**source.describe(), "batch_size": self.batch_size}
        name = (file_name or path.name)[:255]
        if dry_run:
            run = ImportRun(None, entity, name, mode, True, "running", 0, 0, 0, 0, 0, checked, options)
            return self._run(run, source, checked, 0)
        with self.crm.transaction(self.services.actor_id) as tx:
            ident = int(tx.conn.execute(insert(imports).values(
                entity=entity, file_name=name, file_sha256=sha256_of(path), mode=mode, dry_run=False,
                status="running", mapping=checked, options=options, actor_id=self.services.actor_id,
                created_at=tx.now, updated_at=tx.now,
            )).inserted_primary_key[0])
        if prepared is not None:
            prepared(ident)
        run = ImportRun(ident, entity, name, mode, False, "running", 0, 0, 0, 0, 0, checked, options)
        return self._run(run, source, checked, 0)

    def begin(self, import_id: int, path: str | Path) -> ImportRun:
        """Run an import a web upload prepared (status ``uploaded``: its file, mapping and mode set)."""
        return self.run_claimed(self.claim(import_id), path)

    def claim(self, import_id: int) -> ImportRun:
        """Mark an uploaded import ``running`` (two processes starting it: one gets a :class:`ConflictError`)."""
        from .runs import _row

        self.services.access.require("cards.write", "import cards")
        with self.crm.transaction(self.services.actor_id) as tx:
            row = _row(self.services, tx.conn, import_id)
            claimed = tx.conn.execute(update(imports).where(imports.c.id == row.id, imports.c.status == "uploaded")
                                      .values(status="running", updated_at=tx.now)).rowcount
            if claimed != 1:
                raise ConflictError(f"import {row.id}: is {row.status}, not waiting to start", field="import_id")
        return attrs.evolve(run_record(row), status="running")

    def run_claimed(self, run: ImportRun, path: str | Path) -> ImportRun:
        """Run an import :meth:`claim` marked running, from its first record."""
        try:
            if not any(dict(run.mapping).values()):
                raise ValidationError("mapping: no column maps to a field (give a mapping)", field="mapping")
            opts = run.options
            source = open_source(Path(path), encoding=opts.get("encoding"), delimiter=opts.get("delimiter"),
                                 sheet=opts.get("sheet") or None)
        except CrmError as exc:
            self._failed(run, exc)
            raise
        return self._run(run, source, dict(run.mapping), 0)

    def resume(self, import_id: int, path: str | Path) -> ImportRun:
        """Continue a killed (or failed) import from its checkpoint; the file must be the same."""
        from .runs import _row

        path = Path(path)
        with self.crm.engine.connect() as conn:
            row = _row(self.services, conn, import_id)
        if row.status not in ("running", "failed"):
            raise ValidationError(f"import {row.id}: is {row.status}, nothing to resume", field="import_id")
        if sha256_of(path) != row.file_sha256:
            raise ValidationError(f"file: not the file import {row.id} was started with (its content differs)",
                                  field="file")
        opts = row.options
        source = open_source(path, encoding=opts.get("encoding"), delimiter=opts.get("delimiter"),
                             sheet=opts.get("sheet") or None)
        return self._run(run_record(row), source, dict(row.mapping), row.checkpoint)

    # -- the loop ----------------------------------------------------------------------------------

    def _run(self, run: ImportRun, source: Source, mapping: dict[str, str], checkpoint: int) -> ImportRun:
        target = TARGETS[run.entity](self.services)
        self._seen: dict[Key, str] = {}  # dry runs only: the keys earlier batches would have written
        self.dry_rejects: list[Rejected] = []  # dry runs only: the first DRY_REJECTS rejected records
        self._counts = {"created": 0, "updated": 0, "rejected": 0, "skipped": 0}
        header = source.header
        self._columns = mappings.columns(mapping, header)
        items: list[Prepared | Rejected] = []
        keys: set[Key] = set()
        last = checkpoint
        try:
            for record in source.records():
                if record.number <= checkpoint:
                    continue
                last = record.number
                item = self._prepare(target, header, mapping, record)
                if isinstance(item, Prepared) and keys & set(item.keys):
                    self._flush(run, target, items)
                    items, keys = [], set()
                items.append(item)
                if isinstance(item, Prepared):
                    keys.update(item.keys)
                if len(items) >= self.batch_size:
                    self._flush(run, target, items)
                    items, keys = [], set()
            self._flush(run, target, items)
        except BaseException as exc:
            if run.id is not None and not isinstance(exc, KeyboardInterrupt):
                self._failed(run, exc)
            raise
        if run.dry_run:
            c = self._counts
            return attrs.evolve(run, status="done", total=last, **c)
        with self.crm.transaction(self.services.actor_id) as tx:
            row = tx.conn.execute(select(imports).where(imports.c.id == run.id)).one()
            total = row.created + row.updated + row.rejected + row.skipped
            if total != row.checkpoint:  # never: every record is counted once, in its batch
                raise CrmError(f"import {run.id}: counts {total} != {row.checkpoint} records")
            tx.conn.execute(update(imports).where(imports.c.id == run.id).values(
                status="done", error=None, updated_at=tx.now, finished_at=tx.now))
            row = tx.conn.execute(select(imports).where(imports.c.id == run.id)).one()
        return run_record(row)

    def _failed(self, run: ImportRun, exc: BaseException) -> None:
        with self.crm.transaction(self.services.actor_id) as tx:
            tx.conn.execute(update(imports).where(imports.c.id == run.id).values(
                status="failed", error=f"{type(exc).__name__}: {exc}"[:2000], updated_at=tx.now))

    def _prepare(self, target: Target, header: Sequence[str], mapping: Mapping[str, str],
                 record: Record) -> Prepared | Rejected:
        try:
            if record.problem:
                raise ValidationError(f"row: {record.problem}", field="row")
            extra = record.cells[len(header):]
            if any(c.strip() for c in extra):
                raise ValidationError(f"row: has {len(record.cells)} cells, the header has {len(header)}", field="row")
            values = mappings.extract_columns(self._columns, record.cells)
            if not values:
                raise ValidationError("row: no mapped column has a value", field="row")
            prepared = target.prepare(record.number, record.line, values)
        except CrmError as exc:
            return Rejected(record.number, record.line, _field(exc), exc.message, record.cells)
        prepared.cells = record.cells
        return prepared

    def _flush(self, run: ImportRun, target: Target, items: list[Prepared | Rejected]) -> None:
        if not items:
            return
        try:
            self._write(run, target, items)
        except _DryRun:
            pass
        except CrmError:
            if len(items) == 1:
                raise
            for item in items:  # a hook vetoed the batch: find the row, one transaction per record
                try:
                    self._write(run, target, [item])
                except _DryRun:
                    pass
                except CrmError as exc:
                    assert isinstance(item, Prepared)
                    self._write(run, target, [Rejected(item.number, item.line, _field(exc), exc.message,
                                                       item.cells)])
        if self.progress is not None:
            self.progress(items[-1].number)

    def _write(self, run: ImportRun, target: Target, items: list[Prepared | Rejected]) -> None:
        """One batch, one transaction (a dry run's is rolled back)."""
        counts = {"created": 0, "updated": 0, "rejected": 0, "skipped": 0}
        done: list[dict[str, Any]] = []
        rejects = [i for i in items if isinstance(i, Rejected)]
        with self.crm.transaction(self.services.actor_id) as tx:
            batch = [i for i in items if isinstance(i, Prepared)]
            found = target.matches(tx.conn, batch) if batch else {}
            creates: list[Prepared] = []
            for p in batch:
                match = next((found[k] for k in p.keys if k in found), None)
                seen = next((self._seen[k] for k in p.keys if k in self._seen), None) if run.dry_run else None
                if match is None and seen is None:
                    if run.mode == "update":
                        rejects.append(Rejected(p.number, p.line, "row", "no existing card matches it (mode update)",
                                                p.cells))
                    else:
                        creates.append(p)
                    continue
                if run.mode == "create-only":
                    counts["skipped"] += 1
                    done.append(_done(run, p, match or 0, "skipped"))
                    continue
                if match is None:  # dry run: a card an earlier row of the file would have made
                    counts["updated"] += 1
                    continue
                outcome = self._row(tx, lambda: target.update(tx, match, p))
                if isinstance(outcome, CrmError):
                    rejects.append(Rejected(p.number, p.line, _field(outcome), outcome.message, p.cells))
                    continue
                counts["updated"] += 1
                done.append(_done(run, p, match, "updated", outcome))
            self._create(tx, run, target, creates, counts, done, rejects)
            counts["rejected"] = len(rejects)
            for d in done:  # a created card's own event says where it came from (one event per card)
                if d["action"] == "updated":
                    tx.emit(f"{run.entity}.imported", run.entity, d["entity_id"], data=_origin(run, d["line"], "updated"))
            if run.dry_run:
                self.dry_rejects += sorted(rejects, key=lambda r: r.number)[:DRY_REJECTS - len(self.dry_rejects)]
                for k, v in counts.items():
                    self._counts[k] += v
                for p in batch:
                    for key in p.keys:
                        self._seen.setdefault(key, "")
                del tx.events[:]
                raise _DryRun()
            if done:
                _ROWS(tx.conn, done, {"import_id": run.id})
            if rejects:
                _REJECTS(tx.conn, [{"record": r.number, "line": r.line, "field": r.field[:100], "reason": r.reason,
                                    "cells": list(r.cells)} for r in rejects], {"import_id": run.id})
            i = imports.c
            tx.conn.execute(update(imports).where(i.id == run.id).values(
                created=i.created + counts["created"], updated=i.updated + counts["updated"],
                rejected=i.rejected + counts["rejected"], skipped=i.skipped + counts["skipped"],
                checkpoint=items[-1].number, updated_at=tx.now))

    def _create(self, tx: "Tx", run: ImportRun, target: Target, creates: list[Prepared], counts: dict[str, int],
                done: list[dict[str, Any]], rejects: list[Rejected]) -> None:
        bulk = hasattr(target, "create_many")
        ready: list[Prepared] = []
        users = _users(self.services, tx.conn) if bulk and any("responsible_id" in p.values for p in creates) else {}
        for p in creates:
            if bulk:
                outcome = None
                if p.refs or "responsible_id" in p.values:
                    outcome = self._row(tx, lambda: self._resolve_bulk(tx, target, p, users))
                if isinstance(outcome, CrmError):
                    rejects.append(Rejected(p.number, p.line, _field(outcome), outcome.message, p.cells))
                else:
                    ready.append(p)
                continue

            def one() -> int:
                target.resolve(tx.conn, p)
                mark = len(tx.events)
                ident = target.create(tx, p)
                for i in range(mark, len(tx.events)):  # the card's created event carries its origin
                    e = tx.events[i]
                    if e.type == f"{run.entity}.created" and e.entity_id == ident:
                        tx.events[i] = attrs.evolve(e, data={**e.data, **_origin(run, p.line, "created")})
                return ident

            made = self._row(tx, one)
            if isinstance(made, CrmError):
                rejects.append(Rejected(p.number, p.line, _field(made), made.message, p.cells))
            else:
                counts["created"] += 1
                done.append(_done(run, p, made, "created"))
        if ready:
            ids = target.create_many(tx, ready, lambda p: _origin(run, p.line, "created"))  # type: ignore[attr-defined]
            for p, ident in zip(ready, ids):
                counts["created"] += 1
                done.append(_done(run, p, ident, "created"))

    def _resolve_bulk(self, tx: "Tx", target: Target, p: Prepared, users: Mapping[str, int]) -> None:
        target.resolve(tx.conn, p)
        if "responsible_id" in p.values:
            p.values["responsible_id"] = _user(users, p.values["responsible_id"], self.services.actor_id)

    @staticmethod
    def _row(tx: "Tx", work: Callable[[], Any]) -> Any:
        """``work()`` in a savepoint: a failing row leaves no rows and no events behind."""
        mark = len(tx.events)
        try:
            with tx.conn.begin_nested():
                return work()
        except CrmError as exc:
            del tx.events[mark:]
            return exc




_ROWS = BulkInsert(import_rows, ["import_id", "record", "line", "entity_type", "entity_id", "action", "external_id",
                                  "before"])
_REJECTS = BulkInsert(import_rejects, ["import_id", "record", "line", "field", "reason", "cells"])


def _origin(run: ImportRun, line: int, action: str) -> dict[str, Any]:
    """What a card's event says of the import that made or changed it (its timeline entry)."""
    return {"source": "import", "import_id": run.id, "file": run.file_name, "line": line, "action": action}


def _done(run: ImportRun, p: Prepared, ident: int, action: str, before: Any = None) -> dict[str, Any]:
    return {"record": p.number, "line": p.line, "entity_type": run.entity, "entity_id": ident, "action": action,
            "external_id": p.external_id, "before": before}


def _field(exc: CrmError) -> str:
    field = getattr(exc, "field", None) or exc.message.split(":", 1)[0]
    return str(field)[:100]


