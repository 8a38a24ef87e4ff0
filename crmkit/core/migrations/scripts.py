"""Revision files read without alembic: what a branch's head is, what a database's rows imply.

A deployment's start-up only needs to know whether each enabled branch is at its
head. That needs the revision graph (``revision``, ``down_revision``,
``depends_on`` of every file), not alembic's runtime, which costs ~75 ms to
import: the files are parsed here with :mod:`ast` (their identifiers must be
literals, as alembic writes them) and cached per directory until a file changes.
"""

from __future__ import annotations

import ast
import os
import threading
from pathlib import Path
from typing import Iterable, Mapping

import attrs

from ..errors import ConfigError

VERSION_NUM_LENGTH = 32
"""alembic_version.version_num is VARCHAR(32)."""


@attrs.frozen
class Revision:
    """One revision file."""

    id: str
    down: tuple[str, ...]
    depends_on: tuple[str, ...]
    branch_labels: tuple[str, ...]
    doc: str
    path: Path

    @property
    def parents(self) -> tuple[str, ...]:
        """Everything that must be applied before this one (its down revisions and dependencies)."""
        return self.down + self.depends_on


@attrs.frozen
class Branch:
    """A linear line of revisions owned by the core (``crmkit``) or one plugin (its name)."""

    name: str
    directory: Path
    revisions: tuple[Revision, ...]

    @property
    def head(self) -> str:
        ids = {r.id for r in self.revisions}
        below = {d for r in self.revisions for d in r.down if d in ids}
        heads = [r.id for r in self.revisions if r.id not in below]
        return heads[0]

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(r.id for r in self.revisions)

    def ordered(self) -> list[Revision]:
        """Base first."""
        by_down = {d: r for r in self.revisions for d in (r.down or ("",))}
        out: list[Revision] = []
        nxt = by_down.get("")
        while nxt is not None:
            out.append(nxt)
            nxt = by_down.get(nxt.id)
        return out


_cache: dict[Path, tuple[tuple[tuple[str, int], ...], tuple[Revision, ...]]] = {}
_cache_lock = threading.Lock()


def read_branch(name: str, directory: Path) -> Branch:
    """The branch whose revision files are in ``directory`` (checked: one root labelled ``name``, one head)."""
    revisions = read_directory(directory)
    where = f"migrations of {name} ({directory})"
    if not revisions:
        raise ConfigError(f"{where}: no revision files")
    roots = [r for r in revisions if not r.down]
    if len(roots) != 1:
        raise ConfigError(f"{where}: {len(roots)} first revisions (down_revision = None); a branch has one")
    if name not in roots[0].branch_labels:
        raise ConfigError(f"{where}: the first revision {roots[0].id} must have branch_labels = ({name!r},)")
    ids = {r.id for r in revisions}
    for r in revisions:
        missing = [d for d in r.down if d not in ids]
        if missing:
            raise ConfigError(f"{where}: {r.id} revises {', '.join(missing)}, which is not in this directory")
    below = {d for r in revisions for d in r.down}
    heads = sorted(r.id for r in revisions if r.id not in below)
    if len(heads) != 1 or any(len(r.down) > 1 for r in revisions):
        raise ConfigError(f"{where}: revisions must form one line; heads: {', '.join(heads)}")
    return Branch(name, directory, revisions)


def read_directory(directory: Path) -> tuple[Revision, ...]:
    """Every revision file in ``directory`` (cached until a file is added, removed or changed)."""
    try:
        entries = sorted(
            (e.name, e.stat().st_mtime_ns) for e in os.scandir(directory)
            if e.name.endswith(".py") and not e.name.startswith(("__init__", ".#")) and e.is_file()
        )
    except OSError as exc:
        raise ConfigError(f"migrations: cannot read {directory}: {exc.strerror or exc}") from None
    key = tuple(entries)
    with _cache_lock:
        cached = _cache.get(directory)
        if cached is not None and cached[0] == key:
            return cached[1]
    revisions = tuple(_parse(directory / name) for name, _ in entries)
    seen: dict[str, Path] = {}
    for r in revisions:
        if r.id in seen:
            raise ConfigError(f"migrations: revision {r.id} is in both {seen[r.id]} and {r.path}")
        seen[r.id] = r.path
    with _cache_lock:
        _cache[directory] = (key, revisions)
    return revisions


def _parse(path: Path) -> Revision:
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (OSError, SyntaxError, ValueError) as exc:
        raise ConfigError(f"migrations: cannot read {path}: {exc}") from None
    values: dict[str, object] = {}
    for node in tree.body:
        target, value = None, None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        if isinstance(target, ast.Name) and value is not None and target.id in _KEYS:
            try:
                values[target.id] = ast.literal_eval(value)
            except ValueError:
                raise ConfigError(f"migrations: {path}: {target.id} must be a literal") from None
    revision = values.get("revision")
    if not isinstance(revision, str) or not revision:
        raise ConfigError(f"migrations: {path} has no `revision = \"...\"`")
    if len(revision) > VERSION_NUM_LENGTH or ":" in revision or "@" in revision:
        raise ConfigError(f"migrations: {path}: revision {revision!r} must be at most 32 characters, without : or @")
    doc = (ast.get_docstring(tree) or "").strip()
    return Revision(
        id=revision, down=_ids(values.get("down_revision"), path, "down_revision"),
        depends_on=_ids(values.get("depends_on"), path, "depends_on"),
        branch_labels=_ids(values.get("branch_labels"), path, "branch_labels"),
        doc=doc.splitlines()[0] if doc else "", path=path,
    )


_KEYS = frozenset({"revision", "down_revision", "depends_on", "branch_labels"})


def _ids(value: object, path: Path, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (tuple, list)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigError(f"migrations: {path}: {key} must be a string, a tuple of strings or None")


def applied(rows: Iterable[str], revisions: Mapping[str, Revision]) -> set[str]:
    """Every revision a database with these ``alembic_version`` rows has applied (alembic keeps only
    the newest ones: a revision another depends on is folded into it). Unknown rows are kept as they are."""
    out: set[str] = set()
    todo = list(rows)
    while todo:
        rev = todo.pop()
        if rev in out:
            continue
        out.add(rev)
        found = revisions.get(rev)
        if found is not None:
            todo.extend(found.parents)
    return out


def stamp_rows(heads: Iterable[str], revisions: Mapping[str, Revision]) -> list[str]:
    """The ``alembic_version`` rows of a database at ``heads`` (as ``alembic stamp`` writes them:
    a head another head depends on is folded into it)."""
    heads = list(dict.fromkeys(heads))
    implied: set[str] = set()
    for h in heads:
        implied |= applied(revisions[h].parents, revisions)
    return sorted(h for h in heads if h not in implied)
