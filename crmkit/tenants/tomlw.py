"""A small TOML writer for the files crmkit itself writes (``tenants.toml``, merged crmkit.toml
defaults): strings, booleans, integers, floats, lists and nested tables. ``tomllib`` reads them back."""

from __future__ import annotations

import json
import re
from typing import Any, Mapping

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def key(name: str) -> str:
    return name if _BARE.match(name) else json.dumps(name, ensure_ascii=False)


def value(v: Any) -> str:
    """``v`` as an inline TOML value."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{key(k)} = {value(x)}" for k, x in v.items()) + " }" if v else "{}"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def dumps(doc: Mapping[str, Any], _path: tuple[str, ...] = ()) -> str:
    """``doc`` as TOML: plain values first, then one ``[table]`` section per nested mapping (top-level
    lists of mappings as ``[[array]]`` sections, deeper ones as arrays of inline tables)."""
    lines: list[str] = []
    tables: list[tuple[str, Mapping[str, Any]]] = []
    arrays: list[tuple[str, list[Mapping[str, Any]]]] = []
    for k, v in doc.items():
        if isinstance(v, Mapping):
            tables.append((k, v))
        elif isinstance(v, (list, tuple)) and v and all(isinstance(x, Mapping) for x in v):
            if _path:  # nested: one inline table a line (pipelines' stages)
                lines.append(f"{key(k)} = [\n" + "".join(f"    {value(x)},\n" for x in v) + "]")
            else:
                arrays.append((k, list(v)))
        else:
            lines.append(f"{key(k)} = {value(v)}")
    out = "\n".join(lines) + ("\n" if lines else "")
    for k, items in arrays:
        name = ".".join(key(p) for p in (*_path, k))
        for item in items:
            out += f"\n[[{name}]]\n" + dumps(item, (*_path, k))
    for k, v in tables:
        name = ".".join(key(p) for p in (*_path, k))
        body = dumps(v, (*_path, k))
        plain = any(not isinstance(x, Mapping) for x in v.values()) or not v
        out += (f"\n[{name}]\n" if plain else "") + body
    return out
