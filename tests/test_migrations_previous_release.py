"""A database made by the previous release (crmkit 0.1, before schema migrations) is upgraded to
head with every row intact, on SQLite and PostgreSQL.

The fixtures in tests/fixtures/release_0_1 were made by that release's own code (build.py there):
the deployment's SQLite file, and a ``pg_dump`` of the same deployment made on PostgreSQL. Each
holds rows in every core and plugin table (28 tables, the idempotency keys included).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, create_engine, inspect, text

from crmkit import Crm, FrozenClock, Settings
from crmkit.cli import cli
from crmkit.cli.deployment import render
from crmkit.core.migrations import SchemaBehindError

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "release_0_1"
CLEAN_ENV = {"CRMKIT_CONFIG": None, "CRMKIT_USER": None, "CRMKIT_PLUGINS": None, "CRMKIT_DATABASE_URL": None}
TABLES = 28


def _engine(url: str) -> Engine:
    return create_engine(url.replace("postgresql://", "postgresql+psycopg://"))


def _restore(db_url: str) -> None:
    """Put the previous release's database where the test's database is."""
    if db_url.startswith("sqlite"):
        shutil.copyfile(FIXTURES / "crmkit.sqlite", db_url[len("sqlite:///"):])
        return
    engine = _engine(db_url)
    try:
        with engine.begin() as conn:
            schema = conn.execute(text("SELECT current_schema()")).scalar_one()
            dump = (FIXTURES / "postgresql.sql").read_text().replace("__SCHEMA__.", f'"{schema}".')
            conn.exec_driver_sql(dump)
    finally:
        engine.dispose()


def _snapshot(db_url: str, columns: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """Every row of every table but alembic's, sorted, with its column names (or only ``columns``:
    later revisions may add columns to a table)."""
    engine = _engine(db_url)
    try:
        with engine.connect() as conn:
            names = sorted(n for n in inspect(conn).get_table_names() if n != "alembic_version")
            out: dict[str, Any] = {}
            for n in names:
                cols = columns[n] if columns and n in columns else [c["name"] for c in inspect(conn).get_columns(n)]
                quoted = ", ".join(f'"{c}"' for c in cols)
                rows = conn.execute(text(f'SELECT {quoted} FROM "{n}"'))
                out[n] = (cols, sorted((tuple(r) for r in rows), key=repr))
            return out
    finally:
        engine.dispose()


def test_the_previous_releases_database_is_upgraded_with_every_row_intact(db_url: str, tmp_path: Path) -> None:
    _restore(db_url)
    before = _snapshot(db_url)
    assert len(before) == TABLES and all(rows for _, rows in before.values()), before.keys()
    config = tmp_path / "crmkit.toml"
    config.write_text(render(database=db_url).replace("plugins = []", 'plugins = ["telephony", "installments"]'))

    def crmkit(*args: str) -> Any:
        return CliRunner().invoke(cli, ["--config", str(config), *args], env=CLEAN_ENV, catch_exceptions=False)

    settings = Settings.load(config, environ={})
    with pytest.raises(SchemaBehindError, match=r"made before crmkit had schema migrations: run `crmkit db upgrade`"):
        Crm(settings)
    for command in (["deals", "list"], ["worker", "--once"], ["serve", "--port", "1"]):
        refused = crmkit(*command)  # one line naming the command to run, before anything starts
        assert refused.exit_code == 1 and refused.stderr.count("\n") == 1, refused.output
        assert "run `crmkit db upgrade` once" in refused.stderr and "Traceback" not in refused.output

    upgraded = crmkit("db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    done = {line.split(" (")[0] for line in upgraded.stdout.splitlines()[:-1]}
    assert {"crmkit: applied crmkit_0001", "telephony: applied telephony_0001",
            "installments: applied installments_0001"} <= done  # and any later revision
    after = _snapshot(db_url, {n: cols for n, (cols, _) in before.items()})
    assert {n: after[n] for n in before} == before  # every row of every old table, as it was
    checked = crmkit("db", "check")
    assert checked.exit_code == 0 and "No drift" in checked.stdout, checked.output

    with Crm(settings, clock=FrozenClock()) as crm:
        olivia = crm.users.by_email("olivia@windows.example")
        assert olivia is not None and olivia.role == "admin"
        [lost] = crm.deals.list(status="lost").items
        assert lost.title == "Balcony"
        deal = crm.as_user(olivia.id).deals.create(title="After the upgrade", amount="5.00")
        assert deal.id == max(d[0] for d in before["crm_deals"][1]) + 1  # the sequences carried on
        timeline = [e.type for e in crm.timeline.of("deal", lost.id)]
        assert "deal.created" in timeline  # the old event log is read as before
