"""Test helpers for crmkit and its plugins: a pytest plugin, loaded automatically
(entry point ``pytest11``) wherever crmkit is installed.

Fixtures:

* ``db_url`` -- a fresh, empty database: a SQLite file, and, when
  ``CRMKIT_TEST_POSTGRES_URL`` is set, the same test again on a PostgreSQL schema
  of its own (so every storage test runs on both);
* ``clock`` -- a :class:`~crmkit.FrozenClock` shared by the test's deployments;
* ``make_crm(plugins=[...], **crmkit_toml_keys)`` -- a deployment on that database
  built from the default template, plugins loaded by entry point exactly as a
  deployment loads them, each with its own plugin manager;
* ``crm`` -- ``make_crm()`` with no plugins.

Helpers:

* :func:`template` -- the default deployment (crmkit.toml of ``crmkit init``) as a dict;
* :func:`auth_headers` -- ``{"Authorization": "Bearer ..."}`` for a user, to call the API;
* :func:`check_plugin` -- the conformance check a plugin's own tests run.

Passwords are hashed at a low test cost (N=2**10) while it is loaded.

A plugin's tests then read::

    from crmkit.testing import check_plugin

    def test_my_hook(make_crm):
        crm = make_crm(plugins=["myplugin"], settings={"myplugin": {"option": 1}})

    def test_conforms(db_url):
        check_plugin("myplugin", db_url)
"""

from __future__ import annotations

import os
import tomllib
import uuid
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text

from .core import auth
from .core.app import Crm
from .core.clock import FrozenClock
from .core.settings import Settings

POSTGRES_ENV = "CRMKIT_TEST_POSTGRES_URL"
MakeCrm = Callable[..., Crm]

__all__ = ["MakeCrm", "POSTGRES_ENV", "auth_headers", "check_plugin", "clock", "crm", "db_url", "make_crm", "template"]


def template() -> dict[str, Any]:
    """The default deployment (``crmkit init``'s crmkit.toml: the window company) as a dict."""
    return tomllib.loads(resources.files("crmkit").joinpath("templates/crmkit.toml").read_text())


def _pg_engine_url(url: str) -> str:
    return "postgresql+psycopg://" + url.split("://", 1)[1] if url.startswith("postgresql://") else url


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres: the PostgreSQL run of a storage test (needs CRMKIT_TEST_POSTGRES_URL)")
    # scrypt at OWASP's N=2**17 takes 0.1-1 s a hash; tests check the mechanism, so hash cheaply
    # (a test of the production cost sets auth.password_cost = auth.DEFAULT_COST itself)
    auth.password_cost = auth.TEST_COST


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crm.db'}"
        return
    pg_url = os.environ.get(POSTGRES_ENV, "")
    if not pg_url:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(_pg_engine_url(pg_url))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in pg_url else "?"
    try:
        yield f"{_pg_engine_url(pg_url)}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def make_crm(db_url: str, clock: FrozenClock, tmp_path: Path) -> Iterator[MakeCrm]:
    """Build a Crm on the test database: ``make_crm(plugins=["example"], **toml_overrides)``."""
    made: list[Crm] = []

    def make(*, environ: dict[str, str] | None = None, **overrides: Any) -> Crm:
        data = {**template(), "database": db_url, **overrides}
        # environ={} by default: CRMKIT_PLUGINS of the shell running the tests must not change them.
        settings = Settings.from_dict(data, base_dir=tmp_path, environ=environ or {})
        crm = Crm(settings, clock=clock)
        made.append(crm)
        return crm

    yield make
    for crm in made:
        crm.close()


@pytest.fixture
def crm(make_crm: MakeCrm) -> Crm:
    """The window company of the template, no plugins."""
    return make_crm()


def auth_headers(crm: Crm, user_id: int, *, name: str = "tests") -> dict[str, str]:
    """Request headers carrying a new API token of ``user_id`` (``{"Authorization": "Bearer ..."}``)."""
    _, secret = auth.create_token(crm, user_id, name)
    return {"Authorization": f"Bearer {secret}"}


def check_plugin(name: str, database: str, *, settings: Mapping[str, Any] | None = None,
                 deployment: Mapping[str, Any] | None = None) -> None:
    """Fail (``AssertionError``, one line per problem) unless plugin ``name``, installed by entry point,
    conforms to crmkit's plugin contract on ``database`` (give the ``db_url`` fixture):

    * its ``api`` range contains this crmkit's API and has an upper bound;
    * its own hookspecs have docstrings and are prefixed with its name;
    * it imports only crmkit's public API (``crmkit``, ``crmkit.events``, ``crmkit.web``,
      ``crmkit.ui``, ``crmkit.cli``, ``crmkit.testing``);
    * disabled, it is not imported and leaves no hook, table, route, command, job, pipeline,
      custom field or permission; enabled, it starts and its new tables carry its name as prefix;
    * its migrations downgrade to base and upgrade back to head with no drift from its models;
    * a glue plugin (``auto_enable``) is listed in the entry-point group ``crmkit.glue`` and
      switches on with its sides.

    :param settings: its ``[settings.<name>]`` table, if it needs one to start.
    :param deployment: other crmkit.toml keys (over the default template), e.g. other plugins'
        ``settings``.
    """
    __tracebackhide__ = True
    from ._conformance import problems

    found = problems(name, database, settings=settings, deployment=deployment)
    if found:
        raise AssertionError(f"plugin {name} does not conform:\n" + "\n".join(f"- {p}" for p in found))
