"""Home: my tasks today and overdue, my open deals by stage, recently changed cards."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

if TYPE_CHECKING:  # pragma: no cover
    from ..context import PageContext, UiState


def end_of_today(ctx: "PageContext") -> datetime:
    tz = ctx.crm.settings.tz
    today = ctx.crm.clock.now().astimezone(tz).date()
    return datetime.combine(today + timedelta(days=1), time(0), tzinfo=tz)


def home(ctx: "PageContext") -> Response:
    services, user = ctx.services, ctx.user
    assert services is not None and user is not None
    now = ctx.crm.clock.now()
    due = services.tasks.list(assignee_id=user.id, status="open", due_at__lt=end_of_today(ctx), limit=100).items
    tasks = sorted(due, key=lambda t: t.due_at or now)
    deals = services.deals.list(responsible_id=user.id, status="open", limit=500).items
    by_stage: dict[tuple[str, str], list[Any]] = {}
    for deal in deals:
        by_stage.setdefault((deal.pipeline, deal.stage), []).append(deal)
    stages = []
    for pipeline in ctx.crm.pipelines:
        for stage in pipeline.stages:
            cards = by_stage.get((pipeline.key, stage.key))
            if cards:
                stages.append({"pipeline": pipeline, "stage": stage, "deals": cards})
    recent_deals = services.deals.list(order="-updated_at", limit=8).items
    recent_leads = services.leads.list(order="-updated_at", limit=5).items
    return ctx.page("home.html", tasks=tasks, now=now, stages=stages, recent_deals=recent_deals,
                    recent_leads=recent_leads)


def routes(ui: "UiState") -> list[tuple[str, Any, tuple[str, ...], bool]]:
    return [("/", home, ("GET",), True)]
