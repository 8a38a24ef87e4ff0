"""The ``fitness_inventory`` glue plugin (``PluginInfo(auto_enable=("fitness", "inventory"))``).

It answers the inventory plugin's hook ``inventory_member_segments``: a member's segment is their
lifecycle phase in the club now (``fitness_members.phase``: ``adaptation``, ``active``,
``at_risk``, ...), so the bar's report of sales per member segment reads by phase. Contacts the
club does not know as members are left out (the report shows them as ``unsegmented``). It owns no
tables; it reads the fitness plugin's published ``tables`` module: a bridge knows both sides, the
sides never import it.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from sqlalchemy import select

import crmkit
from crmkit import hookimpl
from crmkit_fitness.tables import members

from . import __version__

NAME = "fitness_inventory"
CHUNK = 5000  # ids per IN (...) list, well under SQLite's and PostgreSQL's bound-parameter limits

plugin_info = crmkit.PluginInfo(
    name=NAME, version=__version__, api=">=1.0,<2", auto_enable=("fitness", "inventory"),
    description="Bar sales per member segment show the members' lifecycle phases (glue of fitness and inventory).",
)


@hookimpl
def inventory_member_segments(crm: Any, contact_ids: Sequence[int]) -> Mapping[int, str]:
    """Each of ``contact_ids`` that is a club member, mapped to their current phase."""
    ids = list(contact_ids)
    found: dict[int, str] = {}
    m = members.c
    with crm.engine.connect() as conn:
        for i in range(0, len(ids), CHUNK):
            rows = conn.execute(select(m.contact_id, m.phase).where(m.contact_id.in_(ids[i:i + CHUNK])))
            found.update({int(cid): str(phase) for cid, phase in rows})
    return found
