"""The public API's edge: which crmkit imports a plugin may use, and a checker that finds the others.

Public: ``crmkit`` (the names in ``crmkit.__all__``) and the modules ``crmkit.events``,
``crmkit.web``, ``crmkit.ui``, ``crmkit.cli`` and ``crmkit.testing`` (the names in their ``__all__``).
Anything else (``crmkit.core.*``, ``crmkit.web.errors``, ``crmkit.cli.state``, ...) is internal.

:func:`private_imports` reads Python files with :mod:`ast` (nothing is imported or run) and
reports every ``import``/``from ... import`` of an internal module or name, and every attribute
path ``crmkit.<internal>...`` -- under ``if TYPE_CHECKING:`` too: a type can move like anything else.
"""

from __future__ import annotations

import ast
import importlib
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Iterator

PUBLIC_MODULES = ("crmkit", "crmkit.events", "crmkit.web", "crmkit.ui", "crmkit.cli", "crmkit.testing")


@lru_cache(maxsize=None)
def public_names(module: str) -> frozenset[str]:
    """The names ``module`` (a public module) exports."""
    return frozenset(getattr(importlib.import_module(module), "__all__", ()))


def _suggest(name: str) -> str:
    for module in PUBLIC_MODULES:
        if name in public_names(module):
            return f" (public: `from {module} import {name}`)"
    return ""


def check_import(module: str, names: Iterable[str] = ()) -> list[str]:
    """Why ``from module import names`` (or ``import module``) reaches past the public API (empty: it doesn't)."""
    if module != "crmkit" and not module.startswith("crmkit."):
        return []
    if module not in PUBLIC_MODULES:
        named = list(names)
        hint = "".join(_suggest(n) for n in named[:1])
        what = f"from {module} import {', '.join(named)}" if named else f"import {module}"
        return [f"`{what}`: {module} is internal{hint}"]
    problems = []
    for name in names:
        if name != "*" and name not in public_names(module) and f"{module}.{name}" not in PUBLIC_MODULES:
            problems.append(f"`from {module} import {name}`: {name} is not in {module}'s public API{_suggest(name)}")
    return problems


def private_imports(files: Iterable[Path], *, root: Path | None = None) -> list[str]:
    """``path:line: why`` for each use of an internal crmkit module or name in ``files``."""
    out: list[str] = []
    for path in files:
        shown = path.relative_to(root) if root is not None and path.is_relative_to(root) else path
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, problem in _problems(tree):
            out.append(f"{shown}:{line}: {problem}")
    return out


def python_files(directory: Path) -> list[Path]:
    """The ``.py`` files under ``directory`` (build output, virtualenvs and caches left out)."""
    skip = {"build", "dist", ".venv", "venv", "__pycache__", ".mypy_cache", ".tox", ".git"}
    return sorted(p for p in directory.rglob("*.py")
                  if not skip.intersection(p.relative_to(directory).parts) and ".egg-info" not in str(p))


def _problems(tree: ast.AST) -> Iterator[tuple[int, str]]:
    inner = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}  # a.b of a.b.c
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                for problem in check_import(alias.name):
                    yield node.lineno, problem
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for problem in check_import(node.module, [a.name for a in node.names]):
                yield node.lineno, problem
        elif isinstance(node, ast.Attribute) and id(node) not in inner:
            path = _dotted(node)
            if path and path.startswith("crmkit."):
                yield from ((node.lineno, p) for p in _attribute_problem(path))


def _attribute_problem(path: str) -> list[str]:
    """``crmkit.x.y``: the first step past a public module must be one of its public names."""
    parts = path.split(".")
    module = "crmkit"
    for part in parts[1:]:
        candidate = f"{module}.{part}"
        if candidate in PUBLIC_MODULES:
            module = candidate
            continue
        if part in public_names(module):
            return []
        return [f"`{path}`: {part} is not in {module}'s public API{_suggest(part)}"]
    return []


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None
