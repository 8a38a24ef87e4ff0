"""``crmkit db``: the schema of the deployment's database (alembic: one branch for the core and one
per plugin).

``upgrade`` brings the core and every enabled plugin to head; ``current`` and ``history`` show
where each branch stands; ``check`` compares the database with the code (non-zero exit on any
difference); ``downgrade`` undoes one branch's revisions; ``revision`` writes a plugin's next one.
These commands never refuse a database that is behind head (every other command does).
"""

from __future__ import annotations

from typing import Any

import click

from ...core.app import Crm
from ...core.migrations import CORE, layout
from ...core.migrations.layout import installed_branches
from ...core.migrations.state import evaluate, read_rows
from ..output import emit_json, table
from ..params import json_option
from ..state import pass_state


def _crm() -> Crm:
    """The deployment without its start-up schema check (``db`` is how a database gets to head)."""
    state = pass_state()
    crm = Crm(state.settings(), setup=False)
    click.get_current_context().call_on_close(crm.close)
    return crm


def _as_json(as_json: bool) -> bool:
    return as_json or pass_state().json


@click.group("db")
def db() -> None:
    """The database: upgrade, current, history, check, downgrade, revision; backup and restore."""


@db.command("upgrade")
@json_option
def upgrade(as_json: bool) -> None:
    """Bring the core and every enabled plugin to their newest schema (run it after every install or
    upgrade of crmkit or a plugin, and after enabling a plugin). A database made before crmkit had
    migrations is adopted, rows untouched. A disabled plugin's tables stay as they are."""
    from ...core.migrations.runner import upgrade as run

    crm = _crm()
    steps = run(crm)
    heads = [f"{b.name} {b.head}" for b in layout(crm).branches]
    if _as_json(as_json):
        emit_json({"applied": [{"branch": s.branch, "revision": s.revision, "doc": s.doc} for s in steps],
                   "heads": {b.name: b.head for b in layout(crm).branches}})
        return
    for step in steps:
        click.echo(step.describe())
    click.echo(("Upgraded; at head: " if steps else "Already at head: ") + ", ".join(heads))


@db.command("current")
@json_option
def current(as_json: bool) -> None:
    """Where each branch of the database stands (the enabled ones, and disabled plugins' kept tables)."""
    crm = _crm()
    lay = layout(crm)
    with crm.engine.connect() as conn:
        rows = read_rows(conn)
    state = evaluate(lay, rows, complete=True)
    out: list[dict[str, Any]] = []
    for b in state.branches:
        status = "at head" if b.at_head else "not created" if b.current is None else "behind"
        out.append({"branch": b.name, "enabled": True, "current": b.current, "head": b.head, "status": status})
    for b in state.disabled:
        if b.current is not None:
            out.append({"branch": b.name, "enabled": False, "current": b.current, "head": b.head,
                        "status": "disabled (tables kept)"})
    for name in lay.unversioned:
        out.append({"branch": name, "enabled": True, "current": None, "head": None,
                    "status": "no migrations (tables created when missing)"})
    unknown = list(state.unknown)
    if _as_json(as_json):
        emit_json({"branches": out, "unknown_revisions": unknown, "versioned": rows is not None})
        return
    if rows is None and _has_tables(crm):
        click.echo("The database predates migrations: run `crmkit db upgrade` once (it adopts the tables).")
    table(out, [("branch", lambda r: r["branch"]), ("enabled", lambda r: r["enabled"]),
                ("current", lambda r: r["current"] or "-"), ("head", lambda r: r["head"] or "-"),
                ("status", lambda r: r["status"])])
    if unknown:
        click.echo(f"Revisions no installed code ships: {', '.join(unknown)}")


def _has_tables(crm: Crm) -> bool:
    from sqlalchemy import inspect

    with crm.engine.connect() as conn:
        return any(name.startswith("crm_") for name in inspect(conn).get_table_names())


@db.command("history")
@click.argument("branch", required=False)
@json_option
def history(branch: str | None, as_json: bool) -> None:
    """Every revision of the deployment's branches (or of BRANCH), oldest first."""
    crm = _crm()
    lay = layout(crm)
    branches = list(lay.branches)
    if branch is not None:
        branches = [b for b in branches if b.name == branch]
        if not branches:
            others = [b for b in installed_branches([x.name for x in lay.branches]) if b.name == branch]
            if not others:
                raise click.BadParameter(f"{branch!r} is not a branch here (branches: "
                                         f"{', '.join(b.name for b in lay.branches)})", param_hint="BRANCH")
            branches = others
    with crm.engine.connect() as conn:
        rows = read_rows(conn)
    done = evaluate(lay.with_branches(branches), rows, complete=bool(rows))
    current = {b.name: b.current for b in done.branches}
    out = []
    for b in branches:
        for r in b.ordered():
            marks = [m for m, on in (("current", current.get(b.name) == r.id), ("head", b.head == r.id)) if on]
            out.append({"branch": b.name, "revision": r.id, "revises": r.down[0] if r.down else None,
                        "depends_on": list(r.depends_on), "doc": r.doc, "marks": marks})
    if _as_json(as_json):
        emit_json({"revisions": out})
        return
    table(out, [("branch", lambda r: r["branch"]), ("revision", lambda r: r["revision"]),
                ("revises", lambda r: r["revises"] or "<base>"), ("depends on", lambda r: ", ".join(r["depends_on"])),
                ("", lambda r: " ".join(f"({m})" for m in r["marks"])), ("description", lambda r: r["doc"])])


@db.command("check")
@json_option
def check(as_json: bool) -> None:
    """Compare the database with the code: exit 1 and list every difference (a branch behind head, a
    table, column, type, index or constraint that differs from the models). Tables of disabled
    plugins are ignored."""
    from ...core.migrations.runner import check as run

    crm = _crm()
    problems = run(crm)
    names = [b.name for b in layout(crm).branches]
    if _as_json(as_json):
        emit_json({"ok": not problems, "problems": problems})
    elif problems:
        for p in problems:
            click.echo(f"- {p}")
    else:
        click.echo(f"No drift: the database matches the schema of {', '.join(names)}.")
    if problems:
        click.echo(f"Error: the database differs from the code in {len(problems)} way(s) (`crmkit db upgrade` "
                   "fixes a branch behind head; anything else needs a migration)", err=True)
        click.get_current_context().exit(1)


@db.command("downgrade")
@click.argument("target")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def downgrade(target: str, yes: bool) -> None:
    """Undo revisions down to TARGET: BRANCH@-1 (the newest one), BRANCH@base (all of a plugin's, e.g.
    before uninstalling it) or a revision id. Tables a revision created are dropped with their rows."""
    from ...core.migrations.runner import downgrade as run, downgrade_plan

    crm = _crm()
    plan = downgrade_plan(crm, target)
    if not plan:
        click.echo(f"Nothing to undo for {target}.")
        return
    click.echo("Will undo, newest first:")
    for step in plan:
        click.echo(f"  {step.branch}: {step.revision}" + (f" ({step.doc})" if step.doc else ""))
    if CORE in {s.branch for s in plan}:
        click.echo("This includes the core's revisions: the CRM's own data goes with them.")
    if not yes:
        click.confirm("Continue?", abort=True)
    for step in run(crm, target):
        click.echo(step.describe())


@db.command("revision")
@click.argument("branch")
@click.option("-m", "--message", required=True, help="What the revision does (its doc line and file name).")
@click.option("--empty", is_flag=True, help="Write upgrade()/downgrade() to fill in yourself, instead of "
              "comparing the database with the models.")
@click.option("--depends-on-core", is_flag=True, help="Record the core's current head as a dependency "
              "(when the change needs a core revision newer than the branch's first one depends on).")
def revision(branch: str, message: str, empty: bool, depends_on_core: bool) -> None:
    """Write the next revision of BRANCH (an enabled plugin) into its versions/ folder: what the
    database, at the branch's head, lacks to match the plugin's tables, as batch operations (SQLite
    rebuilds a table where it cannot ALTER it). Review the file before you ship it."""
    from ...core.migrations.runner import revision as run

    path = run(_crm(), branch, message, autogenerate=not empty, depends_on_core=depends_on_core)
    click.echo(f"Wrote {path}")


def _attach_backup() -> None:
    from .backup import backup, restore  # crmkit.ops.backup: `crmkit db backup FILE`, `crmkit db restore FILE`

    db.add_command(backup)
    db.add_command(restore)


_attach_backup()
