"""The shape every report answers with, and the before/after comparison of two of them.

A :class:`Report` is a small table: ``keys`` name the columns that identify a row
(a stage, a manager, a month), ``metrics`` the figures. Values are ``int``,
``float`` (ratios, per-100 figures, seconds), :class:`~crmkit.core.money.Money`,
``str`` or ``None`` (nothing to measure).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Mapping

import attrs

from ..money import Money
from .scope import Scope


@attrs.frozen
class Report:
    """One report over one scope."""

    name: str
    keys: tuple[str, ...]
    metrics: tuple[str, ...]
    rows: tuple[Mapping[str, Any], ...]
    scope: Scope

    @property
    def columns(self) -> tuple[str, ...]:
        return self.keys + self.metrics

    def row(self, **key: Any) -> Mapping[str, Any]:
        """The row whose key columns equal ``key`` (``KeyError`` if none)."""
        for r in self.rows:
            if all(r.get(k) == v for k, v in key.items()):
                return r
        raise KeyError(key)

    def to_json(self) -> dict[str, Any]:
        return {"report": self.name, "scope": self.scope.to_json(), "keys": list(self.keys),
                "metrics": list(self.metrics), "rows": [{k: value_json(r.get(k)) for k in self.columns}
                                                         for r in self.rows]}


@attrs.frozen
class Comparison:
    """The same report over two periods: ``before`` (``compare_to``) and ``after`` (the period asked)."""

    before: Report
    after: Report

    @property
    def name(self) -> str:
        return self.after.name

    @property
    def keys(self) -> tuple[str, ...]:
        return self.after.keys

    @property
    def metrics(self) -> tuple[str, ...]:
        return self.after.metrics

    @property
    def rows(self) -> tuple[dict[str, Any], ...]:
        """One row per key seen in either period: for each metric ``m``, ``m_before``, ``m``
        (after) and ``m_change`` (after - before; ``None`` when either side is missing or
        the values are not comparable, e.g. money in two currencies)."""
        def key(r: Mapping[str, Any]) -> tuple[Any, ...]:
            return tuple(r.get(k) for k in self.keys)

        before = {key(r): r for r in self.before.rows}
        after = {key(r): r for r in self.after.rows}
        order = list(after) + [k for k in before if k not in after]
        out = []
        for k in order:
            b, a = before.get(k, {}), after.get(k, {})
            row: dict[str, Any] = dict(zip(self.keys, k))
            for m in self.metrics:
                row[f"{m}_before"], row[m] = b.get(m), a.get(m)
                row[f"{m}_change"] = change(b.get(m), a.get(m))
            out.append(row)
        return tuple(out)

    @property
    def columns(self) -> tuple[str, ...]:
        return self.keys + tuple(c for m in self.metrics for c in (f"{m}_before", m, f"{m}_change"))

    def row(self, **key: Any) -> Mapping[str, Any]:
        """The row whose key columns equal ``key`` (``KeyError`` if none)."""
        for r in self.rows:
            if all(r.get(k) == v for k, v in key.items()):
                return r
        raise KeyError(key)

    def to_json(self) -> dict[str, Any]:
        return {"report": self.name, "scope": self.after.scope.to_json(),
                "compare_to": {"since": _iso(self.before.scope.since), "until": _iso(self.before.scope.until)},
                "keys": list(self.keys), "metrics": list(self.metrics),
                "rows": [{k: value_json(v) for k, v in r.items()} for r in self.rows]}


def change(before: Any, after: Any) -> Any:
    """``after - before`` for numbers and same-currency money; ``None`` otherwise."""
    if before is None or after is None or isinstance(before, bool) or isinstance(after, bool):
        return None
    if isinstance(before, Money) and isinstance(after, Money):
        return Money(after.amount - before.amount, after.currency) if before.currency == after.currency else None
    if isinstance(before, (int, float, Decimal)) and isinstance(after, (int, float, Decimal)):
        return after - before
    return None


def value_json(value: Any) -> Any:
    if isinstance(value, Money):
        return value.to_json()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()
