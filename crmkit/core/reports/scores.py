"""Reading the stored scores: a card's scores, and cards ranked by a model's score.

    ranked(crm.as_user(alice.id), "deal", "lead_win").items   # [(Deal, 0.81), (Deal, 0.77), ...]
    scores_of(crm.as_user(alice.id), "deal", 42)              # {"lead_win": 0.81}
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any, Mapping

from sqlalchemy import and_, select

from ..errors import ValidationError
from ..records import Page
from ..services.base import check_limit
from .tables import scores

if TYPE_CHECKING:  # pragma: no cover
    from ..app import Crm
    from ..services import Services

SERVICES = {"lead": "leads", "deal": "deals", "contact": "contacts", "company": "companies"}
_CURSOR = re.compile(r"^(-?[0-9.e+-]{1,30}):([0-9]{1,10})$")


def _service(who: "Crm | Services", entity_type: str) -> Any:
    services = who.as_user(None) if hasattr(who, "as_user") else who  # a Crm: the system
    if entity_type not in SERVICES:
        raise ValidationError(f"entity_type: one of {', '.join(SERVICES)}", field="entity_type")
    return getattr(services, SERVICES[entity_type])


def scores_of(who: "Crm | Services", entity_type: str, ident: int) -> dict[str, float]:
    """Every model's latest score of one card the user may read (``get`` answers 404 otherwise)."""
    svc = _service(who, entity_type)
    svc.get(ident)
    s = scores.c
    with svc.crm.engine.connect() as conn:
        return {r.model: r.score for r in conn.execute(
            select(s.model, s.score).where(s.entity_type == entity_type, s.entity_id == ident).order_by(s.model))}


def ranked(who: "Crm | Services", entity_type: str, model: str, *, filters: Mapping[str, Any] | None = None,
           limit: int = 50, cursor: str | None = None) -> Page[tuple[Any, float]]:
    """Cards the user may read that have a ``model`` score, highest first (ties: higher id first),
    as ``(record, score)`` pairs; ``filters`` as in the card list."""
    svc = _service(who, entity_type)
    check_limit(limit)
    if not isinstance(model, str) or not 1 <= len(model) <= 100:
        raise ValidationError("model: a model name, e.g. lead_win", field="model")
    t, s = svc.table, scores.c
    query = select(t, s.score).join(scores, and_(s.entity_type == entity_type, s.entity_id == t.c.id,
                                                 s.model == model))
    visible = svc.access.visible(svc.entity, t)
    if visible is not None:
        query = query.where(visible)
    query = svc._apply_filters(query, dict(filters or {}))
    if cursor:
        m = _CURSOR.match(cursor) if isinstance(cursor, str) else None
        try:
            after, after_id = float(m.group(1)), int(m.group(2))  # type: ignore[union-attr]
        except (AttributeError, ValueError):
            raise ValidationError("cursor: not a cursor of this list", field="cursor") from None
        if not math.isfinite(after):
            raise ValidationError("cursor: not a cursor of this list", field="cursor")
        query = query.where((s.score < after) | ((s.score == after) & (t.c.id < after_id)))
    query = query.order_by(s.score.desc(), t.c.id.desc()).limit(limit + 1)
    with svc.crm.engine.connect() as conn:
        rows = conn.execute(query).all()
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = f"{rows[-1].score!r}:{rows[-1].id}" if more else None
    return Page([(svc._record(r), float(r.score)) for r in rows], next_cursor)
