"""Shared fixtures. Every storage test runs on SQLite and, when
``CRMKIT_TEST_POSTGRES_URL`` is set, on PostgreSQL too (each test in its own schema)."""

from __future__ import annotations

import os
import tomllib
import uuid
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text

from crmkit import Crm, FrozenClock, Settings

PG_URL = os.environ.get("CRMKIT_TEST_POSTGRES_URL", "")


def _template() -> dict[str, Any]:
    return tomllib.loads(resources.files("crmkit").joinpath("templates/crmkit.toml").read_text())


def _pg_engine_url(url: str) -> str:
    return "postgresql+psycopg://" + url.split("://", 1)[1] if url.startswith("postgresql://") else url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crm.db'}"
        return
    if not PG_URL:
        pytest.skip("CRMKIT_TEST_POSTGRES_URL is not set")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(_pg_engine_url(PG_URL))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{_pg_engine_url(PG_URL)}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


MakeCrm = Callable[..., Crm]


@pytest.fixture
def make_crm(db_url: str, clock: FrozenClock, tmp_path: Path) -> Iterator[MakeCrm]:
    """Build a Crm on the test database: ``make_crm(plugins=["example"], **toml_overrides)``.

    Plugins named in ``plugins`` are loaded from their entry points, exactly as a
    deployment loads them. Each call builds its own plugin manager.
    """
    made: list[Crm] = []

    def make(*, environ: dict[str, str] | None = None, **overrides: Any) -> Crm:
        data = {**_template(), "database": db_url, **overrides}
        settings = Settings.from_dict(data, base_dir=tmp_path, environ=environ or {})
        crm = Crm(settings, clock=clock)
        made.append(crm)
        return crm

    yield make
    for crm in made:
        crm.close()


@pytest.fixture
def crm(make_crm: MakeCrm) -> Crm:
    """The window company of MISSION.md, no plugins."""
    return make_crm()


@pytest.fixture
def alice(crm: Crm) -> Any:
    return crm.users.create(email="alice@windows.example", name="Alice Manager", role="manager")
