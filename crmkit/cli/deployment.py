"""Writing a deployment's crmkit.toml from the commented template (``init`` and ``demo``)."""

from __future__ import annotations

import json
import os
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


def write_config(directory: Path, *, name: str | None = None, database: str | None = None,
                 extra: str = "") -> Path:
    """Write ``directory/crmkit.toml`` (the template, then ``extra``) readable by its owner only
    (0600: it holds secrets); refuse to overwrite one. A directory made here is the owner's only
    too (0700)."""
    if directory.exists() and not directory.is_dir():
        raise ValidationError(f"{directory} exists and is not a directory")
    path = directory / CONFIG_NAME
    if path.exists():
        raise ValidationError(f"{path} already exists; not overwriting it (edit it, or pick another directory)")
    if not directory.exists():
        directory.mkdir(mode=0o700, parents=True)
    write_private(path, (render(name=name, database=database) + extra).encode("utf-8"))
    return path


def write_private(path: Path, data: bytes = b"") -> None:
    """Create ``path`` (it must not exist) with ``data``, readable and writable by its owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def create_sqlite_file(database_url: str) -> Path | None:
    """Create the (empty) file of a SQLite database URL with mode 0600 before SQLite does (SQLite
    gives its -wal and -shm files the same mode). Returns the file if made here, else None."""
    files = sqlite_files(database_url)
    if not files or files[0].exists() or not files[0].parent.is_dir():
        return None
    write_private(files[0])
    return files[0]


def sqlite_files(database_url: str) -> list[Path]:
    """The files of a SQLite database URL (the database, its WAL and shared memory)."""
    prefix = "sqlite:///"
    if not database_url.startswith(prefix) or ":memory:" in database_url:
        return []
    db = Path(database_url[len(prefix):].split("?", 1)[0])
    return [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm"), db.with_name(db.name + "-journal")]

