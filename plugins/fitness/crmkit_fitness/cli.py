"""``crmkit fitness ...``: the catalogue, sales, freezes, devices, the daily pass, reports, the simulator.

Commands act as the ``--as`` user (record rules apply) and print JSON with ``--json``.
"""

from __future__ import annotations

import json
from typing import Any

import click

from . import reports
from .club import Club
from .devices import signing_secret


def _state() -> Any:
    from crmkit.cli import invocation  # the CLI's --as / --json / --config of this invocation

    return invocation()


def _club(*, person: bool = False) -> Club:
    state = _state()
    return Club(state.crm, (state.acting() if person else state.services).actor_id)


def _out(data: Any, text: str) -> None:
    click.echo(json.dumps(data, indent=2) if _state().json else text)


@click.group(name="fitness")
def group() -> None:
    """A fitness club: memberships, check-ins, lifecycle phases, touch points, renewals."""


@group.command("activity")
@click.argument("key")
@click.argument("name")
def activity(key: str, name: str) -> None:
    """Add an activity (gym, yoga, ...)."""
    _out({"id": _club(person=True).add_activity(key, name)}, f"activity {key} added")


@group.command("product")
@click.argument("key")
@click.option("--name", required=True)
@click.option("--kind", type=click.Choice(["membership", "pack"]), default="membership", show_default=True)
@click.option("--price", required=True, help="e.g. 690.00")
@click.option("--currency", default=None, help="default: the deployment's")
@click.option("--days", "duration_days", type=int, required=True, help="duration (a pack: validity)")
@click.option("--visit-limit", type=int, default=None)
@click.option("--sessions", type=int, default=None, help="a pack's sessions")
@click.option("--hours", "access_hours", default=None, help="access hours, HH:MM-HH:MM")
@click.option("--activity", "activities", multiple=True, help="an included activity (repeat; none: all)")
@click.option("--freeze-days", type=int, default=0)
@click.option("--freeze-times", type=int, default=0)
@click.option("--trial", is_flag=True)
def product(key: str, currency: str | None, **fields: Any) -> None:
    """Add a membership product or a session pack to the catalogue."""
    club = _club(person=True)
    added = club.add_product(key=key, currency=currency or club.crm.settings.default_currency, **fields)
    _out(added.to_json(), f"{added.kind} {added.key}: {added.name}, {added.price}, {added.duration_days} days")


@group.command("products")
def products() -> None:
    """The catalogue."""
    found = _club().products()
    _out([p.to_json() for p in found], "\n".join(
        f"{p.key:<12} {p.kind:<10} {str(p.price):>14}  {p.duration_days:>4} days  {p.name}" for p in found)
        or "(empty catalogue)")


@group.command("sell")
@click.argument("contact_id", type=int)
@click.argument("product_key")
@click.option("--win", is_flag=True, help="paid at once: win the deal (the membership is issued)")
def sell(contact_id: int, product_key: str, win: bool) -> None:
    """Open a "Membership sales" deal (with --win: issue at once)."""
    club = _club(person=True)
    if win:
        m = club.enroll(contact_id, product_key)
        _out(m.to_json(), f"membership {m.id}: {m.product} {m.starts_on} to {m.ends_on} (deal {m.deal_id})")
    else:
        deal = club.sell(contact_id, product_key)
        _out({"deal_id": deal.id}, f"deal {deal.id} in Membership sales")


@group.command("freeze")
@click.argument("membership_id", type=int)
@click.option("--from", "starts_on", required=True, help="YYYY-MM-DD")
@click.option("--days", type=int, required=True)
@click.option("--reason", required=True)
def freeze(membership_id: int, starts_on: str, days: int, reason: str) -> None:
    """Freeze a membership within its product's allowance."""
    m = _club(person=True).freeze(membership_id, starts_on=starts_on, days=days, reason=reason)
    _out(m.to_json(), f"membership {m.id} now ends {m.ends_on} ({m.freeze_days_used} days frozen)")


@group.command("assign")
@click.argument("contact_id", type=int)
@click.option("--trainer", "trainer_id", type=int, default=None)
@click.option("--card", default=None)
def assign(contact_id: int, trainer_id: int | None, card: str | None) -> None:
    """Give a member a trainer and/or an access card."""
    _club(person=True).assign(contact_id, trainer_id=trainer_id, card=card)
    _out({"ok": True}, "assigned")


@group.command("member")
@click.argument("contact_id", type=int)
def member(contact_id: int) -> None:
    """A member's phase, visits and memberships."""
    data = _club().member(contact_id)
    lines = [f"member {contact_id}: {data['phase']} since {data['phase_since']}, cycle {data['cycle']}, "
             f"{data['visits']} visit days, last {data['last_visit_on'] or 'never'}, risk {data['risk']}"]
    lines += [f"  {m['product']:<10} {m['starts_on']} to {m['ends_on']}  {m['outcome'] or ''}" for m in data["memberships"]]
    _out(data, "\n".join(lines))


@group.command("device")
@click.argument("name")
def device(name: str) -> None:
    """Register an access-control device; prints its key and signing secret once."""
    device_id, key = _club(person=True).add_device(name)
    _out({"id": device_id, "key": key, "signing_secret": signing_secret(key)},
         f"device {device_id}\nkey: {key}\nsigning secret: {signing_secret(key)}")


@group.command("pass")
def daily() -> None:
    """Run the daily pass now (phases, touch points, renewals, no-shows)."""
    from .passes import daily_pass

    crm = _state().crm
    r = daily_pass(crm, crm.clock.now())
    _out({"day": r.day.isoformat(), "members": r.members, "phase_changes": r.phase_changes,
          "touch_points": r.touch_points, "renewals_opened": r.renewals_opened},
         f"{r.day}: {r.members} members, {r.phase_changes} phase changes, {r.touch_points} touch points, "
         f"{r.renewals_opened} renewal deals")


@group.group("report")
def report() -> None:
    """Renewals, touch-point attribution, the at-risk list, trainers' work."""


@report.command("renewals")
@click.option("--by", type=click.Choice(reports.BY), default="cohort", show_default=True)
def renewals(by: str) -> None:
    """Renewal rate by cohort, product or trainer."""
    _state().services.access.require("cards.read", "read the club's reports")
    rows = reports.renewals(_state().crm, by)
    _out(rows, "\n".join(f"{r['key']:<20} {r['renewed']:>6} of {r['ended']:<6} {r['rate'] or '-':>6} %" for r in rows)
         or "(no membership has ended yet)")


@report.command("touch-points")
def touch_points() -> None:
    """Renewal rate with and without each touch point, and the lift."""
    _state().services.access.require("cards.read", "read the club's reports")
    data = reports.touch_attribution(_state().crm)
    lines = [f"overall: {data['renewed']} of {data['ended']} renewed ({data['rate'] or '-'} %)",
             f"{'rule':<18} {'with':>8} {'without':>8} {'lift':>7}"]
    lines += [f"{r['rule']:<18} {r['rate_with'] or '-':>7}% {r['rate_without'] or '-':>7}% {r['lift'] or '-':>7}"
              for r in data["rules"]]
    _out(data, "\n".join(lines))


@report.command("at-risk")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
def at_risk(limit: int) -> None:
    """Members at risk, highest churn-risk score first."""
    _state().services.access.require("cards.read", "read the club's reports")
    rows = reports.at_risk(_state().crm, limit=limit)
    _out(rows, "\n".join(f"{r['risk']:>3}  {r['contact_id']:>7}  {r['name']:<30} last visit {r['last_visit_on']}"
                         for r in rows) or "(nobody is at risk)")


@report.command("trainers")
def trainers() -> None:
    """Trainers' work."""
    _state().services.access.require("cards.read", "read the club's reports")
    crm = _state().crm
    rows = reports.trainers(crm, crm.clock.now())
    _out(rows, "\n".join(
        f"{r['name']:<24} classes {r['classes']:>4}  attended {r['attended']:>5}  no-shows {r['no_shows']:>4}  "
        f"members {r['members']:>4}  renewal {r['renewal_rate'] or '-':>5} %  tasks on time {r['tasks_on_time']}, "
        f"late {r['tasks_late']}, overdue {r['tasks_overdue']}" for r in rows) or "(no trainers)")


@group.command("demo")
@click.option("--members", type=click.IntRange(10, 5000), default=300, show_default=True)
@click.option("--days", type=click.IntRange(30, 730), default=365, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
def demo(members: int, days: int, seed: int) -> None:
    """Fill this deployment with a simulated club: a year of members, visits, freezes, touch points
    and renewals (the simulator, time running from DAYS ago to now). For an empty deployment:

        crmkit init club && cd club
        CRMKIT_PLUGINS=fitness,installments,telephony crmkit fitness demo
    """
    from datetime import timedelta

    from sqlalchemy import func, select

    from crmkit import ConflictError, Crm, FrozenClock

    from .simulator import simulate
    from .tables import products

    state = _state()
    if not state.crm.users.list().items == [] or _has(state.crm, select(func.count()).select_from(products)):
        raise ConflictError("the deployment is not empty: run the club demo on a new one (crmkit init DIR)")
    clock = FrozenClock()
    clock.set(state.crm.clock.now() - timedelta(days=days))
    crm = Crm(state.settings(), clock=clock)
    try:
        result = simulate(crm, members=members, days=days, seed=seed, join_days=min(180, days // 2))
        data = reports.touch_attribution(crm)
    finally:
        crm.close()
    _out({"members": members, "days": days, "checkins": result.checkins, "allowed": result.allowed,
          "renewals": data}, f"A club of {members} members over {days} days: {result.checkins} check-ins "
         f"({result.allowed} allowed); {data['renewed']} of {data['ended']} memberships renewed "
         f"({data['rate'] or '-'} %).\nUsers: owner@club.example (admin), manager0@..., trainer0@... "
         "(give one a password: crmkit users set-password EMAIL). Try: crmkit fitness report touch-points")


def _has(crm: Any, query: Any) -> bool:
    with crm.engine.connect() as conn:
        return bool(conn.scalar(query))
