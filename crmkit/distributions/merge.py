"""Upgrading a deployment to a new release of its distribution: a three-way merge of crmkit.toml.

``base`` is the distribution's defaults as last applied (kept in ``distribution.json``), ``ours``
the deployment's crmkit.toml now, ``theirs`` the new release's defaults. The rules (docs/distributions.md):

1. A value the client never changed (``ours == base``) takes the new default; a default the new
   release drops is dropped.
2. A value the client changed, added or removed is kept as the client has it; when the release
   changed the same value too, a note says which default was not applied.
3. Tables merge key by key with these rules (``[ui]``, ``[settings.<plugin>]``, custom fields, ...).
4. ``plugins`` and ``lost_reasons`` are sets: the release's additions are added and its removals
   removed, the client's own additions and removals stay. A lost reason is never removed (cards
   may refer to it): a reason the release drops stays, with a note.
5. ``pipelines`` merge pipeline by pipeline (by ``key``): a new pipeline is added, one the client
   never changed takes the new declaration, one the client changed is kept whole (with a note if
   the release changed it too); a pipeline the release drops stays (it may hold deals), with a note.
6. Any other list is one value (rule 1 and 2).
"""

from __future__ import annotations

from typing import Any, Mapping

import attrs

_MISSING: Any = object()


@attrs.define
class MergeResult:
    config: dict[str, Any]
    notes: list[str] = attrs.field(factory=list)
    """One line per default the merge did not apply (the client's value kept), for the operator."""


def merge(base: Mapping[str, Any], ours: Mapping[str, Any], theirs: Mapping[str, Any]) -> MergeResult:
    """Merge a release's new defaults (``theirs``) into the deployment's config (``ours``)."""
    notes: list[str] = []
    merged = _table(base, ours, theirs, (), notes)
    return MergeResult(merged, notes)


def _where(path: tuple[str, ...]) -> str:
    return ".".join(path)


def _table(base: Mapping[str, Any], ours: Mapping[str, Any], theirs: Mapping[str, Any], path: tuple[str, ...],
           notes: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    keys = list(ours) + [k for k in theirs if k not in ours]
    for key in keys:
        b, o, t = base.get(key, _MISSING), ours.get(key, _MISSING), theirs.get(key, _MISSING)
        value = _value(b, o, t, (*path, key), notes)
        if value is not _MISSING:
            out[key] = value
    return out


def _value(b: Any, o: Any, t: Any, path: tuple[str, ...], notes: list[str]) -> Any:
    if not path[:-1]:  # top level: the keys with their own rules
        if path[-1] in ("plugins", "lost_reasons"):
            return _set(b, o, t, path, notes, keep_removed=path[-1] == "lost_reasons")
        if path[-1] == "pipelines":
            return _pipelines(b, o, t, notes)
    if all(isinstance(v, Mapping) or v is _MISSING for v in (b, o, t)) and o is not _MISSING and t is not _MISSING:
        return _table(b if b is not _MISSING else {}, o, t, path, notes)
    if o == b:  # untouched by the client: the release's value (or none, if it dropped it)
        return t
    if t != b and t != o:  # both changed it
        shown = "drops it" if t is _MISSING else f"has {_short(t)}"
        notes.append(f"{_where(path)}: kept your value; the new release {shown}")
    return o


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _identity(item: Any) -> Any:
    if isinstance(item, Mapping):
        return item.get("key", repr(sorted(item.items())))
    return item


def _set(b: Any, o: Any, t: Any, path: tuple[str, ...], notes: list[str], *, keep_removed: bool) -> Any:
    base = list(b) if isinstance(b, list) else []
    theirs = list(t) if isinstance(t, list) else []
    if o is _MISSING:
        return theirs if not base else _MISSING  # the client removed the whole list: keep it removed
    if not isinstance(o, list):
        return o
    base_ids = {_identity(x) for x in base}
    their_ids = {_identity(x) for x in theirs}
    out = []
    for item in o:
        ident = _identity(item)
        if ident in base_ids and ident not in their_ids:
            if keep_removed:
                notes.append(f"{_where(path)}: kept {_short(ident)} (the new release drops it; cards may use it)")
            else:
                continue
        out.append(item)
    ours_ids = {_identity(x) for x in out}
    for item in theirs:
        ident = _identity(item)
        if ident not in base_ids and ident not in ours_ids:
            out.append(item)
    return out


def _pipelines(b: Any, o: Any, t: Any, notes: list[str]) -> Any:
    base = {p.get("key"): p for p in b} if isinstance(b, list) else {}
    theirs = {p.get("key"): p for p in t} if isinstance(t, list) else {}
    if o is _MISSING:
        return list(theirs.values()) if not base else _MISSING
    out = []
    seen = set()
    for p in o:
        key = p.get("key") if isinstance(p, Mapping) else None
        seen.add(key)
        if key not in base:  # the client's own pipeline
            out.append(p)
        elif key not in theirs:
            out.append(p)
            notes.append(f"pipelines.{key}: kept (the new release drops it; it may hold deals)")
        elif p == base[key]:
            out.append(theirs[key])
        else:
            if theirs[key] != base[key]:
                notes.append(f"pipelines.{key}: kept your version; the new release changes it")
            out.append(p)
    for key, p in theirs.items():
        if key not in base and key not in seen:
            out.append(p)
    return out
