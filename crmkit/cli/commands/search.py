"""``crmkit search``: contacts, companies, leads and deals by name, phone (any format) or e-mail."""

from __future__ import annotations

import click

from ...core.records import to_dict
from ...core.services.search import KINDS, MAX_LIMIT
from ..output import emit_json, table
from ..params import json_option
from ..state import pass_state


@click.command("search")
@click.argument("query")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(KINDS),
              help="Search only this kind of card (repeatable; default: all).")
@click.option("--limit", type=click.IntRange(1, MAX_LIMIT), default=10, show_default=True,
              help="At most this many hits of each kind.")
@json_option
def search(query: str, kinds: tuple[str, ...], limit: int, as_json: bool) -> None:
    """Find cards by QUERY: a name (or part of one), a phone number in any format, or an e-mail.
    Only what the acting user (--as) may read is found."""
    state = pass_state()
    hits = state.services.search(query, limit=limit, kinds=kinds or None)
    if as_json or state.json:
        emit_json({"items": [to_dict(h) for h in hits]})
        return
    table(hits, [("kind", lambda h: h.entity), ("id", lambda h: h.id), ("title", lambda h: h.title),
                 ("detail", lambda h: h.detail), ("matched", lambda h: h.matched)])
