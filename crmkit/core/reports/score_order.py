"""Card lists sorted by a score: ``crm.deals.list(order="-score")`` (leads alike).

The sort value is the card's latest score of the list's model (``lead_win`` by default;
``crm_scores``, written by the ``core.scores`` job); cards without one sort as -1, so they come
last with ``-score`` (best first) and first with ``score``; ties by id. The page cursor carries
(score, id), so pages never skip or repeat; a cursor
with anything else (not a float from 0 to 1 or -1, an id out of range) is a 422 naming ``cursor``.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, Table, and_, func, literal, select

from ..errors import ValidationError
from .tables import scores

ORDERS = ("score", "-score")
DEFAULT_MODEL = "lead_win"
UNSCORED = -1.0


def query(table: Table, entity_type: str, model: str = DEFAULT_MODEL) -> tuple[Select[Any], ColumnElement[float]]:
    """``SELECT table.*, score`` over ``table`` left-joined to its ``model`` scores, and the sort value."""
    s = scores.c
    value = func.coalesce(s.score, literal(UNSCORED))
    joined = table.outerjoin(scores, and_(s.entity_type == entity_type, s.entity_id == table.c.id, s.model == model))
    return select(table, value.label("sort_score")).select_from(joined), value


def apply(stmt: Select[Any], value: ColumnElement[float], table: Table, order: str, cursor: str | None,
          limit: int) -> Select[Any]:
    """``stmt`` ordered by ``value`` (``order``: ``score`` or ``-score``), after ``cursor``, one row over ``limit``."""
    desc, idc = order.startswith("-"), table.c.id
    if cursor:
        after, after_id = _decode(cursor)
        if desc:
            stmt = stmt.where((value < after) | ((value == after) & (idc < after_id)))
        else:
            stmt = stmt.where((value > after) | ((value == after) & (idc > after_id)))
    ordering = (value.desc(), idc.desc()) if desc else (value, idc)
    return stmt.order_by(*ordering).limit(limit + 1)


def encode(row: Row[Any]) -> str:
    """The cursor after ``row``: its sort value and id (opaque text)."""
    raw = json.dumps([float(row.sort_score), row.id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: Any) -> tuple[float, int]:
    bad = ValidationError(f"cursor: {str(cursor)[:100]!r} is not a cursor from a previous page of this order",
                          field="cursor")
    if not isinstance(cursor, str) or len(cursor) > 200:
        raise bad
    try:
        value, ident = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError, RecursionError):
        raise bad from None
    # encode() writes a float: a score (0 to 1, the crm_score contract) or UNSCORED, and an id
    if (not isinstance(value, float) or not (value == UNSCORED or 0.0 <= value <= 1.0)
            or isinstance(ident, bool) or not isinstance(ident, int) or not 1 <= ident <= 2**31 - 1):
        raise bad
    return float(value), ident


def page(service: Any, filters: dict[str, Any], order: str, cursor: str | None, limit: int) -> Any:
    """A :class:`~crmkit.core.records.Page` of ``service``'s cards (within the record rules) by score."""
    from ..records import Page
    from ..services.base import check_limit

    check_limit(limit)
    stmt, value = query(service.table, service.entity, getattr(service, "score_model", DEFAULT_MODEL))
    visible = service.access.visible(service.entity, service.table)
    if visible is not None:
        stmt = stmt.where(visible)
    stmt = apply(service._apply_filters(stmt, filters), value, service.table, order, cursor, limit)
    with service._read() as conn:
        rows = conn.execute(stmt).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return Page([service._record(r) for r in rows], encode(rows[-1]) if more else None)


def scores_for(crm: Any, entity_type: str, ids: list[int], model: str = DEFAULT_MODEL) -> dict[int, float]:
    """The stored ``model`` scores of these cards (those without one left out), in one query."""
    if not ids:
        return {}
    s = scores.c
    with crm.engine.connect() as conn:
        return {r.entity_id: float(r.score) for r in conn.execute(select(s.entity_id, s.score).where(
            s.entity_type == entity_type, s.model == model, s.entity_id.in_(ids)))}
