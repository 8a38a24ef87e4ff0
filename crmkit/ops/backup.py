"""``crmkit db backup FILE`` and ``crmkit db restore FILE``: the database and the cards' stored files
in one archive.

The archive is a tar file (mode 0600: it holds personal data) with ``manifest.json``, the database
(``database.sqlite3``: SQLite's online backup API, a consistent copy while the deployment serves;
``database.pgdump``: ``pg_dump -Fc``) and ``files/<key>`` for every document the copied database
refers to. The file list is read from the same snapshot as the copy (PostgreSQL: ``pg_dump
--snapshot`` of an exported snapshot), so the archive holds exactly the documents its database
names; each one is checked against its recorded SHA-256 when restored.

Restoring writes the database back (SQLite: the backup API into the configured file;
PostgreSQL: ``pg_restore --clean --if-exists --single-transaction``: all or nothing), puts back
the documents the storage lacks, then opens the result and reports whether its schema is at the
code's head. Stop the servers and workers first.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import attrs
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from ..core import schema
from ..core.errors import ConfigError, ValidationError

if TYPE_CHECKING:  # pragma: no cover
    from ..core.app import Crm

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite3"
PG_MEMBER = "database.pgdump"
FILES = "files/"
_KEY = re.compile(r"^[0-9a-f]{32}$")


@attrs.frozen
class BackupReport:
    path: Path
    database: str
    """``sqlite`` or ``postgresql``."""
    files: int
    file_bytes: int
    missing: tuple[str, ...] = ()
    """Storage keys the database names whose content was gone (deleted meanwhile)."""


@attrs.frozen
class RestoreReport:
    database: str
    files_restored: int
    files_present: int
    at_head: bool
    behind: tuple[str, ...] = ()


def backup(crm: "Crm", target: str | os.PathLike[str]) -> BackupReport:
    """Write the deployment's database and stored files to the archive ``target`` (replaced atomically)."""
    target = Path(target)
    if target.is_dir():
        raise ValidationError(f"{target} is a folder: give the archive's file name", field="file")
    dialect = crm.engine.dialect.name
    with tempfile.TemporaryDirectory(prefix="crmkit-backup-") as tmp:
        work = Path(tmp)
        if dialect == "sqlite":
            member, db_file = SQLITE_MEMBER, work / SQLITE_MEMBER
            files = _sqlite_copy(crm, db_file)
        elif dialect == "postgresql":
            member, db_file = PG_MEMBER, work / PG_MEMBER
            files = _pg_dump(crm, db_file)
        else:  # pragma: no cover - crmkit runs on these two
            raise ConfigError(f"crmkit db backup: no backup for {dialect} databases")
        partial = target.with_name(target.name + ".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        missing: list[str] = []
        total = 0
        stored = 0
        try:
            with os.fdopen(fd, "wb") as out, tarfile.open(fileobj=out, mode="w") as tar:
                tar.add(db_file, member)
                storage = _storage(crm)
                for key, size in files:
                    try:
                        content = storage.get(key)
                    except FileNotFoundError:
                        missing.append(key)
                        continue
                    with content:
                        info = tarfile.TarInfo(FILES + key)
                        info.size, info.mode = size, 0o600
                        tar.addfile(info, content)
                    total += size
                    stored += 1
                manifest = {"format": FORMAT, "crmkit": _version(), "database": dialect, "member": member,
                            "created_at": datetime.now(timezone.utc).isoformat(), "files": stored,
                            "file_bytes": total, "missing": missing}
                _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=2).encode())
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    return BackupReport(path=target, database=dialect, files=stored, file_bytes=total, missing=tuple(missing))


def restore(settings: Any, source: str | os.PathLike[str]) -> RestoreReport:
    """Restore the archive ``source`` into the deployment of ``settings`` (see the module docstring)."""
    from ..core.app import Crm
    from ..core.db import make_engine

    source = Path(source)
    with tempfile.TemporaryDirectory(prefix="crmkit-restore-") as tmp:
        work = Path(tmp)
        manifest = _unpack(source, work)
        url = settings.database_url()
        engine = make_engine(url)
        try:
            dialect = engine.dialect.name
            if manifest["database"] != dialect:
                raise ValidationError(f"{source} holds a {manifest['database']} database; this deployment's is "
                                      f"{dialect} (restore it into a {manifest['database']} deployment)", field="file")
            if dialect == "sqlite":
                _sqlite_restore(work / SQLITE_MEMBER, url)
            else:
                _pg_restore(engine, work / PG_MEMBER)
        finally:
            engine.dispose()
        crm = Crm(settings, setup=False)
        try:
            restored, present = _put_files(crm, work / "files")
            return RestoreReport(database=dialect, files_restored=restored, files_present=present,
                                 **_schema_state(crm))
        finally:
            crm.close()


# -- SQLite ------------------------------------------------------------------------------


def _sqlite_path(url: str) -> Path:
    path = make_url(url).database
    if not path or path == ":memory:":
        raise ValidationError("an in-memory SQLite database has nothing to back up or restore", field="database")
    return Path(path)


def _sqlite_copy(crm: "Crm", target: Path) -> list[tuple[str, int]]:
    """The online backup API: one consistent step, while other connections keep writing (WAL)."""
    source = sqlite3.connect(_sqlite_path(str(crm.engine.url)))
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
        return _keys(copy.execute(f"SELECT storage_key, size FROM {schema.files.name}").fetchall())
    finally:
        copy.close()
        source.close()


def _sqlite_restore(copy: Path, url: str) -> None:
    path = _sqlite_path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    source = sqlite3.connect(copy)
    target = sqlite3.connect(path, timeout=30)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


# -- PostgreSQL ------------------------------------------------------------------------


def _pg_env(url: Any) -> tuple[dict[str, str], list[str]]:
    """libpq's environment for ``url`` (the password never on a command line), and ``--schema``
    when the URL pins a ``search_path`` (a deployment living in one schema)."""
    env = {**os.environ}
    for var, value in (("PGHOST", url.host), ("PGPORT", url.port), ("PGUSER", url.username),
                       ("PGPASSWORD", url.password), ("PGDATABASE", url.database)):
        if value is not None:
            env[var] = str(value)
    options = url.query.get("options")
    schemas: list[str] = []
    if isinstance(options, str):
        env["PGOPTIONS"] = options
        found = re.search(r"search_path=([A-Za-z_][A-Za-z0-9_]*)", options)
        if found:
            schemas = [f"--schema={found.group(1)}"]
    return env, schemas


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise ConfigError(f"{name} is not installed: PostgreSQL backups need the PostgreSQL client tools "
                          f"(e.g. apt install postgresql-client), at the server's major version or newer")
    return found


def _pg_dump(crm: "Crm", target: Path) -> list[tuple[str, int]]:
    pg_dump = _tool("pg_dump")
    env, schemas = _pg_env(crm.engine.url)
    with crm.engine.connect() as conn:
        conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        snapshot = conn.scalar(text("SELECT pg_export_snapshot()"))
        files = _keys(conn.execute(select(schema.files.c.storage_key, schema.files.c.size)).all())
        done = subprocess.run([pg_dump, "--format=custom", "--no-owner", f"--snapshot={snapshot}", *schemas,
                               f"--file={target}"], env=env, capture_output=True, text=True)
        conn.rollback()
    if done.returncode != 0:
        raise ConfigError(f"pg_dump failed: {done.stderr.strip()[-500:]}")
    return files


def _pg_restore(engine: Any, dump: Path) -> None:
    pg_restore = _tool("pg_restore")
    env, _ = _pg_env(engine.url)
    done = subprocess.run([pg_restore, "--clean", "--if-exists", "--no-owner", "--single-transaction",
                           f"--dbname={env.get('PGDATABASE', '')}", str(dump)], env=env, capture_output=True,
                          text=True)
    if done.returncode != 0:
        raise ConfigError(f"pg_restore failed (nothing was changed): {done.stderr.strip()[-500:]}")


# -- the archive and the files -----------------------------------------------------------


def _keys(rows: Any) -> list[tuple[str, int]]:
    return [(str(k), int(size)) for k, size in rows if _KEY.match(str(k))]


def _storage(crm: "Crm") -> Any:
    from ..core.files import storage_of

    return storage_of(crm)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    import io

    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o600
    tar.addfile(info, io.BytesIO(data))


def _unpack(source: Path, work: Path) -> dict[str, Any]:
    """Extract the archive into ``work`` (only the members a backup has) and return its manifest."""
    try:
        with tarfile.open(source, mode="r:") as tar:
            members = [m for m in tar.getmembers() if m.isfile() and (
                m.name in (MANIFEST, SQLITE_MEMBER, PG_MEMBER)
                or (m.name.startswith(FILES) and _KEY.match(m.name[len(FILES):])))]
            tar.extractall(work, members=members, filter="data")
    except FileNotFoundError:
        raise ValidationError(f"no backup at {source}", field="file") from None
    except (tarfile.TarError, OSError) as exc:
        raise ValidationError(f"{source} is not a crmkit backup ({exc})", field="file") from None
    try:
        manifest: dict[str, Any] = json.loads((work / MANIFEST).read_text())
    except (OSError, ValueError):
        raise ValidationError(f"{source} is not a crmkit backup (no manifest): was it cut short?", field="file") \
            from None
    if manifest.get("format") != FORMAT or not (work / manifest.get("member", "?")).is_file():
        raise ValidationError(f"{source} is not a complete crmkit backup (format {manifest.get('format')!r})",
                              field="file")
    return manifest


def _put_files(crm: "Crm", folder: Path) -> tuple[int, int]:
    """Put back every document the restored database names that the storage lacks, checking its SHA-256."""
    storage = _storage(crm)
    f = schema.files.c
    with crm.engine.connect() as conn:
        rows = conn.execute(select(f.storage_key, f.sha256)).all()
    restored = present = 0
    for key, sha in rows:
        try:
            storage.get(key).close()
            present += 1
            continue
        except FileNotFoundError:
            pass
        path = folder / str(key)
        if not path.is_file():
            continue  # missing from the archive too (deleted while the backup ran): reported by `crmkit files`
        if _sha256(path) != sha:
            raise ValidationError(f"the archive's copy of stored file {key} is damaged (SHA-256 differs)", field="file")
        with path.open("rb") as content:
            storage.put(key, content)
        restored += 1
    return restored, present


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _schema_state(crm: "Crm") -> dict[str, Any]:
    from ..core.migrations import layout
    from ..core.migrations.state import evaluate, read_rows

    with crm.engine.connect() as conn:
        state = evaluate(layout(crm), read_rows(conn))
    return {"at_head": state.at_head, "behind": tuple(b.describe() for b in state.behind)}


def _version() -> str:
    from .. import __version__

    return __version__


def iter_members(source: str | os.PathLike[str]) -> Iterator[str]:
    """The member names of an archive (for ``crmkit db restore --list`` and tests)."""
    with tarfile.open(source, mode="r:") as tar:
        for m in tar.getmembers():
            yield m.name
