"""A seeded deployment for the report tests: leads, deals, tasks and notes made through the
public services over eight months, with a frozen clock and a fixed random seed.

The tests compare every report with a straightforward Python reference computed from
the rows read back with plain ``SELECT``s (:func:`rows`).
"""

from __future__ import annotations

import json
import os
import random
import uuid
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any, Iterator
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, func, select, text

from crmkit import Crm, FrozenClock, Settings, schema
from crmkit.testing import POSTGRES_ENV, template

UTC = timezone.utc
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=160)
SALES = {"key": "sales", "name": "Sales", "stages": [
    "collecting_data", "proposal_sent", "measurement", "contract_signed",
    {"key": "won", "kind": "won"}, {"key": "lost", "kind": "lost"},
]}
DEFERRED = {"key": "deferred", "name": "Deferred", "stages": ["waiting", {"key": "lost", "kind": "lost"}]}
LOST_DAYS = 90
REPORT_SETTINGS = {"reports": {"stall_days": {"default": 10, "proposal_sent": 3},
                               "lifecycle": {"lost_days": LOST_DAYS, "regular_purchases": 2}}}


def make_report_crm(make_crm: Any, **overrides: Any) -> Crm:
    leads = next(p for p in template()["pipelines"] if p["key"] == "leads")
    return make_crm(pipelines=[leads, SALES, DEFERRED],  # type: ignore[no-any-return]
                    settings={**REPORT_SETTINGS, **overrides.pop("settings", {})}, **overrides)


def seed(crm: Crm, clock: FrozenClock, *, leads: int = 40, rnd: int = 18) -> SimpleNamespace:
    """Users in two teams and ``leads`` requests with everything that follows from them."""
    rng = random.Random(rnd)
    clock.set(T0 - timedelta(days=1))
    users = crm.users
    admin = users.create(email="admin@windows.example", name="Ada Admin", role="admin")
    head = users.create(email="head@windows.example", name="Hugo Head", role="head", team="north")
    m1 = users.create(email="m1@windows.example", name="Mia North", role="manager", team="north")
    m2 = users.create(email="m2@windows.example", name="Max North", role="manager", team="north")
    m3 = users.create(email="m3@windows.example", name="Sam South", role="manager", team="south")
    managers = [m1, m2, m3]
    # repeat customers: each manager meets the same few phone numbers again
    pools = {m.id: [f"+1202555{1000 + 10 * k + i:04d}" for i in range(6)] for k, m in enumerate(managers)}
    pools[None] = [f"+1202555{1900 + i:04d}" for i in range(4)]
    reasons = ["too_expensive", "chose_a_competitor", None]
    t = T0
    for i in range(leads):
        t += timedelta(hours=rng.randrange(30, 110))
        clock.set(t)
        owner = rng.choice(managers) if rng.random() < 0.92 else None
        svc = crm.as_user(owner.id) if owner else crm.as_user(None)
        utm = rng.choice([{"source": "google"}, {"source": "facebook"}, None])
        lead = svc.leads.create(title=f"Request {i}", name=f"Customer {i}", phone=rng.choice(pools[owner.id if owner else None]),
                                source=rng.choice(["web_form", "call", "email"]), responsible_id=owner.id if owner else None,
                                utm=utm)
        actor = crm.as_user((owner or m1).id)
        call_back = next(iter(crm.tasks.list({"entity_type": "lead", "entity_id": lead.id}).items), None)
        lt = t
        if rng.random() < 0.85:
            lt += timedelta(minutes=rng.randrange(5, 600))
            clock.set(lt)
            actor.notes.add("lead", lead.id, "called back")
            if call_back is not None and rng.random() < 0.8:
                actor.tasks.complete(call_back.id)
        roll = rng.random()
        if roll < 0.15:
            lt += timedelta(hours=rng.randrange(1, 48))
            clock.set(lt)
            actor.leads.reject(lead.id, reason="not_a_target_customer")
            continue
        if roll < 0.25:
            continue  # stays open
        if rng.random() < 0.7:
            lt += timedelta(hours=rng.randrange(1, 30))
            clock.set(lt)
            actor.leads.move(lead.id, "qualifying")
        lt += timedelta(hours=rng.randrange(1, 72))
        clock.set(lt)
        firm = rng.random() < 0.3  # a legal entity: the deal has a company and a contact
        conv = actor.leads.convert(lead.id, customer_kind="legal_entity" if firm else "person",
                                   company={"name": f"Firm {lead.id % 7}"} if firm else None)
        deal = conv.deal.id
        dt = lt
        path = ["proposal_sent", "measurement", "contract_signed"][:rng.randrange(0, 4)]
        for stage in path:
            dt += timedelta(hours=rng.randrange(2, 200))
            clock.set(dt)
            actor.deals.move(deal, stage)
        dt += timedelta(hours=rng.randrange(2, 200))
        clock.set(dt)
        end = rng.random()
        if end < 0.5:
            cur = "EUR" if rng.random() < 0.2 else "USD"
            actor.deals.update(deal, {"amount": str(rng.randrange(100, 5000)) + ".50", "currency": cur})
            actor.deals.win(deal)
        elif end < 0.75:
            reason = rng.choice(reasons)
            actor.deals.lose(deal, reason=reason, reason_text=None if reason else "went silent")
        elif end < 0.85:
            actor.deals.move(deal, "waiting", pipeline="deferred")
    for i, m in enumerate(managers):  # tasks not on cards: done late, on time, open and overdue
        clock.set(T0 + timedelta(days=30 + i))
        a = crm.as_user(m.id).tasks.add(title="Report", due_at=T0 + timedelta(days=31 + i))
        b = crm.as_user(m.id).tasks.add(title="Call", due_at=T0 + timedelta(days=32 + i))
        crm.as_user(m.id).tasks.add(title="Plan", due_at=T0 + timedelta(days=33 + i))
        clock.set(T0 + timedelta(days=31 + i, hours=5))
        crm.as_user(m.id).tasks.complete(a.id)  # late
        crm.as_user(m.id).tasks.complete(b.id)  # on time
    with crm.engine.connect() as conn:
        assert conn.scalar(select(func.max(schema.events.c.occurred_at))) < NOW, "the seed ran past NOW"
    clock.set(NOW)
    return SimpleNamespace(admin=admin, head=head, m1=m1, m2=m2, m3=m3, managers=managers)


def toml(data: dict[str, Any]) -> str:
    """``data`` as TOML, every table inline."""
    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return "{" + ", ".join(f"{json.dumps(str(k))} = {value(x)}" for k, x in v.items()) + "}"

    return "".join(f"{json.dumps(k)} = {value(v)}\n" for k, v in data.items())


def rows(crm: Crm, table: Any) -> list[Any]:
    """Every row of ``table``, read with a plain SELECT (the reference's input)."""
    with crm.engine.connect() as conn:
        return list(conn.execute(select(table)))


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def seeded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    """The seeded deployment, made once per test session and database (SQLite, and PostgreSQL
    when CRMKIT_TEST_POSTGRES_URL is set). Tests read it; the job tests write only the segment
    and score tables and contact/company events, which no other test reads."""
    tmp = tmp_path_factory.mktemp("reports")
    clock = FrozenClock()
    pg_url, admin, pg_schema = os.environ.get(POSTGRES_ENV, ""), None, ""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'crm.db'}"
    else:
        if not pg_url:
            pytest.skip(f"{POSTGRES_ENV} is not set")
        engine_url = "postgresql+psycopg://" + pg_url.split("://", 1)[1]
        pg_schema = f"t_{uuid.uuid4().hex[:12]}"
        admin = create_engine(engine_url)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{pg_schema}"'))
        url = f"{engine_url}{'&' if '?' in engine_url else '?'}options={quote(f'-csearch_path={pg_schema}')}"

    made: list[Crm] = []

    def make_crm(**overrides: Any) -> Crm:
        data = {**template(), "database": url, **overrides}
        (tmp / "crmkit.toml").write_text(toml(data))  # the same deployment for the CLI
        crm = Crm(Settings.from_dict(data, base_dir=tmp, environ={}), clock=clock)
        made.append(crm)
        return crm

    crm = make_report_crm(make_crm)
    ns = seed(crm, clock)
    ns.crm, ns.clock, ns.make_crm, ns.config = crm, clock, make_crm, str(tmp / "crmkit.toml")
    try:
        yield ns
    finally:
        for c in made:
            c.close()
        if admin is not None:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{pg_schema}" CASCADE'))
            admin.dispose()
