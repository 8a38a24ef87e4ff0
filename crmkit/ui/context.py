"""One request of the web UI: who, in which language, and how pages are rendered."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import attrs
import jinja2
from markupsafe import Markup
from starlette.responses import HTMLResponse

from ..i18n.catalogs import plugin_dirs
from .i18n import LANGUAGE_NAMES, Formatter, N_

if TYPE_CHECKING:  # pragma: no cover
    from starlette.requests import Request

    from ..core.app import Crm
    from ..core.records import User
    from ..core.services import Services
    from .config import UiSettings
    from .contrib import Contributions
    from .sessions import Session

TEMPLATES = Path(__file__).parent / "templates"
ENTITY_NAMES = {  # the default labels, translated through the catalogs
    "lead": (N_("Lead"), N_("Leads")), "contact": (N_("Contact"), N_("Contacts")),
    "company": (N_("Company"), N_("Companies")), "deal": (N_("Deal"), N_("Deals")), "task": (N_("Task"), N_("Tasks")),
}


def environment(plugin_templates: Mapping[str, Path]) -> jinja2.Environment:
    """The Jinja environment: autoescaped, the core's templates, each plugin's under ``<plugin>/``."""
    loader = jinja2.ChoiceLoader([
        jinja2.FileSystemLoader(str(TEMPLATES)),
        jinja2.PrefixLoader({name: jinja2.FileSystemLoader(str(path)) for name, path in plugin_templates.items()}),
    ])
    env = jinja2.Environment(loader=loader, autoescape=True, trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined, auto_reload=False)
    return env


@attrs.define
class UiState:
    """The UI of one deployment, built once when the web app starts."""

    crm: "Crm"
    config: "UiSettings"
    env: jinja2.Environment
    contributions: "Contributions"
    sessions: Any
    limiter: Any
    asset_version: str = ""
    extras: dict[str, Any] = attrs.field(factory=dict)
    """Per-deployment state of the pages (e.g. the failed logins of :mod:`crmkit.ui.pages.auth`)."""


@attrs.define
class PageContext:
    """What a page handler (and a plugin's panel, action or page) gets.

    :ivar services: the core services acting as the logged-in user (record rules apply).
    :ivar user: the logged-in user.
    :ivar fmt: dates, numbers and money in the user's language.
    """

    ui: UiState
    request: "Request"
    session: "Session"
    locale: str
    user: "User | None" = None
    services: "Services | None" = None
    form: dict[str, str] = attrs.field(factory=dict)
    new_session: "Session | None" = None
    fmt: Formatter = attrs.field(init=False)
    _unread: int | None = attrs.field(init=False, default=None)

    def __attrs_post_init__(self) -> None:
        self.fmt = Formatter(self.locale, self.ui.crm.settings.tz, plugin_dirs(self.ui.crm.pm))

    @property
    def crm(self) -> "Crm":
        return self.ui.crm

    @property
    def csrf(self) -> str:
        return (self.new_session or self.session).csrf

    def _(self, message: str, **values: Any) -> str:
        """``message`` in the user's language (``%(name)s`` placeholders filled from ``values``)."""
        return self.fmt.gettext(message, **values)

    def ngettext(self, singular: str, plural: str, n: int, **values: Any) -> str:
        return self.fmt.ngettext(singular, plural, n, **values)

    def label(self, entity: str, plural: bool = False) -> str:
        """The deployment's name of a card type (``[ui.labels]``), else the translated default."""
        key = {"company": "companies"}.get(entity, entity + "s") if plural else entity
        named = self.ui.config.label(key, self.locale)
        if named:
            return named
        singular, many = ENTITY_NAMES.get(entity, (entity, entity))
        return self._(many if plural else singular)

    def allows(self, permission: str | None) -> bool:
        return permission is None or (self.services is not None and self.services.access.allows(permission))

    def render(self, template: str, **values: Any) -> Markup:
        """A template (the core's, or ``<plugin>/<name>.html``) rendered to safe markup."""
        return Markup(self.ui.env.get_template(template).render(self.template_values(values)))

    def template_values(self, values: Mapping[str, Any]) -> dict[str, Any]:
        cfg = self.ui.config
        menu = [m for m in self.ui.contributions.menu if self.allows(m.permission)]
        menu += [m for p in self.ui.contributions.pages if p.menu and self.allows(p.permission)
                 for m in [_page_entry(p)]]
        return {"ctx": self, "_": self._, "ngettext": self.ngettext, "fmt": self.fmt, "brand": cfg,
                "user": self.user, "csrf": self.csrf, "locale": self.locale, "languages": LANGUAGE_NAMES,
                "label": self.label, "plugin_menu": sorted(menu, key=lambda m: m.order),
                "path": self.request.url.path, "asset_version": self.ui.asset_version,
                "unread_notifications": self.unread_notifications(), **values}

    def unread_notifications(self) -> int:
        """The logged-in user's unread notifications (the header's count), once per request."""
        if self.user is None:
            return 0
        if self._unread is None:
            self._unread = self.crm.messages.notifications(self.user.id).unread()
        return self._unread

    def page(self, template: str, status: int = 200, headers: Mapping[str, str] | None = None,
             **values: Any) -> HTMLResponse:
        """A whole page as a response."""
        return HTMLResponse(self.render(template, **values), status_code=status, headers=headers)


def _page_entry(page: Any) -> Any:
    from .contrib import MenuEntry

    return MenuEntry(label=page.title, path=f"/p/{page.plugin}/{page.path}", permission=page.permission)
