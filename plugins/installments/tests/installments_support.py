"""Helpers shared by the installments tests (imported by each test_installments_* module)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any, Callable

from crmkit import Crm, Deal, FrozenClock, User
from crmkit_installments.records import Plan
from crmkit_installments.service import Installments

MakeCrm = Callable[..., Crm]
START = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


def enabled(make_crm: MakeCrm, clock: FrozenClock, **settings: Any) -> Crm:
    """A deployment with the plugin enabled, the clock at :data:`START`."""
    clock.set(START)
    return make_crm(plugins=["installments"], settings={"installments": settings} if settings else {})


def user(crm: Crm, name: str = "mia", role: str = "manager", team: str | None = None) -> User:
    return crm.users.create(email=f"{name}@windows.example", name=name.title(), role=role, team=team)


def sold(crm: Crm, actor: int | None, *, title: str = "Windows for the Smiths", amount: str = "1200.00",
         down: str = "200.00", payments: int = 3, start: date | str = "2026-02-01", win: bool = True,
         **plan: Any) -> tuple[Deal, Plan]:
    """A deal with a plan (won unless ``win=False``); returns the deal and the plan after winning."""
    deal = crm.as_user(actor).deals.create(title=title, amount=amount)
    inst = Installments(crm, actor)
    if "dates" in plan:
        inst.create_plan(deal.id, down_payment=down, **plan)
    else:
        inst.create_plan(deal.id, down_payment=down, payments=payments, start=start, **plan)
    if win:
        crm.as_user(actor).deals.win(deal.id)
    return deal, inst.plan(deal.id)


def control_stage(crm: Crm, plan: Plan) -> tuple[str, str]:
    assert plan.control_deal_id is not None
    deal = crm.deals.get(plan.control_deal_id)
    return deal.stage, deal.status


def event_types(crm: Crm, deal_id: int) -> list[str]:
    return [e.type for e in crm.timeline.of("deal", deal_id, limit=500)]
