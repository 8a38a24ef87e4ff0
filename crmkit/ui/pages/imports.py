"""The import pages: upload a spreadsheet, map its columns, a dry run, the import with its progress,
the rejects file and undo -- :mod:`crmkit.transfer.jobs` underneath, as the API's ``/imports``.

The upload form posts ``multipart/form-data`` to ``/imports/new``; the web app's
:class:`~crmkit.web.resources.import_uploads.ImportUploads` stores the file before the page runs
(the session checked first) and hands the page its other fields (``csrf``, ``entity``).
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any, Iterator

from starlette.responses import RedirectResponse, Response, StreamingResponse

from ...core.access import WRITE
from ...core.errors import CrmError, PermissionDeniedError, ValidationError
from ...transfer import jobs, runs
from ...transfer.mapping import ENTITIES
from ...transfer.runs import MODES
from ...web.resources.import_uploads import UPLOAD_KEY

if TYPE_CHECKING:  # pragma: no cover
    from ..context import PageContext, UiState


def _require(ctx: "PageContext") -> Any:
    assert ctx.services is not None
    if not ctx.services.access.allows(WRITE):
        raise PermissionDeniedError(ctx._("Your role may not import cards."))
    return ctx.services


def imports_page(ctx: "PageContext", *, error: str = "", status: int = 200) -> Response:
    """The upload form and the latest imports."""
    services = _require(ctx)
    return ctx.page("imports.html", status=status, runs=runs.runs(services, limit=20), entities=ENTITIES,
                    error=error)


def upload(ctx: "PageContext") -> Response:
    services = _require(ctx)
    stored = ctx.request.scope.get(UPLOAD_KEY)
    try:
        if stored is None:
            raise ValidationError(ctx._("Choose a CSV or XLSX file to upload."), field="file")
        found = jobs.create(services, stored.path, ctx.form.get("entity", ""), stored.filename)
    except CrmError as exc:
        return imports_page(ctx, error=exc.message, status=exc.status)
    stored.claimed = True
    return RedirectResponse(f"/imports/{found['id']}", status_code=303)


def import_page(ctx: "PageContext", *, error: str = "", status: int = 200) -> Response:
    """One import: the mapping step while it waits, its progress while it runs, its counts after."""
    services = _require(ctx)
    found = jobs.status(services, int(ctx.request.path_params["id"]))
    dry = found.get("dry_run_result") or {}
    refresh = found["status"] == "running" or dry.get("status") == "running"
    columns = []
    if found["status"] == "uploaded":
        sample = found.get("sample", [])
        for i, header in enumerate(found.get("header", [])):
            values = [row[i] for row in sample if i < len(row) and row[i].strip()][:3]
            columns.append({"index": i, "header": header, "field": found["mapping"].get(header, ""),
                            "sample": values})
    return ctx.page("import.html", status=status, imp=found, dry=dry, columns=columns, refresh=refresh,
                    modes=MODES, error=error, headers={"Refresh": "2"} if refresh else None)


def configure(ctx: "PageContext") -> Response:
    """Save the mapping and mode, then run the dry run or the import the button asked for."""
    services = _require(ctx)
    ident = int(ctx.request.path_params["id"])
    f = ctx.form
    try:
        current = jobs.status(services, ident)
        header = current.get("header", [])
        mapping = {h: f.get(f"col-{i}", "") for i, h in enumerate(header)}
        jobs.configure(services, ident, mapping=mapping, mode=f.get("mode") or None)
        if f.get("action") in ("dry_run", "start"):
            jobs.start(services, ident, dry_run=f["action"] == "dry_run")
    except CrmError as exc:
        return import_page(ctx, error=exc.message, status=exc.status)
    return RedirectResponse(f"/imports/{ident}", status_code=303)


def undo(ctx: "PageContext") -> Response:
    services = _require(ctx)
    ident = int(ctx.request.path_params["id"])
    try:
        runs.undo(services, ident)
    except CrmError as exc:
        return import_page(ctx, error=exc.message, status=exc.status)
    return RedirectResponse(f"/imports/{ident}", status_code=303)


def rejects_csv(ctx: "PageContext") -> Response:
    services = _require(ctx)
    ident = int(ctx.request.path_params["id"])
    rows = runs.reject_rows(services, ident)
    first = next(rows)  # the import is checked (yours, or you are an admin) before any byte is sent
    return StreamingResponse(_csv(first, rows), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="import-{ident}-rejects.csv"'})


def _csv(first: list[Any], rows: Iterator[list[Any]]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(first)
    for n, row in enumerate(rows, start=1):
        writer.writerow(row)
        if n % 500 == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def routes(ui: "UiState") -> list[tuple[str, Any, tuple[str, ...], bool]]:
    return [("/imports", imports_page, ("GET",), True), ("/imports/new", upload, ("POST",), True),
            ("/imports/{id:int}", import_page, ("GET",), True), ("/imports/{id:int}", configure, ("POST",), True),
            ("/imports/{id:int}/undo", undo, ("POST",), True),
            ("/imports/{id:int}/rejects.csv", rejects_csv, ("GET",), True)]
