"""``crmkit files``: documents on cards (add, list, get, remove)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import click

from ...core.errors import ValidationError
from ..output import done, emit_json, emit_page, fmt
from ..params import json_option, page_options
from ..state import pass_state
from .archive import acting

ENTITIES = ["lead", "contact", "company", "deal", "task"]


@click.group("files")
def files() -> None:
    """Documents on cards: contracts, measurements, photos (their type is read from their content)."""


@files.command("add")
@click.argument("entity", type=click.Choice(ENTITIES))
@click.argument("entity_id", type=int)
@click.argument("path", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path))
@click.option("--name", help="The name to keep (default: the file's own name).")
@json_option
def add(entity: str, entity_id: int, path: Path, name: str | None, as_json: bool) -> None:
    """Attach the file PATH to the card ENTITY ENTITY_ID (e.g. deal 12 measurement.pdf)."""
    state = pass_state()
    info = acting(state).files.add(entity, entity_id, path, name=name)
    done(f"Added file {info.id} ({info.name}, {info.content_type}, {info.size} bytes) to {entity} {entity_id}",
         info, as_json=as_json or state.json)


@files.command("list")
@click.argument("entity", type=click.Choice(ENTITIES))
@click.argument("entity_id", type=int)
@page_options
@json_option
def list_files(entity: str, entity_id: int, limit: int, cursor: str | None, as_json: bool) -> None:
    """The documents on the card ENTITY ENTITY_ID, oldest first."""
    state = pass_state()
    page = state.services.files.of(entity, entity_id, limit=limit, cursor=cursor)
    emit_page(page, [("id", lambda f: f.id), ("name", lambda f: f.name), ("type", lambda f: f.content_type),
                     ("bytes", lambda f: f.size), ("by", lambda f: state.user_name(f.uploaded_by) or "system"),
                     ("added", lambda f: fmt(f.created_at))], as_json=as_json or state.json)


@files.command("get")
@click.argument("file_id", type=int)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Save the content to this new file (readable by you only); without it, show the metadata.")
@json_option
def get(file_id: int, output: Path | None, as_json: bool) -> None:
    """Show a document's metadata, or save its content with --output."""
    state = pass_state()
    if output is None:
        info = state.services.files.get(file_id)
        if as_json or state.json:
            emit_json(info)
        else:
            click.echo(f"File {info.id}: {info.name} ({info.content_type}, {info.size} bytes) on "
                       f"{info.entity_type} {info.entity_id}, sha256 {info.sha256}, added {fmt(info.created_at)}")
        return
    info, stream = state.services.files.open(file_id)
    with stream:
        try:
            fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise ValidationError(f"--output: {output} already exists", field="output") from None
        except OSError as exc:
            raise ValidationError(f"--output: cannot write {output}: {exc.strerror}", field="output") from None
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(stream, out, 1 << 16)
    done(f"Saved file {info.id} ({info.name}, {info.size} bytes) to {output}", info, as_json=as_json or state.json)


@files.command("remove")
@click.argument("file_id", type=int)
@json_option
def remove(file_id: int, as_json: bool) -> None:
    """Remove a document (its uploader, or who may change its card)."""
    state = pass_state()
    info = acting(state).files.remove(file_id)
    done(f"Removed file {info.id} ({info.name}) from {info.entity_type} {info.entity_id}", info,
         as_json=as_json or state.json)
