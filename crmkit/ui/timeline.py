"""A card's timeline as entries to show: the core's events in words, plugins' through their renderers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from markupsafe import Markup

if TYPE_CHECKING:  # pragma: no cover
    from ..core.events import Event
    from .context import PageContext

MAX_EVENTS = 200


def _stage_name(ctx: "PageContext", pipeline: str | None, key: Any) -> str:
    for p in ctx.crm.pipelines:
        if pipeline in (None, p.key):
            for s in p.stages:
                if s.key == key:
                    return s.name
    return str(key)


def describe(ctx: "PageContext", event: "Event") -> Any:
    """The entry's text (plain text is escaped; a plugin's renderer may return Markup)."""
    renderer = ctx.ui.contributions.renderer(event.type)
    if renderer is not None:
        return renderer.render(ctx, event)
    t, data, changes = event.type, event.data or {}, event.changes or {}
    if t.endswith(".created"):
        return ctx._("Created")
    if t in ("deal.stage_changed", "lead.stage_changed"):
        stage = changes.get("stage", {})
        pipeline = data.get("pipeline")
        text = ctx._("Stage: %(before)s → %(after)s", before=_stage_name(ctx, data.get("from_pipeline", pipeline),
                                                                         stage.get("before")),
                     after=_stage_name(ctx, pipeline, stage.get("after")))
        if data.get("reason_label"):
            text += " · " + ctx._("Reason: %(reason)s", reason=data["reason_label"])
        return text
    if t == "note.added":
        return ctx._("Note: %(body)s", body=data.get("body", ""))
    if t == "lead.rejected":
        return ctx._("Rejected: %(reason)s", reason=data.get("reason_label") or "")
    if t == "lead.converted":
        return ctx._("Converted into deal %(deal)s", deal=data.get("deal_id"))
    if t.endswith(".updated"):
        return ctx._("Changed: %(fields)s", fields=", ".join(sorted(changes)))
    if t.startswith("task."):
        return ctx._("Task %(what)s", what=t.split(".", 1)[1].replace("_", " "))
    return f"{t}"


def entries(ctx: "PageContext", entity: str, ident: int) -> list[dict[str, Any]]:
    """Newest first: time, who, text."""
    assert ctx.services is not None
    page = ctx.services.timeline.of(entity, ident, limit=MAX_EVENTS)
    names = {u.id: u.name for u in ctx.services.users.list(limit=500).items}
    out = []
    for event in reversed(list(page.items)):
        body = describe(ctx, event)
        out.append({"when": event.occurred_at, "who": names.get(event.actor_id, "") if event.actor_id else "",
                    "text": body if isinstance(body, Markup) else str(body), "type": event.type})
    return out
