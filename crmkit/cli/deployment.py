"""Writing a deployment's crmkit.toml from the commented template (``init`` and ``demo``)."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

from ..core.errors import ValidationError

CONFIG_NAME = "crmkit.toml"


def template() -> str:
    return resources.files("crmkit").joinpath("templates/crmkit.toml").read_text(encoding="utf-8")


def _set(text: str, key: str, value: str) -> str:
    """Replace the top-level ``key = ...`` line of the template with ``value`` (a TOML string)."""
    line = f"{key} = {json.dumps(value)}"
    new, count = re.subn(rf"^{key} = .*$", lambda _: line, text, count=1, flags=re.MULTILINE)
    if count:
        return new
    return f"{line}\n{text}"


def render(*, name: str | None = None, database: str | None = None) -> str:
    text = template()
    if name:
        text = _set(text, "name", name)
    if database:
        text = _set(text, "database", database)
    return text


def write_config(directory: Path, *, name: str | None = None, database: str | None = None) -> Path:
    """Write ``directory/crmkit.toml``; refuse to overwrite one."""
    if directory.exists() and not directory.is_dir():
        raise ValidationError(f"{directory} exists and is not a directory")
    path = directory / CONFIG_NAME
    if path.exists():
        raise ValidationError(f"{path} already exists; not overwriting it (edit it, or pick another directory)")
    directory.mkdir(parents=True, exist_ok=True)
    path.write_text(render(name=name, database=database), encoding="utf-8")
    return path


def sqlite_files(database_url: str) -> list[Path]:
    """The files of a SQLite database URL (the database, its WAL and shared memory)."""
    prefix = "sqlite:///"
    if not database_url.startswith(prefix) or ":memory:" in database_url:
        return []
    db = Path(database_url[len(prefix):].split("?", 1)[0])
    return [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm"), db.with_name(db.name + "-journal")]

