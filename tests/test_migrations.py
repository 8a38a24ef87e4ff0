"""Schema migrations end to end, on SQLite and PostgreSQL: `crmkit db` over a real deployment
(crmkit.toml written by `crmkit init`), the SDK's start-up check, and plugins enabled, disabled and
enabled again. The previous release's database: test_migrations_previous_release.py; a plugin's
second release: test_migrations_plugin_release.py."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator

import attrs
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, func, inspect, select, text

from crmkit import ConfigError, Crm, FrozenClock, Settings
from crmkit.cli import cli
from crmkit.cli.deployment import render
from crmkit.core.migrations import SchemaBehindError
from crmkit.core.migrations.layout import core_branch, plugin_branch
from crmkit.core.migrations.scripts import Branch, applied
from crmkit_telephony import CallEvent
from crmkit_telephony.ingest import ingest

CLEAN_ENV = {"CRMKIT_CONFIG": None, "CRMKIT_USER": None, "CRMKIT_PLUGINS": None, "CRMKIT_DATABASE_URL": None,
             "CRMKIT_DEBUG": None}


def _branches() -> dict[str, Branch]:
    import crmkit_installments.plugin
    import crmkit_telephony.plugin

    plugins = [plugin_branch(crmkit_telephony.plugin), plugin_branch(crmkit_installments.plugin)]
    return {b.name: b for b in [core_branch(), *plugins] if b is not None}


BRANCHES = _branches()
HEADS = {name: b.head for name, b in BRANCHES.items()}
CORE_HEAD = HEADS["crmkit"]


def expected_versions(*names: str) -> set[str]:
    """The alembic_version rows of a database at the heads of ``names``: alembic keeps a head only
    if no other head depends on it (the plugins' first revisions depend on the core's first)."""
    revisions = {r.id: r for b in BRANCHES.values() for r in b.revisions}
    heads = [HEADS[n] for n in names]
    return {h for h in heads if not any(h in applied(revisions[o].parents, revisions) for o in heads if o != h)}


@attrs.define
class Deployment:
    """A deployment's crmkit.toml on the test database, its CLI and its ``Crm``s."""

    config: Path
    url: str
    clock: FrozenClock
    made: list[Crm] = attrs.field(factory=list)

    def set_plugins(self, *plugins: str, database: str = "") -> None:
        body = re.sub(r"^plugins = .*$", f"plugins = {json.dumps(list(plugins))}", self.config.read_text(),
                      count=1, flags=re.MULTILINE)
        self.config.write_text(body + (f"\n[settings.database]\n{database}\n" if database else ""))

    def cli(self, *args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(cli, ["--config", str(self.config), *args], env=CLEAN_ENV, input=input,
                                  catch_exceptions=False)

    def ok(self, *args: str) -> str:
        result = self.cli(*args)
        assert result.exit_code == 0, result.output
        return result.stdout

    def fails(self, *args: str, contains: str) -> str:
        """Exit 1 with exactly one line on stderr (no traceback) containing ``contains``."""
        result = self.cli(*args)
        assert result.exit_code == 1, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in result.output, result.output
        assert contains in lines[0], lines[0]
        return lines[0]

    def crm(self) -> Crm:
        crm = Crm(Settings.load(self.config, environ={}), clock=self.clock)
        self.made.append(crm)
        return crm

    def query(self, sql: str) -> list[Any]:
        engine = create_engine(self.url.replace("postgresql://", "postgresql+psycopg://"))
        try:
            with engine.connect() as conn:
                return list(conn.execute(text(sql)))
        finally:
            engine.dispose()

    def execute(self, *statements: str) -> None:
        engine = create_engine(self.url.replace("postgresql://", "postgresql+psycopg://"))
        try:
            with engine.begin() as conn:
                for sql in statements:
                    conn.execute(text(sql))
        finally:
            engine.dispose()

    def tables(self) -> set[str]:
        engine = create_engine(self.url.replace("postgresql://", "postgresql+psycopg://"))
        try:
            return set(inspect(engine).get_table_names())
        finally:
            engine.dispose()

    def versions(self) -> set[str]:
        return {r[0] for r in self.query("SELECT version_num FROM alembic_version")}

    def count(self, table: str) -> int:
        return int(self.query(f"SELECT count(*) FROM {table}")[0][0])


@pytest.fixture
def deploy(db_url: str, tmp_path: Path, clock: FrozenClock) -> Iterator[Any]:
    made: list[Deployment] = []

    def make(*plugins: str) -> Deployment:
        config = tmp_path / f"crm{len(made)}" / "crmkit.toml"
        config.parent.mkdir()
        config.write_text(render(database=db_url))
        d = Deployment(config, db_url, clock)
        d.set_plugins(*plugins)
        made.append(d)
        return d

    yield make
    for d in made:
        for crm in d.made:
            crm.close()


def _call(crm: Crm, clock: FrozenClock, call_id: str) -> None:
    for status, extra in (("ringing", {"direction": "inbound", "from_number": "+12025550144",
                                       "to_number": "+12025550100"}), ("ended", {})):
        ingest(crm, CallEvent(call_id=call_id, status=status, occurred_at=clock.now(), provider="generic", **extra))


# -- from empty ------------------------------------------------------------------------------------


def test_upgrade_from_empty_runs_every_branch_to_head_without_drift(deploy: Any) -> None:
    d = deploy("telephony", "installments")
    out = d.ok("db", "upgrade")
    done = [line.split(" (")[0] for line in out.splitlines()[:-1]]
    assert done[0] == "crmkit: applied crmkit_0001"  # first: the others depend on it
    assert sorted(done) == sorted(f"{b.name}: applied {r.id}" for b in BRANCHES.values() for r in b.revisions)
    assert "at head: " + ", ".join(f"{n} {h}" for n, h in HEADS.items()) in out
    assert d.versions() == expected_versions("crmkit", "telephony", "installments")
    assert "No drift" in d.ok("db", "check")
    current = json.loads(d.ok("db", "current", "--json"))["branches"]
    assert {b["branch"]: (b["current"], b["status"]) for b in current} == {
        name: (head, "at head") for name, head in HEADS.items()}
    assert "Already at head" in d.ok("db", "upgrade")
    deal = d.crm().deals.create(title="Windows", amount="100.00")
    assert deal.id == 1


def test_a_new_database_is_created_at_head_as_the_migrations_make_it(deploy: Any) -> None:
    d = deploy("telephony", "installments")
    d.crm()  # create_all + stamp: no migration runs
    assert d.versions() == expected_versions("crmkit", "telephony", "installments")
    assert "Already at head" in d.ok("db", "upgrade")  # alembic agrees
    assert "crm_idempotency_keys" in d.tables()  # a core table, no longer made by the API's first start
    assert "No drift" in d.ok("db", "check")
    assert json.loads(d.ok("db", "check", "--json")) == {"ok": True, "problems": []}


def test_history_shows_every_branch_and_where_the_database_is(deploy: Any) -> None:
    d = deploy("telephony")
    d.crm()
    rows = json.loads(d.ok("db", "history", "--json"))["revisions"]
    core = [r.id for r in BRANCHES["crmkit"].ordered()]
    assert [(r["branch"], r["revision"], r["revises"], r["marks"]) for r in rows] == [
        *[("crmkit", rev, ([None, *core][i]), ["current", "head"] if rev == CORE_HEAD else [])
          for i, rev in enumerate(core)],
        ("telephony", "telephony_0001", None, ["current", "head"]),
    ]
    assert rows[len(core)]["depends_on"] == ["crmkit_0001"]
    assert "telephony: the call log" in d.ok("db", "history", "telephony")


# -- a plugin enabled for the first time; a new release ----------------------------------------------


def test_a_plugin_enabled_for_the_first_time_is_installed_at_start(deploy: Any) -> None:
    d = deploy()
    d.crm().deals.create(title="Before telephony")
    before, events = d.tables(), d.count("crm_events")
    d.set_plugins("telephony")
    crm = d.crm()  # its branch is not in the database at all: its migrations run, nothing else changes
    assert d.tables() - before == {"telephony_calls"} and d.count("crm_events") == events
    assert d.versions() == expected_versions("crmkit", "telephony")
    assert crm.deals.list().items[0].title == "Before telephony"
    assert "No drift" in d.ok("db", "check")


REVISION_1 = '''"""twostep: items and their parts"""
import sqlalchemy as sa
from alembic import op

revision = "twostep_0001"
down_revision = None
branch_labels = ("twostep",)
depends_on = "crmkit_0001"


def upgrade():
    op.create_table("twostep_items", sa.Column("id", sa.Integer(), nullable=False),
                    sa.Column("deal_id", sa.Integer(), nullable=False),
                    sa.ForeignKeyConstraint(["deal_id"], ["crm_deals.id"]), sa.PrimaryKeyConstraint("id"))
    op.create_table("twostep_parts", sa.Column("id", sa.Integer(), nullable=False),
                    sa.Column("item_id", sa.Integer(), nullable=False),
                    sa.ForeignKeyConstraint(["item_id"], ["twostep_items.id"], ondelete="CASCADE"),
                    sa.PrimaryKeyConstraint("id"))


def downgrade():
    op.drop_table("twostep_parts")
    op.drop_table("twostep_items")
'''
REVISION_2 = '''"""twostep: a note on items, deal optional (SQLite rebuilds the table)"""
import sqlalchemy as sa
from alembic import op

revision = "twostep_0002"
down_revision = "twostep_0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("twostep_items") as batch_op:
        batch_op.add_column(sa.Column("note", sa.Text(), nullable=True))
        batch_op.alter_column("deal_id", existing_type=sa.Integer(), nullable=True)


def downgrade():
    with op.batch_alter_table("twostep_items") as batch_op:
        batch_op.alter_column("deal_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("note")
'''


def _release(tmp_path: Path, number: int) -> Any:
    """Release 1 or 2 of an in-process plugin ``twostep``: its models and its migrations."""
    from sqlalchemy import Column, ForeignKey, Integer, MetaData, Table, Text

    from crmkit import PluginInfo, hookimpl, schema

    versions = tmp_path / f"twostep{number}" / "versions"
    versions.mkdir(parents=True)
    (versions / "twostep_0001.py").write_text(REVISION_1)
    if number == 2:
        (versions / "twostep_0002.py").write_text(REVISION_2)
    metadata = MetaData()
    items = Table("twostep_items", metadata, Column("id", Integer, primary_key=True),
                  Column("deal_id", ForeignKey(schema.deals.c.id), nullable=number == 2),
                  *([Column("note", Text)] if number == 2 else []))
    Table("twostep_parts", metadata, Column("id", Integer, primary_key=True),
          Column("item_id", ForeignKey(items.c.id, ondelete="CASCADE"), nullable=False))

    class Release:
        plugin_info = PluginInfo(name="twostep", version=f"{number}.0", migrations=versions.parent)

        @hookimpl
        def crm_register_tables(self, crm: Any) -> MetaData:
            return metadata

    return Release()


def _release_1_with_rows(db_url: str, tmp_path: Path, clock: FrozenClock, **settings: Any) -> Settings:
    from crmkit.testing import template

    data = {**template(), "database": db_url, "settings": settings}
    config = Settings.from_dict(data, base_dir=tmp_path, environ={})
    with Crm(config, plugins=[_release(tmp_path, 1)], clock=clock) as crm:
        deal = crm.deals.create(title="Windows")
        with crm.transaction() as tx:
            tx.conn.execute(text("INSERT INTO twostep_items (id, deal_id) VALUES (1, :d)"), {"d": deal.id})
            tx.conn.execute(text("INSERT INTO twostep_parts (id, item_id) VALUES (1, 1), (2, 1)"))
    return config


def test_a_new_release_behind_head_is_refused_until_upgraded(db_url: str, tmp_path: Path, clock: FrozenClock) -> None:
    from crmkit.core.migrations import runner

    settings = _release_1_with_rows(db_url, tmp_path, clock)
    release_2 = _release(tmp_path, 2)
    with pytest.raises(SchemaBehindError, match=re.escape(
            "the database schema is behind this installation (twostep twostep_0001 -> twostep_0002): "
            "run `crmkit db upgrade`")):
        Crm(settings, plugins=[release_2], clock=clock)
    with Crm(settings, plugins=[release_2], clock=clock, setup=False) as crm:
        assert [s.describe() for s in runner.upgrade(crm)] == [
            "twostep: applied twostep_0002 (twostep: a note on items, deal optional (SQLite rebuilds the table))"]
        assert runner.check(crm) == []
    with Crm(settings, plugins=[release_2], clock=clock) as crm, crm.engine.connect() as conn:
        # the rebuilt table kept its row, and the rows referencing it (ON DELETE CASCADE) were not deleted
        assert conn.execute(text("SELECT id, note FROM twostep_items")).all() == [(1, None)]
        assert conn.execute(text("SELECT id FROM twostep_parts ORDER BY id")).scalars().all() == [1, 2]
    with Crm(settings, plugins=[release_2], clock=clock, setup=False) as crm:
        assert [s.revision for s in runner.downgrade(crm, "twostep@-1")] == ["twostep_0002"]
        with crm.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM twostep_parts")).scalar() == 2


def test_a_revision_no_installed_code_ships_is_named(deploy: Any) -> None:
    d = deploy()
    d.crm()
    d.execute("DELETE FROM alembic_version", "INSERT INTO alembic_version (version_num) VALUES ('crmkit_0099')")
    with pytest.raises(SchemaBehindError, match="revision.s. crmkit_0099 that no installed part of crmkit ships"):
        d.crm()
    d.fails("db", "upgrade", contains="crmkit_0099")
    assert d.versions() == {"crmkit_0099"}


def test_check_lists_every_difference_and_exits_non_zero(deploy: Any) -> None:
    d = deploy()
    d.crm()
    d.execute("ALTER TABLE crm_deals ADD COLUMN extra INTEGER", "DROP INDEX ix_crm_deals_stage",
              "CREATE TABLE crm_stray (id INTEGER PRIMARY KEY)", "CREATE TABLE other_app (id INTEGER PRIMARY KEY)")
    result = d.cli("db", "check")
    assert result.exit_code == 1
    assert sorted(result.stdout.splitlines()) == [
        "- column crm_deals.extra: in the database, not in the models",
        "- index ix_crm_deals_stage on crm_deals(stage_id): in the models, not in the database",
        "- table crm_stray: in the database, not in the models",
    ]  # other_app is not crmkit's business
    assert "differs from the code in 3 way(s)" in result.stderr


# -- plugins: enable, disable, enable; downgrade ---------------------------------------------------


def test_enabling_later_creates_only_its_tables_and_disabling_keeps_them(deploy: Any, clock: FrozenClock) -> None:
    d = deploy()
    deal = d.crm().deals.create(title="Before telephony", amount="10.00")
    before = d.tables()
    events_before = d.count("crm_events")

    d.set_plugins("telephony")
    out = d.ok("db", "upgrade")
    assert out.splitlines()[0].startswith("telephony: applied telephony_0001") and "crmkit: applied" not in out
    assert d.tables() - before == {"telephony_calls"} and before <= d.tables()
    assert d.count("crm_events") == events_before
    _call(d.crm(), clock, "call-1")

    d.set_plugins()  # disabled: its table and rows stay, the deployment starts and works
    crm = d.crm()
    assert "telephony_calls" not in crm.tables and "telephony_calls" in d.tables()
    assert d.count("telephony_calls") == 1
    assert crm.deals.get(deal.id).title == "Before telephony"
    crm.deals.create(title="While telephony is off")
    assert "No drift" in d.ok("db", "check")  # a disabled plugin's tables are not drift
    current = {b["branch"]: b for b in json.loads(d.ok("db", "current", "--json"))["branches"]}
    assert current["telephony"]["enabled"] is False and current["telephony"]["current"] == "telephony_0001"
    assert f"Already at head: crmkit {CORE_HEAD}\n" == d.ok("db", "upgrade")

    d.set_plugins("telephony")  # enabled again: nothing to upgrade, the call is there
    crm = d.crm()
    with crm.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(crm.tables["telephony_calls"])) == 1
    _call(crm, clock, "call-2")
    assert d.count("telephony_calls") == 2


def test_downgrading_one_plugin_drops_only_its_tables(deploy: Any, clock: FrozenClock) -> None:
    d = deploy("telephony", "installments")
    crm = d.crm()
    crm.deals.create(title="Kept", amount="10.00")
    _call(crm, clock, "call-1")
    core_rows = {t: d.count(t) for t in ("crm_deals", "crm_events", "crm_stages")}

    result = d.cli("db", "downgrade", "telephony@-1", input="n\n")
    assert result.exit_code == 1 and "telephony: telephony_0001" in result.stdout
    assert "telephony_calls" in d.tables()  # refused: nothing changed

    out = d.ok("db", "downgrade", "telephony@-1", "--yes")
    assert "telephony: undone telephony_0001" in out
    assert "telephony_calls" not in d.tables()
    assert {"installments_plans", "installments_items"} <= d.tables()
    assert {t: d.count(t) for t in core_rows} == core_rows
    assert d.versions() == expected_versions("crmkit", "installments")
    d.set_plugins("installments")  # what a downgrade to base is for: then disable (or uninstall) it
    d.crm()
    assert "No drift" in d.ok("db", "check")
    d.fails("db", "downgrade", "telephony@-1", contains="'telephony' is not a branch of this deployment")
    d.set_plugins("telephony", "installments")
    d.crm()  # enabled again: installed afresh, empty
    assert d.count("telephony_calls") == 0 and "No drift" in d.ok("db", "check")


def test_a_plugin_without_migrations_has_its_missing_tables_created(deploy: Any) -> None:
    d = deploy()
    d.crm()
    d.set_plugins("example")
    crm = d.crm()
    assert "example_audit" in crm.tables and "example_audit" in d.tables()
    rows = json.loads(d.ok("db", "current", "--json"))["branches"]
    assert {"branch": "example", "enabled": True, "current": None, "head": None,
            "status": "no migrations (tables created when missing)"} in rows


# -- upgrade on start ------------------------------------------------------------------------------


def test_an_embedded_sqlite_deployment_may_upgrade_on_start(db_url: str, tmp_path: Path,
                                                          clock: FrozenClock) -> None:
    if not db_url.startswith("sqlite"):
        settings = _release_1_with_rows(db_url, tmp_path, clock)
        on = attrs.evolve(settings, plugin_settings={"database": {"upgrade_on_start": True}})
        with pytest.raises(ConfigError, match="upgrade_on_start is for an embedded SQLite deployment"):
            Crm(on, plugins=[_release(tmp_path, 2)], clock=clock)
        return
    settings = _release_1_with_rows(db_url, tmp_path, clock, database={"upgrade_on_start": True})
    with Crm(settings, plugins=[_release(tmp_path, 2)], clock=clock) as crm, crm.engine.connect() as conn:
        assert conn.execute(text("SELECT id, note FROM twostep_items")).all() == [(1, None)]
        assert conn.execute(text("SELECT count(*) FROM twostep_parts")).scalar() == 2
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1  # off only during the migration


@pytest.mark.parametrize(("table", "message"), [
    ({"upgrade_on_start": "yes"}, "upgrade_on_start must be true or false, got 'yes'"),
    ({"upgrade": True}, "unknown key 'upgrade' (known: upgrade_on_start)"),
])
def test_database_settings_are_checked(make_crm: Any, table: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape("[settings.database]") + ".*" + re.escape(message)):
        make_crm(settings={"database": table})
