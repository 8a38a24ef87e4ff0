"""Purchases: what customer analytics (lifecycle, RFM, cohorts) count as a customer buying.

The core's purchases are won deals (at ``closed_at``, with their amount). Plugins add
their own through ``crm_register_purchases``: a fitness club's visits, a bar's sales.
Each source is a SQL ``SELECT`` with the columns of :data:`COLUMNS`, so every figure
stays one SQL aggregate over their ``UNION ALL``.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, literal, select, union_all
from sqlalchemy.sql import Select

from .. import schema
from ..errors import PluginError
from ..hookcall import call_hook
from .scope import Scope, deal_scope, period

if TYPE_CHECKING:  # pragma: no cover
    from ..app import Crm
    from ..services import Services

COLUMNS = ("contact_id", "company_id", "occurred_at", "amount_minor", "currency", "kind")
"""The columns of a purchase source, in this order: who (a contact and/or a company id, either
may be NULL), when (``UTCDateTime``), how much (minor units and currency, both may be NULL: a
visit) and a short ``kind`` (``deal``, ``visit``, ``bar_sale``, ...)."""

_SOURCES: "weakref.WeakKeyDictionary[Crm, list[Select[Any]]]" = weakref.WeakKeyDictionary()


def plugin_sources(crm: "Crm") -> list[Select[Any]]:
    """The enabled plugins' purchase sources (``crm_register_purchases``), asked once per ``Crm``."""
    found = _SOURCES.get(crm)
    if found is None:
        found = []
        for plugin, result in call_hook(crm.pm, "crm_register_purchases", crm=crm):
            for q in ([result] if isinstance(result, Select) else list(result)):
                names = tuple(c.name for c in q.selected_columns)
                if not isinstance(q, Select) or names != COLUMNS:
                    raise PluginError(f"plugin {plugin}: crm_register_purchases must return SELECTs of the columns "
                                      f"{', '.join(COLUMNS)} (got {', '.join(names) if isinstance(q, Select) else q!r})")
                found.append(q)
        _SOURCES[crm] = found
    return found


def won_deals(services: "Services", scope: Scope | None) -> Select[Any]:
    """The core's purchases: won deals in ``scope`` (all of them for ``None``), under the record rules."""
    d = schema.deals.c
    conds = deal_scope(services, scope) if scope is not None else []
    return (select(d.contact_id, d.company_id, d.closed_at.label("occurred_at"), d.amount_minor, d.currency,
                   literal("deal", String).label("kind"))
            .where(d.status == "won", d.closed_at.is_not(None), *conds))


def purchases(services: "Services", scope: Scope | None = None, *, dated: bool = False) -> Any:
    """Every purchase (won deals and the plugins' sources) as one subquery of :data:`COLUMNS`.

    A plugin's rows are kept when their contact (or, without one, their company) is one the
    acting user may read; ``scope``'s team, manager, pipeline and channel apply to deals only.
    With ``dated``, only purchases in the scope's period."""
    parts: list[Select[Any]] = [won_deals(services, scope)]
    extra = plugin_sources(services.crm)
    if extra:
        k, c = schema.contacts, schema.companies
        see_k, see_c = services.access.visible("contact", k), services.access.visible("company", c)
        for q in extra:
            sub = q.subquery()
            conds = []
            if see_k is not None or see_c is not None:
                ks = select(k.c.id).where(see_k) if see_k is not None else select(k.c.id)
                cs = select(c.c.id).where(see_c) if see_c is not None else select(c.c.id)
                conds.append(sub.c.contact_id.in_(ks) | (sub.c.contact_id.is_(None) & sub.c.company_id.in_(cs)))
            parts.append(select(*[sub.c[n] for n in COLUMNS]).where(*conds))
    allp = union_all(*parts).subquery("purchases") if len(parts) > 1 else parts[0].subquery("purchases")
    if dated and scope is not None and (scope.since or scope.until):
        return select(allp).where(*period(scope, allp.c.occurred_at)).subquery("dated_purchases")
    return allp
