"""The kanban board's read: the open deals of one pipeline that the acting user may see, with only
what a board card shows, in one query (the web UI's board renders a thousand of them at once).

It applies the deals service's record rules (:meth:`~crmkit.core.access.Access.visible`) and its
filters (:meth:`DealService.list`'s: responsible, source, custom fields, archived cards hidden), so
a board never shows a card the deal list would not.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

import attrs
from sqlalchemy import Select, select

from .. import schema
from ..money import Money
from .deals import DealService

MAX_CARDS = 5000
_CHUNK = 1000  # rows per query while a text filter skips titles


@attrs.frozen
class BoardCard:
    """One deal as a board card shows it."""

    id: int
    title: str
    stage: str
    """The stage's key."""
    version: int
    amount: Money | None
    responsible_id: int | None
    owner: str
    """The responsible user's name ("" without one)."""
    stage_entered_at: datetime


def board_cards(deals: DealService, pipeline: str, filters: Mapping[str, Any] | None = None, *, text: str = "",
                limit: int = MAX_CARDS) -> list[BoardCard]:
    """The open deals of ``pipeline`` that ``deals``' user may see, matching ``filters`` (those of
    :meth:`DealService.list`), by id; ``text``: only those whose title contains it (any case);
    at most ``limit`` of them."""
    d = schema.deals.c
    owner = schema.users.alias("owner")  # an alias: the record rules' subqueries on users must not correlate to it
    query: Select[Any] = select(d.id, d.title, d.stage_id, d.version, d.amount_minor, d.currency, d.responsible_id,
                                d.stage_entered_at, owner.c.name).select_from(
        schema.deals.outerjoin(owner, owner.c.id == d.responsible_id))
    visible = deals.access.visible(deals.entity, deals.table)
    if visible is not None:
        query = query.where(visible)
    query = deals._apply_filters(query, {**(filters or {}), "pipeline": pipeline, "status": "open"})
    needle = text.strip().lower()
    if not needle:
        return [_card(deals, row) for row in _rows(deals, query.order_by(d.id).limit(limit))]
    out: list[BoardCard] = []
    after = 0
    while len(out) < limit:
        rows = _rows(deals, query.where(d.id > after).order_by(d.id).limit(_CHUNK))
        out += [_card(deals, row) for row in rows if needle in row.title.lower()]
        if len(rows) < _CHUNK:
            break
        after = rows[-1].id
    return out[:limit]


def _rows(deals: DealService, query: Select[Any]) -> list[Any]:
    with deals._read() as conn:
        return list(conn.execute(query).all())


def _card(deals: DealService, row: Any) -> BoardCard:
    minor = row.amount_minor
    return BoardCard(id=row.id, title=row.title, stage=deals.crm.stage_by_id(row.stage_id).key, version=row.version,
                     amount=Money.from_minor(minor, row.currency) if minor is not None else None,
                     responsible_id=row.responsible_id, owner=row.name or "", stage_entered_at=row.stage_entered_at)
