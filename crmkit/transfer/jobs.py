"""Import jobs for the web: an uploaded file becomes an import waiting for its mapping, then runs in
the background while any process answers how far it got.

1. :func:`create` reads the stored upload (the header, a few rows, the row count), guesses the
   mapping and records the import as ``uploaded``;
2. :func:`configure` changes its mapping (or takes a saved one) and its mode;
3. :func:`start` runs a dry run (counts and the first rejects kept with the import, nothing else
   written) or the import itself, in a thread of the process asked; the import's batches commit its
   counts and checkpoint, so :func:`status` reads the progress from the database;
4. an import whose process died (no batch for :data:`STALE_SECONDS`) or that failed is
   :func:`resume` d from its checkpoint; a finished one is undone with :func:`crmkit.transfer.runs.undo`.

Uploads are kept in ``<[settings.files] folder>/imports/`` (shared by the deployment's processes, as
documents are) until their import is done.
"""

from __future__ import annotations

import logging
import secrets
import threading
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from sqlalchemy import insert, update

from ..core.access import WRITE
from ..core.errors import ConflictError, CrmError, ValidationError
from ..core.files.config import file_settings
from . import mapping as mappings
from . import runs
from .importer import Importer
from .runs import _row, check_mode, load_mapping, run_record, save_mapping, sha256_of
from .sources import open_source
from .tables import imports

if TYPE_CHECKING:  # pragma: no cover
    from ..core.app import Crm
    from ..core.services import Services

log = logging.getLogger("crmkit.transfer")

UPLOADED = "uploaded"
STALE_SECONDS = 120
"""A running import whose last batch is older than this (and that no thread of this process runs)
may be resumed: its process is taken to be gone."""
SAMPLE_ROWS = 5

_RUNNING: "weakref.WeakKeyDictionary[Crm, set[tuple[str, int]]]" = weakref.WeakKeyDictionary()
"""Per deployment, the jobs this process runs: ("import", id) and ("dry run", id)."""
_LOCK = threading.Lock()


def upload_folder(crm: "Crm") -> Path:
    """Where uploaded import files wait (created on first use)."""
    folder = file_settings(crm).folder / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def new_upload(crm: "Crm", file_name: str | None) -> Path:
    """A fresh path for an upload (a random name; the suffix of ``file_name`` when it is .csv/.xlsx...)."""
    suffix = Path(file_name or "").suffix.lower()
    suffix = suffix if suffix in (".csv", ".txt", ".tsv", ".xlsx") else ""
    return upload_folder(crm) / f"{secrets.token_hex(16)}{suffix}"


def stored_path(crm: "Crm", run: Any) -> Path:
    name = Path(str(run.options.get("stored", ""))).name
    if not name:
        raise ValidationError(f"import {run.id}: was not uploaded through the web (use the CLI)", field="import_id")
    return upload_folder(crm) / name


def create(services: "Services", path: Path, entity: str, file_name: str | None) -> dict[str, Any]:
    """Record the upload at ``path`` as an import of ``entity`` cards waiting for its mapping; returns
    :func:`status` with the mapping step's material (header, guessed mapping, fields, sample rows)."""
    services.access.require(WRITE, "import cards")
    entity = mappings.check_entity(entity)
    name = (Path(file_name).name if file_name else path.name)[:255] or path.name
    source = open_source(path)
    if not source.header:
        raise ValidationError("file: is empty (no header row)", field="file")
    sample: list[list[str]] = []
    rows = 0
    for record in source.records():
        rows += 1
        if len(sample) < SAMPLE_ROWS:
            sample.append(list(record.cells))
    guessed = mappings.guess(services.crm, entity, source.header)
    options = {**source.describe(), "batch_size": 1000, "stored": path.name, "rows": rows,
               "header": list(source.header), "sample": sample}
    with services.crm.transaction(services.actor_id) as tx:
        ident = int(tx.conn.execute(insert(imports).values(
            entity=entity, file_name=name, file_sha256=sha256_of(path), mode="create-only", dry_run=False,
            status=UPLOADED, mapping=guessed, options=options, actor_id=services.actor_id,
            created_at=tx.now, updated_at=tx.now)).inserted_primary_key[0])
    return status(services, ident)


def status(services: "Services", import_id: Any) -> dict[str, Any]:
    """The import with its progress (``done`` of ``rows`` records), its dry run's result if any, and
    while it waits for its mapping: the file's header, a few rows and the fields a column may take."""
    run = runs.get(services, import_id)
    out = run.to_json()
    options = dict(out.pop("options"))
    rows = int(options.get("rows", 0) or 0)
    out["file"] = {k: options[k] for k in ("format", "encoding", "delimiter", "sheet") if k in options}
    out["progress"] = {"done": run.total, "rows": rows,
                       "percent": 100.0 if run.status == "done" else round(100.0 * run.total / rows, 1) if rows else 0.0,
                       "running_here": ("import", run.id) in _RUNNING.get(services.crm, set())}
    out["dry_run_result"] = options.get("dry_run_result")
    if run.status == UPLOADED:
        out["header"] = options.get("header", [])
        out["sample"] = options.get("sample", [])
        out["fields"] = mappings.fields(services.crm, run.entity)
    return out


def configure(services: "Services", import_id: Any, *, mapping: Mapping[str, Any] | None = None,
              mapping_name: str | None = None, mode: str | None = None,
              save_as: str | None = None) -> dict[str, Any]:
    """Set an uploaded import's mapping (or a saved one's) and mode; ``save_as`` saves the mapping too."""
    services.access.require(WRITE, "import cards")
    run = runs.get(services, import_id)
    if run.status != UPLOADED:
        raise ConflictError(f"import {run.id}: is {run.status}; its mapping can no longer change", field="import_id")
    header = run.options.get("header", list(run.mapping))
    values: dict[str, Any] = {}
    if mapping_name:
        mapping = load_mapping(services, mapping_name, run.entity)
        mapping = {h: f for h, f in mapping.items() if h in header}
    if mapping is not None:
        values["mapping"] = mappings.check(services.crm, run.entity, header, mapping)
    if mode is not None:
        values["mode"] = check_mode(mode)
    if save_as:
        save_mapping(services, save_as, run.entity, values.get("mapping", run.mapping))
    if values:
        with services.crm.transaction(services.actor_id) as tx:
            changed = tx.conn.execute(update(imports).where(imports.c.id == run.id, imports.c.status == UPLOADED)
                                      .values(**values, options={**run.options, "dry_run_result": None},
                                              updated_at=tx.now)).rowcount
            if changed != 1:
                raise ConflictError(f"import {run.id}: has started; its mapping can no longer change",
                                    field="import_id")
    return status(services, run.id)


def start(services: "Services", import_id: Any, *, dry_run: bool = False) -> dict[str, Any]:
    """Start the dry run or the import of an uploaded import in a background thread; returns its status."""
    services.access.require(WRITE, "import cards")
    run = runs.get(services, import_id)
    if run.status != UPLOADED:
        raise ConflictError(f"import {run.id}: is {run.status}, not waiting to start", field="import_id")
    if not any(run.mapping.values()):
        raise ValidationError("mapping: no column maps to a field (give a mapping)", field="mapping")
    path = stored_path(services.crm, run)
    crm, actor = services.crm, services.actor_id
    if dry_run:
        _note_dry_run(crm, actor, run.id, {"status": "running", "done": 0})
        _launch(crm, ("dry run", run.id), lambda: _dry_run(crm, actor, run, path))
    else:
        importer = Importer(crm.as_user(actor))
        claimed = importer.claim(run.id)  # running before the answer, so a poll never sees it waiting
        _launch(crm, ("import", run.id),
                lambda: _import(crm, actor, run.id, path, lambda imp: imp.run_claimed(claimed, path)))
    return status(services, run.id)


def resume(services: "Services", import_id: Any) -> dict[str, Any]:
    """Continue a failed import, or one whose process died, from its checkpoint (in a thread)."""
    services.access.require(WRITE, "import cards")
    run = runs.get(services, import_id)
    crm = services.crm
    if ("import", run.id) in _RUNNING.get(crm, set()):
        raise ConflictError(f"import {run.id}: is running", field="import_id")
    if run.status == "running":
        with crm.engine.connect() as conn:
            last = _row(services, conn, run.id).updated_at
        idle = (crm.clock.now() - last).total_seconds()
        if idle < STALE_SECONDS:
            raise ConflictError(f"import {run.id}: is running (its last batch {idle:.0f} s ago); it may be resumed "
                                f"after {STALE_SECONDS} s without progress", field="import_id")
    elif run.status != "failed":
        raise ConflictError(f"import {run.id}: is {run.status}, nothing to resume", field="import_id")
    path = stored_path(crm, run)
    _launch(crm, ("import", run.id),
            lambda: _import(crm, services.actor_id, run.id, path, lambda imp: imp.resume(run.id, path)))
    return status(services, run.id)


def running(crm: "Crm") -> set[int]:
    """The imports this process is running now (dry runs aside)."""
    return {ident for kind, ident in _RUNNING.get(crm, set()) if kind == "import"}


# -- the background work ---------------------------------------------------------------------------

def _launch(crm: "Crm", job: tuple[str, int], work: Callable[[], None]) -> None:
    kind, import_id = job
    with _LOCK:
        mine = _RUNNING.setdefault(crm, set())
        if job in mine:
            raise ConflictError(f"import {import_id}: its {kind} is running", field="import_id")
        mine.add(job)

    def target() -> None:
        try:
            work()
        except Exception:  # the importer has marked the run failed; the log gets the detail
            log.exception("import %s: its %s failed", import_id, kind)
        finally:
            with _LOCK:
                mine.discard(job)

    threading.Thread(target=target, name=f"crmkit-{kind.replace(' ', '-')}-{import_id}", daemon=True).start()


def _import(crm: "Crm", actor: int | None, import_id: int, path: Path, go: Callable[[Importer], Any]) -> None:
    run = go(Importer(crm.as_user(actor)))  # a failure after its start is recorded on the run by the importer
    if run.status == "done":
        path.unlink(missing_ok=True)


def _dry_run(crm: "Crm", actor: int | None, run: Any, path: Path) -> None:
    services = crm.as_user(actor)
    importer = Importer(services, progress=lambda done: _note_dry_run(crm, actor, run.id,
                                                                       {"status": "running", "done": done}))
    opts = run.options
    try:
        result = importer.start(path, run.entity, mode=run.mode, mapping=run.mapping, dry_run=True,
                                file_name=run.file_name, encoding=opts.get("encoding"),
                                delimiter=opts.get("delimiter"), sheet=opts.get("sheet") or None)
    except CrmError as exc:
        _note_dry_run(crm, actor, run.id, {"status": "failed", "error": exc.message})
        return
    except Exception as exc:
        _note_dry_run(crm, actor, run.id, {"status": "failed", "error": f"{type(exc).__name__}"})
        raise
    _note_dry_run(crm, actor, run.id, {
        "status": "done", "done": result.total, "total": result.total, "accepted": result.accepted,
        "created": result.created, "updated": result.updated, "rejected": result.rejected,
        "skipped": result.skipped, "mode": run.mode, "mapping": dict(run.mapping),
        "rejects": [{"line": r.line, "field": r.field, "reason": r.reason, "cells": list(r.cells)}
                    for r in importer.dry_rejects]})


def _note_dry_run(crm: "Crm", actor: int | None, import_id: int, value: dict[str, Any]) -> None:
    """Keep a dry run's progress or result with the uploaded import (while it is still uploaded)."""
    from sqlalchemy import select

    with crm.transaction(actor) as tx:
        row = tx.conn.execute(select(imports.c.options, imports.c.status).where(imports.c.id == import_id)).first()
        if row is None or row.status != UPLOADED:
            return
        tx.conn.execute(update(imports).where(imports.c.id == import_id).values(
            options={**row.options, "dry_run_result": value}))


__all__ = ["configure", "create", "new_upload", "resume", "start", "status", "run_record"]
