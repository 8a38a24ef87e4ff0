"""Lifecycle, RFM and cohorts against a Python reference; the worker's segment and score jobs;
the lead_win backtest on the demo data. SQLite and PostgreSQL."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from crmkit import Crm, FrozenClock, ValidationError, schema
from crmkit.core.reports import run_report
from crmkit.core.reports.scores import ranked
from crmkit.core.reports.scores_job import recompute_scores
from crmkit.core.reports.segments_job import recompute_segments
from crmkit.demo import seed as demo_seed
from conftest import LOST_DAYS, NOW, make_report_crm, rows

UTC = timezone.utc
SEGMENT_RULES = (  # the documented rules, in order
    ("champions", lambda r, f: r >= 4 and f >= 4), ("loyal", lambda r, f: r >= 3 and f >= 3),
    ("new", lambda r, f: r >= 4 and f == 1), ("promising", lambda r, f: r >= 3),
    ("at_risk", lambda r, f: r <= 2 and f >= 3), ("hibernating", lambda r, f: r == 2), ("lost", lambda r, f: True),
)


def ntile(keys: list[Any], n: int = 5) -> dict[Any, int]:
    """SQL's ntile(n) over rows sorted by ``keys`` (the first n % size buckets get one more row)."""
    out, size = {}, len(keys)
    base, extra = divmod(size, n)
    i = 0
    for bucket in range(1, n + 1):
        take = base + (1 if bucket <= extra else 0)
        for k in keys[i:i + take]:
            out[k] = bucket
        i += take
    return out


def reference(crm: Crm) -> dict[tuple[str, int], dict[str, Any]]:
    """Per (entity type, id) with a won deal: purchases, last, monetary (USD), lifecycle, R, F, M, segment."""
    per: dict[tuple[str, int], dict[str, Any]] = {}
    for d in rows(crm, schema.deals):
        if d.status != "won":
            continue
        for etype, ident in (("contact", d.contact_id), ("company", d.company_id)):
            if ident is None:
                continue
            c = per.setdefault((etype, ident), {"purchases": 0, "last": d.closed_at, "first": d.closed_at, "money": 0})
            c["purchases"] += 1
            c["last"], c["first"] = max(c["last"], d.closed_at), min(c["first"], d.closed_at)
            c["money"] += d.amount_minor if d.currency == "USD" and d.amount_minor else 0
    for etype in ("contact", "company"):
        keys = [k for k in per if k[0] == etype]
        r = ntile(sorted(keys, key=lambda k: (per[k]["last"], k[1])))
        f = ntile(sorted(keys, key=lambda k: (per[k]["purchases"], k[1])))
        m = ntile(sorted(keys, key=lambda k: (per[k]["money"], k[1])))
        for k in keys:
            c = per[k]
            c.update(r=r[k], f=f[k], m=m[k])
            c["segment"] = next(name for name, rule in SEGMENT_RULES if rule(r[k], f[k]))
            c["lifecycle"] = ("lost" if c["last"] < NOW - timedelta(days=LOST_DAYS)
                              else "regular" if c["purchases"] >= 2 else "active")
    return per


def test_lifecycle_rfm_and_cohorts_match_the_reference(seeded: SimpleNamespace) -> None:
    crm = seeded.crm
    ref = reference(crm)
    lifecycle = run_report(crm, "lifecycle")
    for etype, table in (("contact", schema.contacts), ("company", schema.companies)):
        ids = [r.id for r in rows(crm, table)]
        expected: dict[str, int] = defaultdict(int)
        for i in ids:
            expected[ref[(etype, i)]["lifecycle"] if (etype, i) in ref else "potential"] += 1
        for stage in ("potential", "active", "regular", "lost"):
            assert lifecycle.row(entity_type=etype, lifecycle=stage)["customers"] == expected[stage], (etype, stage)
    assert all(lifecycle.row(entity_type="contact", lifecycle=s)["customers"] > 0 for s in ("potential", "active",
                                                                                             "regular", "lost"))
    rfm = run_report(crm, "rfm")
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for (etype, _), c in ref.items():
        groups[(etype, c["segment"])].append(c)
    assert {(r["entity_type"], r["segment"]) for r in rfm.rows} == set(groups)
    for (etype, segment), members in groups.items():
        row = rfm.row(entity_type=etype, segment=segment)
        assert row["customers"] == len(members)
        assert row["avg_r"] == pytest.approx(sum(c["r"] for c in members) / len(members))
        assert row["avg_f"] == pytest.approx(sum(c["f"] for c in members) / len(members))
        assert row["purchases"] == sum(c["purchases"] for c in members)
        assert row["amount"].minor_units == sum(c["money"] for c in members)

    # cohorts: a deal's contact, else its company
    months: dict[int, set[int]] = defaultdict(set)
    for d in rows(crm, schema.deals):
        if d.status == "won":
            key = d.contact_id * 2 if d.contact_id else d.company_id * 2 + 1
            months[key].add(d.closed_at.year * 12 + d.closed_at.month - 1)
    cohort: dict[int, list[set[int]]] = defaultdict(list)
    for mset in months.values():
        cohort[min(mset)].append(mset)
    now_i = NOW.year * 12 + NOW.month - 1
    report = run_report(crm, "cohorts")
    assert [r["cohort"] for r in report.rows] == [f"{i // 12}-{i % 12 + 1:02d}" for i in sorted(cohort)]
    for first, members in cohort.items():
        row = report.row(cohort=f"{first // 12}-{first % 12 + 1:02d}")
        assert row["customers"] == len(members)
        for k in range(1, 13):
            expected_share = None if first + k > now_i else sum(first + k in m for m in members) / len(members)
            assert row[f"m{k}"] == (pytest.approx(expected_share) if expected_share is not None else None)
    assert any(row[f"m{k}"] for row in report.rows for k in range(1, 13))  # somebody came back


def test_segments_job_stores_the_segments_and_emits_each_change(seeded: SimpleNamespace) -> None:
    crm = seeded.crm
    ref = reference(crm)
    changed = recompute_segments(crm, NOW)
    assert changed == len(ref)  # everybody who bought left "potential"
    stored = {(r.entity_type, r.entity_id): r for r in rows(crm, schema.customer_segments)}
    assert set(stored) == set(ref)
    for key, c in ref.items():
        s = stored[key]
        assert (s.lifecycle, s.purchases, s.rfm_r, s.rfm_f, s.rfm_m, s.rfm_segment) == (
            c["lifecycle"], c["purchases"], c["r"], c["f"], c["m"], c["segment"])
        assert s.lifecycle_since == NOW
    events = [e for e in rows(crm, schema.events) if e.type.endswith(".lifecycle_changed")]
    assert len(events) == len(ref)
    assert {(e.entity_type, e.entity_id, e.payload["changes"]["lifecycle"]["after"]) for e in events} == {
        (k[0], k[1], c["lifecycle"]) for k, c in ref.items()}
    assert recompute_segments(crm, NOW + timedelta(hours=1)) == 0  # nothing changed: no event, since kept
    assert {r.lifecycle_since for r in rows(crm, schema.customer_segments)} == {NOW}
    # the segments filter the lists
    regular = {i for (t, i), c in ref.items() if t == "contact" and c["lifecycle"] == "regular"}
    assert {c.id for c in crm.contacts.list({"lifecycle": "regular"}).items} == regular
    champions = {i for (t, i), c in ref.items() if t == "contact" and c["segment"] == "loyal"}
    assert {c.id for c in crm.contacts.list({"rfm_segment": "loyal"}).items} == champions
    potential = {r.id for r in rows(crm, schema.contacts)} - {i for t, i in ref if t == "contact"}
    assert {c.id for c in crm.contacts.list({"lifecycle": "potential"}, limit=500).items} == potential


def test_time_makes_customers_lost_and_a_reopened_sale_makes_them_potential(make_crm: Any, clock: FrozenClock) -> None:
    crm = make_report_crm(make_crm)
    clock.set(datetime(2026, 3, 1, tzinfo=UTC))
    contact = crm.contacts.create(first_name="Ann")
    deal = crm.deals.create(title="Windows", contact_id=contact.id, amount="100.00", currency="USD")
    crm.deals.win(deal.id)
    assert recompute_segments(crm, clock.now()) == 1
    clock.set(clock.now() + timedelta(days=LOST_DAYS + 1))
    assert recompute_segments(crm, clock.now()) == 1
    seg = rows(crm, schema.customer_segments)[0]
    assert (seg.lifecycle, seg.lifecycle_since) == ("lost", clock.now())
    changes = [e.payload["changes"]["lifecycle"] for e in rows(crm, schema.events)
               if e.type == "contact.lifecycle_changed"]
    assert changes == [{"before": "potential", "after": "active"}, {"before": "active", "after": "lost"}]
    crm.deals.move(deal.id, "collecting_data")  # reopened: no purchase left
    assert recompute_segments(crm, clock.now()) == 1
    assert rows(crm, schema.customer_segments) == []


def test_scores_job_and_lead_win_backtest(seeded: SimpleNamespace) -> None:
    crm = seeded.crm
    n = recompute_scores(crm, NOW)
    open_deals = {d.id for d in rows(crm, schema.deals) if d.status == "open"}
    stored = rows(crm, schema.scores)
    assert n == len(stored) == len(open_deals) > 0
    assert {s.entity_id for s in stored} == open_deals
    assert all(s.model == "lead_win" and 0 < s.score < 1 for s in stored)
    assert [d.id for d, _ in ranked(crm.as_user(None), "deal", "lead_win").items] == [
        s.entity_id for s in sorted(stored, key=lambda s: (-s.score, -s.entity_id))]


def _demo(make_crm: Any, clock: FrozenClock) -> Crm:
    crm = make_crm()
    demo_seed(crm, now=datetime(2026, 6, 1, 12, tzinfo=UTC), seed=7)
    return crm  # type: ignore[no-any-return]


def test_backtest_on_the_demo_is_computed_bounded_and_reproducible(make_crm: Any, clock: FrozenClock) -> None:
    crm = _demo(make_crm, clock)
    closed = [d for d in rows(crm, schema.deals) if d.status in ("won", "lost")]
    for options in ({}, {"since": "2026-05-10"}):  # in sample; out of time (learned before May 10)
        report = run_report(crm, "score_backtest", **options)
        again = run_report(crm, "score_backtest", **options)
        assert report.rows == again.rows
        total = report.row(band="all")
        assert total["predictions"] == sum(r["predictions"] for r in report.rows if r["band"] != "all") > 0
        assert total["predictions"] <= 10 * len(closed)
        for r in report.rows:
            if r["predictions"]:
                assert 0 <= r["predicted"] <= 1 and 0 <= r["actual"] <= 1 and 0 <= r["brier"] <= 1
                if r["band"] != "all":
                    lo = float(r["band"].split("-")[0])
                    assert lo <= r["predicted"] <= lo + 0.1
        assert 0 < total["brier"] < 0.5
    won = sum(d.status == "won" for d in closed)
    assert 0 < won < len(closed)


def test_segment_filters_over_http_and_cli(seeded: SimpleNamespace) -> None:
    from click.testing import CliRunner
    from starlette.testclient import TestClient

    from crmkit.cli import cli
    from crmkit.testing import auth_headers
    from crmkit.web import create_app

    crm = seeded.crm
    recompute_segments(crm, NOW)
    stored = rows(crm, schema.customer_segments)
    regular = sorted(r.entity_id for r in stored if r.entity_type == "contact" and r.lifecycle == "regular")
    client = TestClient(create_app(crm), headers=auth_headers(crm, seeded.admin.id))
    got = client.get("/api/v1/contacts", params={"lifecycle": "regular", "limit": 500})
    assert got.status_code == 200, got.text
    assert sorted(c["id"] for c in got.json()["items"]) == regular and regular
    bad = client.get("/api/v1/companies", params={"rfm_segment": "vip"})
    assert bad.status_code in (400, 422) and "rfm_segment" in bad.text
    out = CliRunner().invoke(cli, ["--config", seeded.config, "--json", "contacts", "list", "--filter",
                                   "lifecycle=regular", "--limit", "500"],
                             env={"CRMKIT_CONFIG": None, "CRMKIT_USER": None, "CRMKIT_PLUGINS": None})
    assert out.exit_code == 0, out.output
    import json

    assert sorted(c["id"] for c in json.loads(out.stdout)["items"]) == regular


def test_scores_over_http(seeded: SimpleNamespace) -> None:
    from starlette.testclient import TestClient

    from crmkit.testing import auth_headers
    from crmkit.web import create_app

    crm = seeded.crm
    recompute_scores(crm, NOW)
    client = TestClient(create_app(crm))
    m1 = auth_headers(crm, seeded.m1.id)
    mine = {d.id for d in rows(crm, schema.deals) if d.status == "open" and d.responsible_id == seeded.m1.id}
    got = client.get("/api/v1/reports/scores/deal", params={"model": "lead_win", "limit": 2}, headers=m1)
    assert got.status_code == 200, got.text
    first = got.json()
    ids = [d["id"] for d in first["items"]]
    while first["next_cursor"]:
        first = client.get("/api/v1/reports/scores/deal", params={"cursor": first["next_cursor"], "limit": 2},
                           headers=m1).json()
        ids += [d["id"] for d in first["items"]]
    assert set(ids) == mine and len(ids) == len(mine) > 0
    one = client.get(f"/api/v1/reports/scores/deal/{ids[0]}", headers=m1).json()["scores"]
    assert 0 < one["lead_win"] < 1
    other = next(d.id for d in rows(crm, schema.deals) if d.responsible_id == seeded.m3.id)
    assert client.get(f"/api/v1/reports/scores/deal/{other}", headers=m1).status_code == 404
    assert client.get("/api/v1/reports/scores/planet", headers=m1).status_code == 404


def test_lifecycle_as_a_report_dimension(seeded: SimpleNamespace) -> None:
    crm = seeded.crm
    recompute_segments(crm, NOW)
    stage = {r.entity_id: r.lifecycle for r in rows(crm, schema.customer_segments) if r.entity_type == "contact"}
    leads = rows(crm, schema.leads)
    for lifecycle in ("potential", "active", "regular", "lost"):
        mine = [ld for ld in leads if ld.contact_id is not None and stage.get(ld.contact_id, "potential") == lifecycle]
        got = run_report(crm, "conversion", lifecycle=lifecycle).rows[0]
        assert got["leads"] == len(mine), lifecycle
        won = [d for d in rows(crm, schema.deals) if d.status == "won" and d.amount_minor is not None
               and d.contact_id is not None and stage.get(d.contact_id, "potential") == lifecycle]
        check = run_report(crm, "average_check", lifecycle=lifecycle)
        assert sum(r["won"] for r in check.rows) == len(won), lifecycle
    assert run_report(crm, "conversion", lifecycle="regular").rows[0]["leads"] > 0
    with pytest.raises(ValidationError, match="lifecycle"):
        run_report(crm, "conversion", lifecycle="vip")
