"""``crmkit db backup FILE`` and ``crmkit db restore FILE`` (:mod:`crmkit.ops.backup`)."""

from __future__ import annotations

from pathlib import Path

import click

from ...core.app import Crm
from ...ops import backup as ops
from ..output import emit_json
from ..params import json_option
from ..state import pass_state


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@json_option
def backup(file: Path, as_json: bool) -> None:
    """Write the database and the cards' stored files to FILE (a tar archive, mode 0600).

    Safe while the deployment serves: SQLite is copied with its online backup API, PostgreSQL
    with pg_dump (its client tools must be installed); the files are those the copy refers to."""
    state = pass_state()
    crm = Crm(state.settings(), setup=False)
    try:
        report = ops.backup(crm, file)
    finally:
        crm.close()
    if as_json or state.json:
        emit_json({"file": str(report.path), "database": report.database, "files": report.files,
                   "file_bytes": report.file_bytes, "missing": list(report.missing)})
        return
    click.echo(f"Backed up the {report.database} database and {report.files} stored file(s) "
               f"({report.file_bytes} bytes) to {report.path}")
    if report.missing:
        click.echo(f"Warning: {len(report.missing)} file(s) the database names were deleted while the backup ran",
                   err=True)


@click.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask before replacing the deployment's database.")
@json_option
def restore(file: Path, yes: bool, as_json: bool) -> None:
    """Replace the deployment's database with the one in FILE (made by `crmkit db backup`) and put back
    its stored files. Stop the servers and workers first."""
    state = pass_state()
    settings = state.settings()
    if not yes:
        click.confirm(f"Replace the database of {state.config} with the backup {file}?", abort=True)
    report = ops.restore(settings, file)
    if as_json or state.json:
        emit_json({"database": report.database, "files_restored": report.files_restored,
                   "files_present": report.files_present, "at_head": report.at_head, "behind": list(report.behind)})
        return
    click.echo(f"Restored the {report.database} database from {file}; stored files: {report.files_restored} put "
               f"back, {report.files_present} already there")
    if not report.at_head:
        click.echo(f"The restored schema is behind this installation ({'; '.join(report.behind)}): "
                   "run `crmkit db upgrade`", err=True)
