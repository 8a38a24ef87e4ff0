"""The global search box's page: the search service (names, phones in any format, e-mails), within
the user's record rules."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from ...core.errors import ValidationError

if TYPE_CHECKING:  # pragma: no cover
    from ..context import PageContext, UiState

URLS = {"contact": "contacts", "company": "companies", "lead": "leads", "deal": "deals"}


def search(ctx: "PageContext") -> Response:
    assert ctx.services is not None
    q = ctx.request.query_params.get("q", "")
    hits: list[Any] = []
    error = ""
    if q.strip():
        try:
            hits = ctx.services.search(q, limit=20)
        except ValidationError as exc:
            error = exc.message
    return ctx.page("search.html", q=q, hits=[(h, URLS[h.entity]) for h in hits], error=error)


def routes(ui: "UiState") -> list[tuple[str, Any, tuple[str, ...], bool]]:
    return [("/search", search, ("GET",), True)]
