"""The web UI's routes, served by ``create_app`` at ``/`` beside the JSON API at ``/api/v1``.

Every page runs through :func:`page`: the session is read (and checked against the user's
current password and active flag), a POST must carry the CSRF token, the handler runs in a
worker thread with the services of the logged-in user (so roles and record rules apply as in
the API), and errors become pages: a card one may not see is a 404 exactly like a missing one.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Awaitable, Callable
from urllib.parse import parse_qsl, quote

import anyio.to_thread
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.convertors import Convertor, register_url_convertor
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from ..core.errors import CrmError, NotFoundError, PermissionDeniedError
from ..web.ratelimit import RateLimiter
from .config import LOGO_TYPES, UiSettings, parse
from .context import PageContext, UiState, environment
from .contrib import Contributions
from ..i18n.errors import localize
from .i18n import pick
from .sessions import LANG_COOKIE, Sessions, csrf_ok

if TYPE_CHECKING:  # pragma: no cover
    from ..core.app import Crm

STATIC = Path(__file__).parent / "static"
Handler = Callable[[PageContext], Response]
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'")
SECURITY_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY"}
MAX_FORM_FIELDS = 200


def build_state(crm: "Crm", config: UiSettings | None = None) -> UiState:
    config = config or parse(crm)
    contributions = Contributions.collect(crm)
    templates = {p.plugin: p.templates for p in contributions.pages if p.templates is not None}
    digest = hashlib.sha256()
    for file in sorted(STATIC.rglob("*")):
        if file.is_file():
            digest.update(file.read_bytes())
    return UiState(crm=crm, config=config, env=environment(templates), contributions=contributions,
                   sessions=Sessions(crm, config), limiter=RateLimiter(crm.clock),
                   asset_version=digest.hexdigest()[:10])


def parse_form(raw: bytes) -> dict[str, str]:
    """A urlencoded form body (a 400 for more than 200 fields or bytes that are not UTF-8)."""
    try:
        text = raw.decode("utf-8")
        return dict(parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS))
    except (UnicodeDecodeError, ValueError):
        raise HTTPException(400, "the form is not valid") from None


def page(ui: UiState, handler: Handler, *, login: bool = True) -> Callable[[Request], Awaitable[Response]]:
    """The Starlette endpoint running ``handler`` for one page."""
    crm = ui.crm
    sqlite = crm.engine.dialect.name == "sqlite"

    async def endpoint(request: Request) -> Response:
        session = await run_in_threadpool(ui.sessions.load, request)
        locale = pick(request.cookies.get(LANG_COOKIE), ui.config.locale)
        ctx = PageContext(ui, request, session, locale)
        write = request.method == "POST"
        if write:
            ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
            raw = await request.body()
            ctx.form = parse_form(raw) if ctype == "application/x-www-form-urlencoded" else {}
            if not csrf_ok(session, ctx.form.get("csrf") or request.headers.get("x-csrf-token")):
                response: Response = error_page(ctx, 403, ctx._("The form has expired or did not come from this "
                                                                 "site. Reload the page and try again."))
                return finish(ctx, response)
        if login and session.user_id is None:
            if write or request.headers.get("hx-request"):
                return finish(ctx, error_page(ctx, 401, ctx._("Your session has ended. Log in again.")))
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return finish(ctx, RedirectResponse(f"/login?next={quote(target)}", status_code=303))

        def run() -> Response:
            if session.user_id is not None:
                ctx.services = crm.as_user(session.user_id)
                ctx.user = ctx.services.users.get(session.user_id)
            try:
                return handler(ctx)
            except NotFoundError:
                return error_page(ctx, 404, ctx._("There is no such page, or it is not yours to see."))
            except PermissionDeniedError as exc:
                return error_page(ctx, 403, exc.message)
            except CrmError as exc:
                return error_page(ctx, exc.status, exc.message)

        if write and sqlite:
            from ..web.endpoint import writer_limiter

            response = await anyio.to_thread.run_sync(run, limiter=writer_limiter(crm))
        else:
            response = await run_in_threadpool(run)
        return finish(ctx, response)

    endpoint.__name__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    return endpoint


def finish(ctx: PageContext, response: Response) -> Response:
    """Security headers, and the session cookie when it changed."""
    for key, value in SECURITY_HEADERS.items():
        response.headers.setdefault(key, value)
    response.headers.setdefault("Cache-Control", "no-store")
    sessions = ctx.ui.sessions
    if ctx.new_session is not None:
        sessions.write(response, ctx.request, ctx.new_session)
    elif sessions.unsign(ctx.request.cookies.get("crmkit_session")) != ctx.session:
        sessions.write(response, ctx.request, ctx.session)
    return response


def error_page(ctx: PageContext, status: int, message: str) -> Response:
    message = localize(message, ctx.locale)  # a service's English message in the user's language
    if ctx.request.headers.get("hx-request") or ctx.request.headers.get("accept") == "application/json":
        from starlette.responses import JSONResponse

        return JSONResponse({"error": {"message": message}}, status_code=status)
    return ctx.page("error.html", status=status, status_code=status, message=message)


def routes(crm: "Crm") -> list[BaseRoute]:
    """The UI's routes for ``create_app`` (after the API's)."""
    from .pages import (
        admin, auth, board, cards, home, imports, inbox, lists, notifications, plugin_pages, reports, search, tasks,
    )

    ui = build_state(crm)
    out: list[BaseRoute] = [Mount("/static", app=StaticFiles(directory=STATIC), name="ui_static")]
    out.append(Route("/brand.css", _brand_css(ui), name="ui_brand_css"))
    if ui.config.logo is not None:
        out.append(Route("/brand/logo", _logo(ui.config.logo), name="ui_logo"))
    # imports before cards: /imports/{id} is not a card (cards answer any /{kind}/{id})
    for module in (auth, home, board, imports, cards, lists, tasks, notifications, inbox, search, reports, admin,
                   plugin_pages):
        for path, handler, methods, login in module.routes(ui):
            out.append(Route(path, page(ui, handler, login=login), methods=list(methods), name=f"ui_{handler.__name__}"))
    # the UI's 404 page for any other page path; never for /api/...: a catch-all there made
    # `POST /api/v1/deals/x/move` a 405 (the path matched, the method did not) instead of the API's 404
    out.append(Route("/{path:ui_path}", page(ui, _not_found, login=False), methods=["GET"], name="ui_not_found"))
    return out


class _UiPath(Convertor[str]):
    """A path outside the API (``api/`` and below belong to crmkit.web)."""

    regex = r"(?!api(?:/|$)).*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("ui_path", _UiPath())


def _not_found(ctx: PageContext) -> Response:
    if ctx.request.url.path.startswith("/api/"):
        raise HTTPException(404)  # the API's own JSON 404
    return error_page(ctx, 404, ctx._("There is no such page, or it is not yours to see."))


def _brand_css(ui: UiState) -> Callable[[Request], Awaitable[Response]]:
    css = f":root {{ --primary: {ui.config.primary_color}; --accent: {ui.config.accent_color}; }}\n"

    async def brand_css(request: Request) -> Response:
        return Response(css, media_type="text/css", headers={"Cache-Control": "max-age=300"})

    return brand_css


def _logo(path: Path) -> Callable[[Request], Awaitable[Response]]:
    async def logo(request: Request) -> Response:
        return FileResponse(path, media_type=LOGO_TYPES[path.suffix.lower()],
                            headers={"Cache-Control": "max-age=300", "Content-Security-Policy": "default-src 'none'"})

    return logo

