"""Notifications: the user's reminders and digests (crm.messages.notifications), newest first;
opening the page shows which are new, "Mark all as read" clears the header's count."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import RedirectResponse, Response

if TYPE_CHECKING:  # pragma: no cover
    from ..context import PageContext, UiState


def notifications(ctx: "PageContext") -> Response:
    assert ctx.user is not None
    mine = ctx.crm.messages.notifications(ctx.user.id)
    return ctx.page("notifications.html", items=mine.list(limit=100), seen=mine.seen())


def mark_read(ctx: "PageContext") -> Response:
    assert ctx.user is not None
    ctx.crm.messages.notifications(ctx.user.id).mark_read()
    return RedirectResponse("/notifications", status_code=303)


def routes(ui: "UiState") -> list[tuple[str, Any, tuple[str, ...], bool]]:
    return [("/notifications", notifications, ("GET",), True),
            ("/notifications/read", mark_read, ("POST",), True)]
