"""What plugins add to the web UI (the ``crm_register_ui_*`` hooks return these).

Every callable gets the :class:`~crmkit.ui.PageContext` of the request (``ctx.services`` acts
as the logged-in user, under their record rules; ``ctx._`` translates; ``ctx.fmt`` formats
dates and money; ``ctx.render`` renders a template). Text is escaped unless a callable returns
:class:`~markupsafe.Markup` (build it with ``ctx.render`` or ``Markup.format``, which escapes
its arguments).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

import attrs

if TYPE_CHECKING:  # pragma: no cover
    from ..core.app import Crm
    from .context import PageContext

CARD_KINDS = ("lead", "contact", "company", "deal")


@attrs.frozen
class MenuEntry:
    """A link in the main menu. ``permission``: shown only to users holding it."""

    label: str
    path: str
    permission: str | None = None
    order: int = 100


@attrs.frozen
class CardPanel:
    """A box on a card page. ``render(ctx, entity, card)`` returns its body (``None``: no panel)."""

    key: str
    title: str
    render: Callable[["PageContext", str, Any], Any]
    entities: tuple[str, ...] = ("deal",)
    permission: str | None = None


@attrs.frozen
class ActionField:
    """A form field of a card action: ``type`` is text, number, date or select (``choices``)."""

    name: str
    label: str
    type: str = "text"
    required: bool = False
    choices: tuple[tuple[str, str], ...] = ()
    default: str = ""


@attrs.frozen
class CardAction:
    """A button (with a small form of ``fields``) on a card page.

    ``run(ctx, entity, card, values)`` does it through services and returns a message to show
    (a :class:`~crmkit.CrmError` it raises is shown as the error). ``available(ctx, entity, card)``
    hides the action where it does not apply. ``key`` is unique: prefix it with the plugin name.
    """

    key: str
    label: str
    run: Callable[["PageContext", str, Any, Mapping[str, str]], str | None]
    entities: tuple[str, ...] = ("deal",)
    fields: tuple[ActionField, ...] = ()
    permission: str | None = None
    available: Callable[["PageContext", str, Any], bool] | None = None


@attrs.frozen
class TimelineRenderer:
    """How the timeline shows events of ``event_type`` (``"telephony.*"``: every type with that prefix).
    ``render(ctx, event)`` returns the entry's body."""

    event_type: str
    render: Callable[["PageContext", Any], Any]

    def matches(self, event_type: str) -> bool:
        if self.event_type.endswith(".*"):
            return event_type.startswith(self.event_type[:-1])
        return event_type == self.event_type


@attrs.frozen
class UiPage:
    """A whole page at ``/p/<plugin>/<path>``. ``handler(ctx)`` returns the page body (or a Starlette
    ``Response``); ``templates`` is a folder of the plugin's Jinja templates, rendered with
    ``ctx.render("<plugin>/<name>.html", ...)``. ``menu``: also list it in the main menu."""

    plugin: str
    path: str
    title: str
    handler: Callable[["PageContext"], Any]
    methods: tuple[str, ...] = ("GET",)
    templates: Path | None = None
    menu: bool = True
    permission: str | None = None


@attrs.frozen
class Contributions:
    """Everything the enabled plugins add to the UI, collected once when the UI starts."""

    menu: tuple[MenuEntry, ...] = ()
    panels: tuple[CardPanel, ...] = ()
    actions: tuple[CardAction, ...] = ()
    timeline: tuple[TimelineRenderer, ...] = ()
    pages: tuple[UiPage, ...] = ()

    @classmethod
    def collect(cls, crm: "Crm") -> "Contributions":
        hook = crm.pm.hook
        return cls(
            menu=_all(hook.crm_register_ui_menu(crm=crm), MenuEntry, "crm_register_ui_menu"),
            panels=_all(hook.crm_register_ui_panels(crm=crm), CardPanel, "crm_register_ui_panels"),
            actions=_all(hook.crm_register_ui_actions(crm=crm), CardAction, "crm_register_ui_actions"),
            timeline=_all(hook.crm_register_ui_timeline(crm=crm), TimelineRenderer, "crm_register_ui_timeline"),
            pages=_all(hook.crm_register_ui_pages(crm=crm), UiPage, "crm_register_ui_pages"),
        )

    def renderer(self, event_type: str) -> TimelineRenderer | None:
        return next((r for r in self.timeline if r.matches(event_type)), None)


def _all(results: Iterable[Sequence[Any] | None], kind: type, hook: str) -> tuple[Any, ...]:
    from ..core.errors import ConfigError

    out = []
    for result in results:
        for item in result or ():
            if not isinstance(item, kind):
                raise ConfigError(f"{hook} must return {kind.__name__} objects, got {item!r:.80}")
            out.append(item)
    return tuple(out)
