"""alembic, driven in code: what ``crmkit db`` runs (and a SQLite ``upgrade_on_start``).

No alembic.ini and no env.py: a :class:`~alembic.script.ScriptDirectory` over the branches'
``versions/`` folders and an :class:`~alembic.runtime.environment.EnvironmentContext` whose
work function this module gives, on one connection in one transaction:

* PostgreSQL: transactional DDL, and an advisory lock so that two upgrades never interleave;
* SQLite: ``BEGIN IMMEDIATE`` (one writer), foreign keys off while tables are rebuilt by batch
  operations (SQLite would otherwise delete or refuse rows that reference a rebuilt table), and
  ``PRAGMA foreign_key_check`` before the commit.

Either the whole upgrade commits or nothing does.
"""

from __future__ import annotations

import io
import re
import tokenize
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence

import attrs
from alembic.autogenerate import compare_metadata, produce_migrations, render_python_code
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext, MigrationInfo
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, MetaData, Table
from sqlalchemy.types import TypeDecorator

from ..db import WRITE_OPTION
from ..errors import ConfigError, ValidationError
from .layout import CORE, CORE_DIRECTORY, Layout, layout
from .scripts import VERSION_NUM_LENGTH, stamp_rows
from .startup import _lock, model_metadatas
from .state import VERSION_TABLE, DatabaseState, SchemaBehindError, evaluate, read_rows, unknown_message

if TYPE_CHECKING:  # pragma: no cover
    from ..app import Crm


@attrs.frozen
class Step:
    """One revision applied (or undone)."""

    branch: str
    revision: str
    upgrade: bool
    doc: str

    def describe(self) -> str:
        arrow = "applied" if self.upgrade else "undone"
        return f"{self.branch}: {arrow} {self.revision}" + (f" ({self.doc})" if self.doc else "")


# -- the connection ------------------------------------------------------------------------------


@contextmanager
def migration_connection(crm: "Crm") -> Iterator[Connection]:
    """One write transaction for a schema change (see the module doc)."""
    with crm.write_gate():
        with crm.engine.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            if sqlite:  # outside any transaction: inside one SQLite ignores it
                conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
            try:
                conn.execution_options(**{WRITE_OPTION: True})
                with conn.begin():
                    _lock(conn)
                    yield conn
                    if sqlite:
                        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                        if broken:
                            table, rowid, parent = broken[0][0], broken[0][1], broken[0][2]
                            raise ConfigError(f"migration left {len(broken)} row(s) referencing missing rows "
                                              f"(e.g. {table} row {rowid} -> {parent}); nothing was changed")
            finally:
                if sqlite:
                    conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]


def script_directory(lay: Layout) -> ScriptDirectory:
    return ScriptDirectory(str(CORE_DIRECTORY), version_locations=[str(b.directory) for b in lay.branches])


def _run(conn: Connection, lay: Layout, script: ScriptDirectory,
         work: Callable[[Any, MigrationContext], Any]) -> list[Step]:
    config = Config()
    config.set_main_option("script_location", str(CORE_DIRECTORY))
    branch_of = {r.id: b.name for b in lay.branches for r in b.revisions}
    docs = {r.id: r.doc for b in lay.branches for r in b.revisions}
    done: list[Step] = []

    def record(ctx: MigrationContext, step: MigrationInfo, heads: Any, run_args: Any) -> None:
        rev = step.up_revision_id or ""
        done.append(Step(branch=branch_of.get(rev, "?"), revision=rev, upgrade=step.is_upgrade, doc=docs.get(rev, "")))

    with EnvironmentContext(config, script, fn=work) as env:
        env.configure(connection=conn, on_version_apply=record, version_table=VERSION_TABLE)
        try:
            env.run_migrations()
        except CommandError as exc:
            raise ValidationError(f"migrations: {exc}") from None
    return done


def _complete_state(conn: Connection, lay: Layout) -> DatabaseState:
    state = evaluate(lay, read_rows(conn), complete=True)
    if state.unknown:
        raise SchemaBehindError(unknown_message(state.unknown))
    return state


# -- commands ------------------------------------------------------------------------------------


def upgrade(crm: "Crm", branches: Iterable[str] | None = None) -> list[Step]:
    """Bring the core and every enabled plugin (or only ``branches``) to their heads; a disabled
    plugin's branch is left as it is. A database made before migrations is adopted by the first
    revisions. Returns what ran."""
    lay = layout(crm)
    wanted = set(branches) if branches is not None else {b.name for b in lay.branches}
    with migration_connection(crm) as conn:
        state = _complete_state(conn, lay)  # read under the lock: another process may have done it
        if all(b.at_head for b in state.branches if b.name in wanted):
            return []
        script = script_directory(state.layout)
        # alembic refuses targets that imply each other (a plugin's head depends on the core's)
        heads = (b.head for b in lay.branches if b.name in wanted)
        targets = tuple(stamp_rows(heads, state.layout.revisions))

        def work(rev: Any, context: MigrationContext) -> Any:
            return script._upgrade_revs(targets, rev)  # type: ignore[arg-type]

        return _run(conn, state.layout, script, work)


def downgrade_plan(crm: "Crm", target: str) -> list[Step]:
    """What :func:`downgrade` would undo, newest first (nothing is changed)."""
    lay = layout(crm)
    _check_target(lay, target)
    with crm.engine.connect() as conn:
        state = _complete_state(conn, lay)
        script = script_directory(state.layout)
        branch_of = {r.id: b.name for b in state.layout.branches for r in b.revisions}
        try:
            steps = script._downgrade_revs(target, state.rows or ())  # type: ignore[arg-type]
        except CommandError as exc:
            raise ValidationError(f"migrations: {exc}", field="target") from None
    return [Step(branch_of.get(s.revision.revision, "?"), s.revision.revision, False, s.doc or "") for s in steps]


def downgrade(crm: "Crm", target: str) -> list[Step]:
    """Undo revisions down to ``target`` (``telephony@-1``, ``telephony@base``, a revision id).
    The tables a revision made are dropped with their rows."""
    lay = layout(crm)
    _check_target(lay, target)
    with migration_connection(crm) as conn:
        state = _complete_state(conn, lay)
        script = script_directory(state.layout)

        def work(rev: Any, context: MigrationContext) -> Any:
            return script._downgrade_revs(target, rev)

        return _run(conn, state.layout, script, work)


_TARGET = re.compile(r"^(?P<branch>[a-z][a-z0-9_]*)@(?P<where>base|head|-\d+|[A-Za-z0-9_]+)$")


def _check_target(lay: Layout, target: str) -> None:
    m = _TARGET.match(target)
    names = [b.name for b in lay.branches]
    if m is None:
        if target in lay.revisions:
            return
        raise ValidationError(f"target: give <branch>@-1, <branch>@base or a revision id (branches: {', '.join(names)})",
                              field="target")
    if m["branch"] not in names:
        raise ValidationError(f"target: {m['branch']!r} is not a branch of this deployment (branches: "
                              f"{', '.join(names)}; a plugin must be enabled to be downgraded)", field="target")


# -- drift -----------------------------------------------------------------------------------------


def check(crm: "Crm") -> list[str]:
    """Differences between the database and the code: a branch behind head, then every table, column,
    index or constraint the models and the database disagree on (alembic's autogenerate comparison).
    Tables of disabled plugins are not the deployment's business and are ignored. Empty: no drift."""
    lay = layout(crm)
    metadatas = model_metadatas(crm)
    with crm.engine.connect() as conn:
        state = evaluate(lay, read_rows(conn), complete=True)
        problems = [f"{b.name}: at {b.current or 'nothing (not created)'}, head is {b.head}" for b in state.behind]
        problems += [f"revision {r} in {VERSION_TABLE}: no installed code ships it" for r in state.unknown]
        problems += [describe(d) for d in compare(conn, metadatas, owners=_owners(lay))]
    return problems


def _owners(lay: Layout) -> tuple[str, ...]:
    """The table-name prefixes of what the deployment runs: a table of the database with one of
    these prefixes that no model has is drift; others (a disabled plugin's) are left alone."""
    return ("crm_", *(f"{b.name}_" for b in lay.branches if b.name != CORE), *(f"{n}_" for n in lay.unversioned))


def compare(conn: Connection, metadatas: Sequence[MetaData], *, owners: Sequence[str]) -> list[Any]:
    modelled = {name for md in metadatas for name in md.tables}

    def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
        if type_ == "table":
            return name != VERSION_TABLE and (name in modelled or (name or "").startswith(tuple(owners)))
        return True

    context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include_name})
    return list(_flatten(compare_metadata(context, list(metadatas))))  # type: ignore[arg-type]


def _flatten(diffs: Sequence[Any]) -> Iterator[Any]:
    for d in diffs:
        if isinstance(d, list):  # column modifications come grouped
            yield from d
        else:
            yield d


def describe(diff: Any) -> str:
    """One line for one autogenerate difference."""
    kind = diff[0]
    if kind in ("add_table", "remove_table"):
        table: Table = diff[1]
        return f"table {table.name}: " + ("in the models, not in the database" if kind == "add_table"
                                          else "in the database, not in the models")
    if kind in ("add_column", "remove_column"):
        _, _, tname, col = diff
        return f"column {tname}.{col.name}: " + ("in the models, not in the database" if kind == "add_column"
                                                 else "in the database, not in the models")
    if kind.startswith("modify_"):
        _, _, tname, cname, _, old, new = diff
        what = kind[len("modify_"):]
        return f"column {tname}.{cname}: {what} is {old!r} in the database, {new!r} in the models"
    if kind in ("add_index", "remove_index"):
        index = diff[1]
        cols = ", ".join(c.name for c in index.columns) if index.columns else ""
        where = "in the models, not in the database" if kind == "add_index" else "in the database, not in the models"
        return f"index {index.name} on {index.table.name}({cols}): {where}"
    if kind in ("add_constraint", "remove_constraint", "add_fk", "remove_fk"):
        constraint = diff[1]
        where = "in the models, not in the database" if kind.startswith("add") else "in the database, not in the models"
        cols = ", ".join(c.name for c in constraint.columns) if hasattr(constraint, "columns") else ""
        name = constraint.name or type(constraint).__name__
        return f"{name} on {constraint.table.name}({cols}): {where}"
    return " ".join(str(x) for x in diff)


# -- new revisions (plugin authors) ----------------------------------------------------------------


def revision(crm: "Crm", branch_name: str, message: str, *, autogenerate: bool = True,
             depends_on_core: bool = False) -> Path:
    """Write the next revision file of ``branch_name`` (an enabled plugin, or the core) and return it.

    With ``autogenerate`` the file holds what the database (at the branch's head) lacks to match the
    plugin's models, as batch operations (SQLite rebuilds a table where ALTER cannot). Review it: a
    rename is seen as a drop and an add.
    """
    lay = layout(crm)
    branch = lay.branch(branch_name)
    if branch is None:
        raise ValidationError(f"{branch_name!r} is not a branch of this deployment "
                              f"(branches: {', '.join(b.name for b in lay.branches)})", field="branch")
    if not message.strip():
        raise ValidationError("message: say what the revision does", field="message")
    number = len(branch.revisions) + 1
    rev = f"{branch.name[:VERSION_NUM_LENGTH - 5]}_{number:04d}"
    if rev in lay.revisions:
        raise ValidationError(f"revision {rev} exists already", field="branch")
    upgrade_ops, downgrade_ops = "pass", "pass"
    if autogenerate:
        with crm.engine.connect() as conn:
            state = evaluate(lay, read_rows(conn))
            current = next(b for b in state.branches if b.name == branch.name).current
            if current != branch.head:
                raise SchemaBehindError(f"{branch.name} is at {current or 'nothing'} in the database, its head is "
                                        f"{branch.head}: run `crmkit db upgrade` before generating the next revision")
            upgrade_ops, downgrade_ops = _autogenerate(conn, _branch_metadatas(crm, branch.name))
    depends = f'"{lay.branch(CORE).head}"' if depends_on_core and branch.name != CORE else "None"  # type: ignore[union-attr]
    slug = re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")[:40] or "revision"
    path = branch.directory / f"{rev}_{slug}.py"
    path.write_text(_REVISION.format(
        message=" ".join(message.split()), rev=rev, down=branch.head, depends=depends,
        depends_doc=depends.strip('"') if depends != "None" else "-",
        upgrade=upgrade_ops, downgrade=downgrade_ops,
    ), encoding="utf-8")
    return path


_REVISION = '''"""{message}

Revision ID: {rev}
Revises: {down}
Depends on: {depends_doc}
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "{rev}"
down_revision = "{down}"
branch_labels = None
depends_on = {depends}


def upgrade() -> None:
    {upgrade}


def downgrade() -> None:
    {downgrade}
'''


def _branch_metadatas(crm: "Crm", name: str) -> list[MetaData]:
    if name == CORE:
        return [md for md in model_metadatas(crm) if any(t.startswith("crm_") for t in md.tables)]
    others = [p for p in crm.pm.get_plugins() if crm.pm.get_name(p) != name]
    out: dict[int, MetaData] = {}
    for result in crm.pm.subset_hook_caller("crm_register_tables", remove_plugins=others)(crm=crm):
        for md in [result] if isinstance(result, MetaData) else [t.metadata for t in result or ()]:
            out.setdefault(id(md), md)
    return list(out.values())


def _render_type(type_: str, obj: Any, autogen_context: Any) -> Any:
    """Frozen revisions: a column type is written as the SQLAlchemy type it stores as."""
    if type_ == "type" and isinstance(obj, TypeDecorator):
        impl = obj.impl_instance if hasattr(obj, "impl_instance") else obj.impl
        return f"sa.{impl!r}"
    return False


def _autogenerate(conn: Connection, metadatas: Sequence[MetaData]) -> tuple[str, str]:
    modelled = {name for md in metadatas for name in md.tables}

    def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
        return name in modelled if type_ == "table" else True

    context = MigrationContext.configure(conn, opts={
        "compare_type": True, "include_name": include_name, "render_as_batch": True,
        "render_item": _render_type, "target_metadata": list(metadatas),
    })
    script = produce_migrations(context, list(metadatas))  # type: ignore[arg-type]
    opts = {"render_as_batch": True, "render_item": _render_type}
    up = render_python_code(script.upgrade_ops, **opts)  # type: ignore[arg-type]
    down = render_python_code(script.downgrade_ops, **opts)  # type: ignore[arg-type]
    return _body(up), _body(down)


def _body(code: str) -> str:
    lines = [line for line in code.splitlines() if not line.strip().startswith("# ###")]
    text = _double_quoted("\n".join(lines)).strip()
    return text if text else "pass"


def _double_quoted(code: str) -> str:
    """alembic renders 'strings'; crmkit's code (and ruff's default) uses "strings"."""
    out, last = [], 0
    lines = code.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, SyntaxError):
        return code
    for tok in tokens:
        if tok.type == tokenize.STRING and tok.string.startswith("'") and not any(c in tok.string[1:-1] for c in "'\"\\"):
            start = offsets[tok.start[0] - 1] + tok.start[1]
            end = offsets[tok.end[0] - 1] + tok.end[1]
            out.append(code[last:start] + '"' + tok.string[1:-1] + '"')
            last = end
    out.append(code[last:])
    return "".join(out)
