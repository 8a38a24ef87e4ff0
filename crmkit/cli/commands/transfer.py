"""``crmkit import`` and ``crmkit export``: spreadsheets in and out (see docs/import-export.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable

import click

from ...transfer import Importer, runs
from ...transfer.exporting import FORMATS, export
from ..output import emit_json
from ..params import filter_option, json_option, pairs
from ..params import filters as make_filters
from ..state import pass_state

ENTITY_OF = {"contacts": "contact", "companies": "company", "leads": "lead", "deals": "deal"}


@click.group("import")
def import_() -> None:
    """Import contacts, companies, leads or deals from CSV or XLSX; resume, undo, list imports."""


def _source_options(f: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed([
        click.option("--encoding", help="utf-8, utf-8-sig, cp1251 or latin-1 (default: detected)."),
        click.option("--delimiter", help="The CSV delimiter: ',', ';', '|' or 'tab' (default: detected)."),
        click.option("--sheet", help="The XLSX sheet (default: the first)."),
    ]):
        f = option(f)
    return f


def _delimiter(value: str | None) -> str | None:
    return "\t" if value in ("tab", "\\t") else value


def _progress(path: Path) -> tuple[Any, Callable[[int], None]]:
    """A rich progress bar on stderr (a terminal only); the total is the file's line count."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(stderr=True)
    total = None
    if path.suffix.lower() != ".xlsx":
        with path.open("rb") as fh:
            total = max(0, sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b"")) - 1) or None
    bar = Progress(TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                   console=console, transient=True, disable=not console.is_terminal)
    task = bar.add_task("rows", total=total)
    return bar, lambda done: bar.update(task, completed=done)


def _finish(state: Any, run: Any, rejects: str | None, as_json: bool) -> None:
    written = None
    if rejects and run.id is not None and run.rejected:
        with open(rejects, "w", encoding="utf-8", newline="") as out:
            written = runs.write_rejects(state.services, run.id, out)
    if as_json or state.json:
        emit_json({**run.to_json(), "rejects_file": rejects if written is not None else None})
        return
    prefix = "Dry run: " if run.dry_run else f"Import {run.id}: "
    click.echo(prefix + run.summary())
    if written is not None:
        click.echo(f"Rejected rows: {rejects}")
    elif run.rejected and run.id is not None:
        click.echo(f"See the rejected rows: crmkit import rejects {run.id} --out rejects.csv")


def _entity_command(plural: str) -> click.Command:
    entity = ENTITY_OF[plural]

    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--mode", type=click.Choice(runs.MODES), default="create-only", show_default=True,
                  help="create-only: skip rows matching a card; update: only change matching cards; upsert: both.")
    @click.option("--map", "maps", multiple=True, metavar="HEADER=FIELD",
                  help="Map a column (repeatable; FIELD empty: ignore the column); the rest is guessed.")
    @click.option("--mapping", "mapping_name", help="Use a saved mapping.")
    @click.option("--save-mapping", help="Save the mapping used under this name.")
    @click.option("--dry-run", is_flag=True, help="Check and count everything, write nothing.")
    @click.option("--preview", is_flag=True, help="Only show the header and the guessed mapping.")
    @click.option("--rejects", metavar="PATH", help="Write the rejected rows to this CSV file.")
    @click.option("--batch-size", type=click.IntRange(1, 50_000), default=1000, show_default=True)
    @_source_options
    @json_option
    def command(file: Path, mode: str, maps: tuple[str, ...], mapping_name: str | None, save_mapping: str | None,
                dry_run: bool, preview: bool, rejects: str | None, batch_size: int, encoding: str | None,
                delimiter: str | None, sheet: str | None, as_json: bool) -> None:
        state = pass_state()
        services = state.acting()
        source = {"encoding": encoding, "delimiter": _delimiter(delimiter), "sheet": sheet}
        shown = Importer(services).preview(file, entity, **source)
        mapping = runs.load_mapping(services, mapping_name, entity) if mapping_name else dict(shown["mapping"])
        mapping.update(pairs(maps, "--map"))
        if preview:
            if as_json or state.json:
                emit_json({**shown, "mapping": mapping})
            else:
                for header in shown["header"]:
                    click.echo(f"{header!r} -> {mapping.get(header) or '(not imported)'}")
            return
        bar, tick = _progress(file)
        with bar:
            run = Importer(services, batch_size=batch_size, progress=tick).start(
                file, entity, mode=mode, mapping=mapping, dry_run=dry_run, **source)
        if save_mapping:
            runs.save_mapping(services, save_mapping, entity, run.mapping)
        _finish(state, run, rejects, as_json)

    command.__doc__ = f"Import {plural} from FILE (CSV or XLSX)."
    return click.command(plural)(command)


for _plural in ENTITY_OF:
    import_.add_command(_entity_command(_plural))


@import_.command("resume")
@click.argument("import_id", type=int)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--rejects", metavar="PATH", help="Write the rejected rows to this CSV file.")
@json_option
def resume(import_id: int, file: Path, rejects: str | None, as_json: bool) -> None:
    """Continue an interrupted import from its last committed batch (the same FILE)."""
    state = pass_state()
    services = state.acting()
    bar, tick = _progress(file)
    with bar:
        run = Importer(services, batch_size=int(runs.get(services, import_id).options.get("batch_size", 1000)),
                       progress=tick).resume(import_id, file)
    _finish(state, run, rejects, as_json)


@import_.command("undo")
@click.argument("import_id", type=int)
@json_option
def undo(import_id: int, as_json: bool) -> None:
    """Undo an import: archive the cards it created, restore the fields it changed."""
    state = pass_state()
    counts = runs.undo(state.acting(), import_id)
    if as_json or state.json:
        emit_json(counts)
    else:
        click.echo(state.by(f"Undid import {import_id}: {counts['archived']} cards archived, "
                            f"{counts['restored']} restored"))


@import_.command("list")
@json_option
def list_imports(as_json: bool) -> None:
    """The latest imports."""
    state = pass_state()
    items = runs.runs(state.services)
    if as_json or state.json:
        emit_json([r.to_json() for r in items])
        return
    for r in items:
        click.echo(f"{r.id}  {r.status:8} {r.entity:8} {r.file_name}  {r.summary()}")


@import_.command("show")
@click.argument("import_id", type=int)
@json_option
def show(import_id: int, as_json: bool) -> None:
    """One import's counts and status."""
    state = pass_state()
    run = runs.get(state.services, import_id)
    if as_json or state.json:
        emit_json(run.to_json())
    else:
        click.echo(f"Import {run.id} ({run.status}) of {run.file_name}: {run.summary()}")


@import_.command("rejects")
@click.argument("import_id", type=int)
@click.option("--out", metavar="PATH", help="Write to this file (default: stdout).")
def rejects_command(import_id: int, out: str | None) -> None:
    """The rejected rows as CSV: line, field, reason, the original cells."""
    state = pass_state()
    if out:
        with open(out, "w", encoding="utf-8", newline="") as fh:
            n = runs.write_rejects(state.services, import_id, fh)
        click.echo(f"{n} rejected rows written to {out}")
    else:
        runs.write_rejects(state.services, import_id, sys.stdout)


@click.command("export")
@click.argument("what", type=click.Choice(list(ENTITY_OF)))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True)
@click.option("--out", metavar="PATH", required=True, help="The file to write.")
@filter_option
def export_command(what: str, fmt: str, out: str, filters: tuple[str, ...]) -> None:
    """Export a list (the API's filters, your record rules) to CSV, XLSX or vCard (contacts)."""
    state = pass_state()
    n = export(state.services, ENTITY_OF[what], fmt, Path(out), make_filters(filters))
    click.echo(f"Exported {n} {what} to {out}")


MERGEABLE = {"contacts": "contact", "companies": "company", "leads": "lead"}


@click.command("duplicates")
@click.argument("what", type=click.Choice(list(MERGEABLE)))
@click.option("--id", "card_id", type=int, help="Only the likely duplicates of this card.")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@json_option
def duplicates_command(what: str, card_id: int | None, limit: int, as_json: bool) -> None:
    """Likely duplicates: groups sharing a phone, an e-mail or a name (or those of one card)."""
    from ...transfer import duplicates

    state = pass_state()
    entity = MERGEABLE[what]
    if card_id is not None:
        ids = duplicates.find(state.services, entity, card_id)
        if as_json or state.json:
            emit_json({"id": card_id, "duplicates": ids})
        else:
            click.echo(f"{entity} {card_id}: " + (", ".join(map(str, ids)) if ids else "no likely duplicates"))
        return
    groups = duplicates.report(state.services, entity, limit=limit)
    if as_json or state.json:
        emit_json(groups)
        return
    for g in groups:
        click.echo(f"{g['by']:5} {g['value']}: {', '.join(map(str, g['ids']))}")
    if not groups:
        click.echo("No likely duplicates.")


@click.command("merge")
@click.argument("what", type=click.Choice(list(MERGEABLE)))
@click.argument("survivor", type=int)
@click.argument("others", type=int, nargs=-1, required=True)
@click.option("--field", "fields", multiple=True, metavar="NAME=ID",
              help="Take this field's value from card ID (repeatable; custom.<name> for custom fields).")
@json_option
def merge_command(what: str, survivor: int, others: tuple[int, ...], fields: tuple[str, ...], as_json: bool) -> None:
    """Merge OTHERS into SURVIVOR: fields chosen, phones and e-mails united, everything re-pointed."""
    from ...transfer.merge import merge

    state = pass_state()
    chosen = {}
    for name, value in pairs(fields, "--field").items():
        if not value.isdigit():
            raise click.BadParameter(f"{name}={value}: the value is a card id", param_hint="--field")
        chosen[name] = int(value)
    record = merge(state.acting(), MERGEABLE[what], survivor, others, chosen)
    from ..output import done

    done(state.by(f"Merged {what} {', '.join(map(str, others))} into {survivor}"), record,
         as_json=as_json or state.json)
