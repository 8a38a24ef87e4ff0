"""Every KPI on the seeded deployment against a straightforward Python reference over the rows
read back with plain SELECTs, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal
from types import SimpleNamespace
from typing import Any, Iterable

import pytest

from crmkit import Money, schema
from crmkit.core.reports import run_report
from conftest import LOST_DAYS, NOW, rows

UTC = timezone.utc
SINCE, UNTIL = datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 8, 1, tzinfo=UTC)
PERIOD = {"since": "2026-02-01", "until": "2026-07-31"}  # dates, both included: [SINCE, UNTIL)


def within(t: datetime | None) -> bool:
    return t is not None and SINCE <= t < UNTIL


def pct(values: Iterable[float], p: float) -> float | None:
    """The linear-interpolated percentile (PostgreSQL's percentile_cont)."""
    s = sorted(values)
    if not s:
        return None
    pos = (len(s) - 1) * p
    lo = int(pos)
    return s[lo] if lo + 1 >= len(s) else s[lo] + (s[lo + 1] - s[lo]) * (pos - lo)


def secs(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds()


def close(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and abs(a - b) < 0.01)


def money(minor: int, currency: str) -> Money:
    return Money.from_minor(minor, currency)


class Data:
    """The seeded rows."""

    def __init__(self, crm: Any) -> None:
        self.leads = rows(crm, schema.leads)
        self.deals = rows(crm, schema.deals)
        self.history = sorted(rows(crm, schema.stage_history), key=lambda h: (h.moved_at, h.id))
        self.tasks = rows(crm, schema.tasks)
        self.events = rows(crm, schema.events)
        self.users = {u.id: u for u in rows(crm, schema.users)}
        self.stages = {s.id: s for s in rows(crm, schema.stages)}
        self.pipelines = {p.id: p for p in rows(crm, schema.pipelines)}
        self.reasons = {r.id: r for r in rows(crm, schema.lost_reasons)}
        self.sales = next(p.id for p in self.pipelines.values() if p.key == "sales")


@pytest.fixture
def data(seeded: SimpleNamespace) -> Data:
    return Data(seeded.crm)


def test_conversion_and_channels(seeded: SimpleNamespace, data: Data) -> None:
    leads = [ld for ld in data.leads if within(ld.created_at)]
    with_deal = {d.lead_id for d in data.deals if d.lead_id}
    won = {d.lead_id for d in data.deals if d.lead_id and d.status == "won"}
    r = run_report(seeded.crm, "conversion", **PERIOD).rows[0]
    n_deal = sum(ld.id in with_deal for ld in leads)
    n_won = sum(ld.id in won for ld in leads)
    assert (r["leads"], r["deals"], r["won"]) == (len(leads), n_deal, n_won)
    assert r["leads"] > 10 and 0 < r["won"] < r["deals"] < r["leads"]
    assert r["deals_per_100"] == pytest.approx(100 * n_deal / len(leads))
    assert r["won_per_100"] == pytest.approx(100 * n_won / len(leads))

    expected: dict[tuple[str, str], dict[str, Any]] = defaultdict(lambda: {"leads": 0, "deals": 0, "won": 0,
                                                                           "won_deals": 0, "minor": 0})
    for ld in leads:
        e = expected[(ld.source, ld.utm_source or "(none)")]
        e["leads"] += 1
        e["deals"] += ld.id in with_deal
        e["won"] += ld.id in won
    for d in data.deals:
        if d.status == "won" and within(d.closed_at) and d.currency == "USD":
            e = expected[(d.source, d.utm_source or "(none)")]
            e["won_deals"] += 1
            e["minor"] += d.amount_minor
    report = run_report(seeded.crm, "channels", **PERIOD)
    got = {(row["channel"], row["utm_source"]): row for row in report.rows}
    assert set(got) == set(expected)
    for key, e in expected.items():
        row = got[key]
        assert (row["leads"], row["deals"], row["won"], row["won_deals"]) == (e["leads"], e["deals"], e["won"],
                                                                              e["won_deals"]), key
        assert row["won_amount"] == money(e["minor"], "USD")
        assert row["won_per_100"] == (pytest.approx(100 * e["won"] / e["leads"]) if e["leads"] else None)
    only_google = run_report(seeded.crm, "conversion", source="google", **PERIOD).rows[0]
    assert only_google["leads"] == sum(ld.utm_source == "google" for ld in leads) > 0


def test_handling_time(seeded: SimpleNamespace, data: Data) -> None:
    leads = {ld.id: ld for ld in data.leads if within(ld.created_at)}
    first: dict[int, datetime] = {}
    qualified: dict[int, datetime] = {}
    for e in data.events:
        if e.entity_type != "lead" or e.entity_id not in leads:
            continue
        if e.type != "lead.created" and e.actor_id is not None:
            first[e.entity_id] = min(first.get(e.entity_id, e.occurred_at), e.occurred_at)
        if e.type in ("lead.stage_changed", "lead.converted"):
            qualified[e.entity_id] = min(qualified.get(e.entity_id, e.occurred_at), e.occurred_at)
    for t in data.tasks:
        if t.entity_type == "lead" and t.entity_id in leads and t.status == "done":
            first[t.entity_id] = min(first.get(t.entity_id, t.completed_at), t.completed_at)
    converted = {i: ld.closed_at for i, ld in leads.items() if ld.status == "converted"}
    report = run_report(seeded.crm, "handling_time", **PERIOD)
    for name, times in (("first_action", first), ("qualified", qualified), ("converted", converted)):
        durations = [secs(leads[i].created_at, at) for i, at in times.items()]
        row = report.row(measure=name)
        assert row["leads"] == len(leads)
        assert row["measured"] == len(durations) > 5
        assert close(row["median_seconds"], pct(durations, 0.5)), name
        assert close(row["p90_seconds"], pct(durations, 0.9)), name


def test_average_check_and_lost_reasons(seeded: SimpleNamespace, data: Data) -> None:
    per: dict[str, list[int]] = defaultdict(list)
    for d in data.deals:
        if d.status == "won" and within(d.closed_at) and d.amount_minor is not None:
            per[d.currency].append(d.amount_minor)
    report = run_report(seeded.crm, "average_check", **PERIOD)
    assert [r["currency"] for r in report.rows] == sorted(per) == ["EUR", "USD"]
    for cur, amounts in per.items():
        row = report.row(currency=cur)
        avg = (Decimal(sum(amounts)) / len(amounts)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
        assert (row["won"], row["total"], row["average"]) == (len(amounts), money(sum(amounts), cur),
                                                               money(int(avg), cur))

    expected: dict[tuple[str, str, str], int] = defaultdict(int)
    for d in data.deals:
        if d.status != "lost" or not within(d.closed_at):
            continue
        move = [h for h in data.history if h.deal_id == d.id and data.stages[h.to_stage_id].kind == "lost"][-1]
        stage = data.stages[move.from_stage_id].key if move.from_stage_id else "(none)"
        reason = data.reasons[d.lost_reason_id].label if d.lost_reason_id else (d.lost_reason_text or "(none)")
        expected[(data.pipelines[d.pipeline_id].key, stage, reason)] += 1
    report = run_report(seeded.crm, "lost_reasons", **PERIOD)
    got = {(r["pipeline"], r["stage"], r["reason"]): r for r in report.rows}
    assert {k: r["lost"] for k, r in got.items()} == dict(expected)
    assert len(expected) >= 2
    total = sum(expected.values())
    assert all(r["share"] == pytest.approx(r["lost"] / total) for r in report.rows)


def stays(data: Data) -> list[tuple[int, int, datetime, datetime | None]]:
    """(deal, stage, entered, left) for every stay, from the stage history."""
    by_deal: dict[int, list[Any]] = defaultdict(list)
    for h in data.history:
        by_deal[h.deal_id].append(h)
    out = []
    for deal, moves in by_deal.items():
        for i, h in enumerate(moves):
            out.append((deal, h.to_stage_id, h.moved_at, moves[i + 1].moved_at if i + 1 < len(moves) else None))
    return out


def test_funnel_and_time_in_stage(seeded: SimpleNamespace, data: Data) -> None:
    sales = sorted((s for s in data.stages.values() if s.pipeline_id == data.sales), key=lambda s: s.position)
    created = {d.id for d in data.deals if within(d.created_at)}
    all_stays = stays(data)
    reach: dict[int, int] = defaultdict(lambda: -1)
    for deal, stage, _, _ in all_stays:
        st = data.stages[stage]
        if st.pipeline_id == data.sales and st.kind != "lost":
            reach[deal] = max(reach[deal], st.position)
    funnel = run_report(seeded.crm, "funnel", **PERIOD)
    assert [r["stage"] for r in funnel.rows] == [s.key for s in sales]
    for st in sales:
        entered = {deal for deal, stage, _, _ in all_stays if stage == st.id and deal in created}
        ended = [secs(a, b) for deal, stage, a, b in all_stays if stage == st.id and deal in created and b]
        row = funnel.row(stage=st.key)
        assert row["entered"] == len(entered)
        assert row["current"] == sum(d.stage_id == st.id and d.id in created for d in data.deals)
        assert row["advanced"] == sum(reach[deal] > st.position for deal in entered)
        assert close(row["median_seconds"], pct(ended, 0.5))
    assert funnel.row(stage="collecting_data")["entered"] > 10

    norms = {"proposal_sent": 3.0}
    report = run_report(seeded.crm, "time_in_stage", **PERIOD)
    for st in sales:
        ended = [secs(a, b) for _, stage, a, b in all_stays if stage == st.id and within(a) and b]
        now_in = [d for d in data.deals if d.stage_id == st.id and d.status == "open"]
        row = report.row(stage=st.key)
        assert row["stays"] == len(ended)
        assert close(row["median_seconds"], pct(ended, 0.5)) and close(row["p90_seconds"], pct(ended, 0.9))
        assert row["current"] == len(now_in)
        if st.kind == "open":
            limit = NOW - timedelta(days=norms.get(st.key, 10.0))
            assert row["stalled"] == sum(d.stage_entered_at < limit for d in now_in)
            assert row["norm_days"] == norms.get(st.key, 10.0)
    assert sum(r["stalled"] for r in report.rows) > 0


def test_managers_and_tasks(seeded: SimpleNamespace, data: Data) -> None:
    report = run_report(seeded.crm, "managers", **PERIOD)
    for m in seeded.managers:
        leads = [ld for ld in data.leads if ld.responsible_id == m.id and within(ld.created_at)]
        won = [d for d in data.deals if d.responsible_id == m.id and d.status == "won" and within(d.closed_at)]
        overdue = [t for t in data.tasks if t.assignee_id == m.id and t.status == "open" and t.due_at
                   and t.due_at < NOW]
        row = report.row(manager_id=m.id)
        assert row["manager"] == m.name
        assert (row["leads"], row["converted"], row["won"], row["overdue_tasks"]) == (
            len(leads), sum(ld.status == "converted" for ld in leads), len(won), len(overdue))
        assert row["won_amount"] == money(sum(d.amount_minor for d in won if d.currency == "USD"), "USD")
    eur = run_report(seeded.crm, "managers", currency="EUR", **PERIOD)
    assert {r["won_amount"].currency for r in eur.rows} == {"EUR"}

    report = run_report(seeded.crm, "tasks", **PERIOD)
    every = {"done": 0, "on_time": 0, "late": 0, "overdue_open": 0}
    for uid in {t.assignee_id for t in data.tasks if t.due_at}:
        mine = [t for t in data.tasks if t.assignee_id == uid and t.due_at]
        done = [t for t in mine if t.status == "done" and within(t.completed_at)]
        figures = {"done": len(done), "on_time": sum(t.completed_at <= t.due_at for t in done),
                   "late": sum(t.completed_at > t.due_at for t in done),
                   "overdue_open": sum(t.status == "open" and t.due_at < NOW for t in mine)}
        for k in every:
            every[k] += figures[k]
        if not any(figures.values()):
            continue
        row = report.row(assignee_id=uid, assignee=data.users[uid].name if uid else "(unassigned)")
        assert {k: row[k] for k in figures} == figures
    total = report.row(assignee="(all)")
    assert {k: total[k] for k in every} == every
    assert every["on_time"] > 0 and every["late"] > 0 and every["overdue_open"] > 0


def test_base_growth(seeded: SimpleNamespace, data: Data) -> None:
    gap = timedelta(days=LOST_DAYS)
    won: dict[int, list[datetime]] = defaultdict(list)
    for d in data.deals:
        if d.status == "won":
            won[d.contact_id * 2 if d.contact_id else d.company_id * 2 + 1].append(d.closed_at)
    new: dict[str, int] = defaultdict(int)
    lost: dict[str, int] = defaultdict(int)
    for times in won.values():
        times.sort()
        for i, t in enumerate(times):
            if i == 0 or t - times[i - 1] > gap:
                new[t.strftime("%Y-%m")] += 1
            if (i + 1 == len(times) or times[i + 1] - t > gap) and t + gap <= NOW:
                lost[(t + gap).strftime("%Y-%m")] += 1
    months = sorted(set(new) | set(lost))
    base, expected = 0, []
    for mth in months:
        base += new[mth] - lost[mth]
        if "2026-02" <= mth <= "2026-07":
            expected.append({"month": mth, "new": new[mth], "lost": lost[mth], "net": new[mth] - lost[mth],
                             "base": base})
    report = run_report(seeded.crm, "base_growth", **PERIOD)
    assert [dict(r) for r in report.rows] == expected
    assert sum(r["lost"] for r in expected) > 0 and sum(r["new"] for r in expected) > 0
