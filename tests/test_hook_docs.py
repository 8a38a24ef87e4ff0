"""docs/hooks.md documents every core hook with its exact signature (datasette's test_docs idea)."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path
from typing import Any, Callable

import pytest

from crmkit.core import hookspecs

DOCS = Path(__file__).resolve().parent.parent / "docs"
HEADING = re.compile(r"^#{2,4} `?([a-z_][a-z0-9_]*)\(([^)]*)\)`?\s*$", re.MULTILINE)
CODE = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _specs() -> dict[str, Callable[..., Any]]:
    marker = f"{hookspecs.PROJECT}_spec"
    return {
        name: fn for name, fn in vars(hookspecs).items()
        if inspect.isfunction(fn) and hasattr(fn, marker)
    }


def _documented() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, args in HEADING.findall((DOCS / "hooks.md").read_text()):
        assert name not in found, f"{name} is documented twice in docs/hooks.md"
        found[name] = [a.strip() for a in args.split(",") if a.strip()]
    return found


def _sections() -> dict[str, str]:
    """Each hook's part of hooks.md: from its heading to the next heading."""
    text = (DOCS / "hooks.md").read_text()
    marks = [(m.group(1), m.start()) for m in HEADING.finditer(text)]
    ends = [m.start() for m in re.finditer(r"^#{2,4} ", text, re.MULTILINE)]
    return {name: text[start:min([e for e in ends if e > start], default=len(text))] for name, start in marks}


SPECS = _specs()


def test_hookspecs_found() -> None:
    assert len(SPECS) >= 9
    assert all(name.startswith("crm_") for name in SPECS)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_hook_is_documented_with_its_signature(name: str) -> None:
    documented = _documented()
    assert name in documented, f"hook {name} is not documented in docs/hooks.md (add a '### {name}(...)' section)"
    expected = list(inspect.signature(SPECS[name]).parameters)
    assert documented[name] == expected, f"docs/hooks.md documents {name}({', '.join(documented[name])}), " \
                                         f"the spec is {name}({', '.join(expected)})"


def test_every_documented_hook_exists() -> None:
    extra = sorted(set(_documented()) - set(SPECS))
    assert not extra, f"docs/hooks.md documents hooks that crmkit.core.hookspecs does not have: {extra}"


@pytest.mark.parametrize("name", sorted(SPECS))
def test_hook_has_a_docstring_and_an_example(name: str) -> None:
    assert inspect.getdoc(SPECS[name]), f"hookspec {name} has no docstring"
    section = _sections()[name]
    examples = [ast.parse(code) for code in CODE.findall(section)]
    impls = [
        node for tree in examples for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name
    ]
    assert impls, f"docs/hooks.md: the section of {name} has no example implementation"
    allowed = set(inspect.signature(SPECS[name]).parameters)
    for impl in impls:
        assert any(ast.unparse(d) in ("hookimpl", "crmkit.hookimpl") or ast.unparse(d).startswith("hookimpl(")
                   for d in impl.decorator_list), f"the example of {name} is not decorated with @hookimpl"
        args = {a.arg for a in impl.args.args} - {"self"}
        assert args <= allowed, f"the example of {name} takes {sorted(args - allowed)}, which the hook does not pass"


def test_architecture_lists_every_hook() -> None:
    text = (DOCS / "architecture.md").read_text()
    missing = [name for name in SPECS if f"`{name}`" not in text]
    assert not missing, f"docs/architecture.md does not list hooks {missing}"


def test_configuration_documents_every_key() -> None:
    from crmkit.core import settings

    text = (DOCS / "configuration.md").read_text()
    headings = set(re.findall(r"^### (?:\[\[)?\[?([a-z_]+)", text, re.MULTILINE))
    missing = sorted(settings.TOP_LEVEL_KEYS - headings)
    assert not missing, f"docs/configuration.md does not document crmkit.toml key(s) {missing}"
