"""Plugins' whole pages (``crm_register_ui_pages``) at ``/p/<plugin>/<path>``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from starlette.responses import Response

from ...core.errors import PermissionDeniedError

if TYPE_CHECKING:  # pragma: no cover
    from ..context import PageContext, UiState
    from ..contrib import UiPage


def handler_for(page: "UiPage") -> Callable[["PageContext"], Response]:
    def plugin_page(ctx: "PageContext") -> Response:
        if not ctx.allows(page.permission):
            raise PermissionDeniedError(ctx._("You may not open this page."))
        body = page.handler(ctx)
        if isinstance(body, Response):
            return body
        return ctx.page("plugin_page.html", title=page.title, body=body)

    plugin_page.__name__ = f"plugin_{page.plugin}_{page.path.replace('/', '_')}"
    return plugin_page


def routes(ui: "UiState") -> list[tuple[str, Any, tuple[str, ...], bool]]:
    return [(f"/p/{p.plugin}/{p.path}", handler_for(p), p.methods, True) for p in ui.contributions.pages]
