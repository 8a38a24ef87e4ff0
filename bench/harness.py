"""What every benchmark shares: databases, timing, results, the same-work check."""

from __future__ import annotations

import os
import sqlite3
import statistics
import tempfile
import time
import tomllib
import uuid
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import quote

import attrs
from sqlalchemy import create_engine, text

from crmkit import Crm, Settings

PG_URL = os.environ.get("CRMKIT_TEST_POSTGRES_URL", "")
ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
CACHE = RESULTS / "cache"


class NotSameWork(AssertionError):
    """Ours and the baseline did not do the same work: no ratio may be printed."""


def same(what: str, ours: Any, baseline: Any) -> None:
    if ours != baseline:
        raise NotSameWork(f"{what}: ours {ours!r} != baseline {baseline!r}")


@attrs.define
class Result:
    name: str
    backend: str
    ours: float | None = None
    baseline: float | None = None
    unit: str = ""
    ratio: float | None = None
    target: str = ""
    passed: bool | None = None
    n: int | None = None
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.frozen
class Options:
    quick: bool = False
    repeats: int = 5
    warmup: int = 1


# -- timing ---------------------------------------------------------------------------


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def compare(
    ours: Callable[[], Any], baseline: Callable[[], Any], *, repeats: int, warmup: int = 1,
) -> tuple[float, float, Any, Any]:
    """Warm up, then run ours and the baseline alternately ``repeats`` times (so both see
    the same noise); return the median seconds of each and their last outputs."""
    for _ in range(warmup):
        ours()
        baseline()
    ot: list[float] = []
    bt: list[float] = []
    o = b = None
    for i in range(repeats):
        order = (0, 1) if i % 2 == 0 else (1, 0)
        for which in order:
            if which == 0:
                t, o = timed(ours)
                ot.append(t)
            else:
                t, b = timed(baseline)
                bt.append(t)
    return statistics.median(ot), statistics.median(bt), o, b


# -- databases ------------------------------------------------------------------------


def backends() -> list[str]:
    return ["sqlite", "postgresql"] if PG_URL else ["sqlite"]


def _pg_sqlalchemy(url: str) -> str:
    return "postgresql+psycopg://" + url.split("://", 1)[1]


def _pg_plain(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1]


@attrs.frozen
class Db:
    """A fresh database: ``url`` for crmkit (SQLAlchemy), ``raw()`` for a DBAPI connection."""

    backend: str
    url: str
    path: Path | None = None
    schema: str | None = None

    def raw(self) -> Any:
        """A raw DBAPI connection with the same settings crmkit uses (WAL, synchronous=NORMAL)."""
        if self.backend == "sqlite":
            conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            return conn
        import psycopg

        conn = psycopg.connect(_pg_plain(PG_URL), options=f"-csearch_path={self.schema}")
        conn.execute("SET TIME ZONE 'UTC'")
        conn.commit()
        return conn

    def begin(self, conn: Any) -> None:
        if self.backend == "sqlite":
            conn.execute("BEGIN IMMEDIATE")

    def commit(self, conn: Any) -> None:
        if self.backend == "sqlite":
            conn.execute("COMMIT")
        else:
            conn.commit()

    @property
    def param(self) -> str:
        return "?" if self.backend == "sqlite" else "%s"

    def count(self, table: str) -> int:
        conn = self.raw()
        try:
            return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        finally:
            conn.close()


@contextmanager
def fresh_db(backend: str, workdir: Path, path: Path | None = None) -> Iterator[Db]:
    """A new empty SQLite file in WAL mode, or a new PostgreSQL schema (dropped afterwards)."""
    if backend == "sqlite":
        file = (path or workdir / f"{uuid.uuid4().hex[:10]}.db").resolve()
        try:
            yield Db("sqlite", f"sqlite:///{file}", path=file)
        finally:
            if path is None:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{file}{suffix}").unlink(missing_ok=True)
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(_pg_sqlalchemy(PG_URL))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield Db("postgresql", f"{_pg_sqlalchemy(PG_URL)}{sep}options={quote(f'-csearch_path={schema}')}", schema=schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def template() -> dict[str, Any]:
    return tomllib.loads(resources.files("crmkit").joinpath("templates/crmkit.toml").read_text())


def make_crm(db: Db, *, plugins: tuple[str, ...] = (), toml: dict[str, Any] | None = None, **kwargs: Any) -> Crm:
    """A Crm on ``db`` built from the shipped template (``toml`` over it), plugins enabled by name."""
    data = {**template(), **(toml or {}), "database": db.url, "plugins": list(plugins)}
    settings = Settings.from_dict(data, base_dir=Path(tempfile.gettempdir()), environ={})
    return Crm(settings, **kwargs)


NOOPS = ("noop1", "noop2", "noop3", "noop4")
