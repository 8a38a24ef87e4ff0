"""The funnel report, through the public services, on SQLite and PostgreSQL."""

from __future__ import annotations

import tomllib
from datetime import datetime, timedelta, timezone
from importlib import resources
from typing import Any

import pytest

from crmkit import Crm, FrozenClock, ValidationError
from crmkit.core.reports import funnel

# A funnel of its own (no stage rules), next to the template's pipelines.
SALES = {"key": "sales", "name": "Sales", "stages": [
    "collecting_data", "proposal_sent", "measurement_scheduled", "measurer_assigned",
    {"key": "won", "kind": "won"}, {"key": "lost", "kind": "lost"},
]}
DEFERRED = {"key": "deferred", "name": "Deferred", "stages": ["waiting", {"key": "lost", "kind": "lost"}]}


@pytest.fixture
def crm(make_crm: Any) -> Crm:
    template = tomllib.loads(resources.files("crmkit").joinpath("templates/crmkit.toml").read_text())
    others = [p for p in template.get("pipelines", []) if p["key"] not in ("sales", "deferred")]
    for p in others:  # keep the template's other pipelines, minus rules that point at ours
        p["stages"] = [{k: v for k, v in (st.items() if isinstance(st, dict) else {"key": st}.items())
                        if k in ("key", "name", "kind")} for st in p["stages"]]
    return make_crm(pipelines=[*others, SALES, DEFERRED])  # type: ignore[no-any-return]

UTC = timezone.utc
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def at(clock: FrozenClock, hours: float) -> None:
    clock.set(T0 + timedelta(hours=hours))


@pytest.fixture
def sales(crm: Crm, clock: FrozenClock, alice: object) -> dict[str, int]:
    """Five deals with known paths through the sales pipeline (times in hours from T0).

    a: collecting 0 -> proposal 1 -> measurement_scheduled 4 (stays)
    b: collecting 0 -> proposal 2 -> lost 7
    c: collecting 0 (stays)
    d: collecting 0 -> measurement_scheduled 3 (skips proposal) -> won 4
    e: (bob's, created a quarter later) collecting 2000 -> proposal 2010 -> collecting 2011 -> proposal 2014
    """
    bob = crm.users.create(email="bob@windows.example", name="Bob")
    at(clock, 0)
    a = crm.deals.create(title="a", responsible_id=alice.id).id  # type: ignore[attr-defined]
    b = crm.deals.create(title="b", responsible_id=alice.id).id  # type: ignore[attr-defined]
    c = crm.deals.create(title="c", responsible_id=alice.id).id  # type: ignore[attr-defined]
    d = crm.deals.create(title="d", responsible_id=alice.id).id  # type: ignore[attr-defined]
    at(clock, 1)
    crm.deals.move(a, "proposal_sent")
    at(clock, 2)
    crm.deals.move(b, "proposal_sent")
    at(clock, 3)
    crm.deals.move(d, "measurement_scheduled")
    at(clock, 4)
    crm.deals.move(a, "measurement_scheduled")
    crm.deals.win(d)
    at(clock, 7)
    crm.deals.lose(b, reason_text="too far away")
    at(clock, 2000)
    e = crm.deals.create(title="e", responsible_id=bob.id).id
    at(clock, 2010)
    crm.deals.move(e, "proposal_sent")
    at(clock, 2011)
    crm.deals.move(e, "collecting_data")
    at(clock, 2014)
    crm.deals.move(e, "proposal_sent")
    return {"a": a, "b": b, "c": c, "d": d, "e": e, "bob": bob.id}


def test_whole_pipeline(crm: Crm, sales: dict[str, int]) -> None:
    report = funnel(crm, "sales")
    assert report.pipeline == "sales"
    assert [s.key for s in report.stages] == [s.key for s in crm.pipeline("sales").stages]
    cd = report.stage("collecting_data")
    assert (cd.entered, cd.current, cd.advanced, cd.stays) == (5, 1, 4, 5)
    assert cd.conversion == pytest.approx(4 / 5)
    # ended stays in collecting_data: a 1h, b 2h, d 3h, e 10h and 3h -> median 3h
    assert cd.median_time == timedelta(hours=3)
    ps = report.stage("proposal_sent")
    # entered: a, b, e (twice, counted once); advanced: a only (b was lost, e went back)
    assert (ps.entered, ps.current, ps.advanced, ps.stays) == (3, 1, 1, 3)
    assert ps.conversion == pytest.approx(1 / 3)
    # ended stays: a 3h, b 5h, e 1h -> 3h
    assert ps.median_time == timedelta(hours=3)
    ms = report.stage("measurement_scheduled")
    assert (ms.entered, ms.current, ms.advanced, ms.stays) == (2, 1, 1, 1)
    assert ms.conversion == pytest.approx(1 / 2)
    assert ms.median_time == timedelta(hours=1)  # d: 3h -> 4h; a is still there
    won, lost = report.stage("won"), report.stage("lost")
    assert (won.entered, won.current, won.conversion, won.median_time) == (1, 1, None, None)
    assert (lost.entered, lost.current, lost.conversion) == (1, 1, None)
    empty = report.stage("measurer_assigned")
    assert (empty.entered, empty.current, empty.conversion, empty.median_time) == (0, 0, None, None)
    assert report.deals == 5


def test_even_number_of_stays_averages_the_middle_two(crm: Crm, sales: dict[str, int], clock: FrozenClock) -> None:
    at(clock, 2030)
    crm.deals.move(sales["c"], "proposal_sent")  # c leaves collecting_data after 2030h
    cd = funnel(crm, "sales").stage("collecting_data")
    # 1h, 2h, 3h, 3h, 10h, 2030h -> (3h + 3h) / 2
    assert cd.stays == 6 and cd.median_time == timedelta(hours=3)
    at(clock, 2031)
    crm.deals.move(sales["a"], "measurer_assigned")
    ms = funnel(crm, "sales").stage("measurement_scheduled")
    # a: 4h -> 2031h, d: 1h -> median (1h + 2027h) / 2
    assert ms.stays == 2 and ms.median_time == timedelta(hours=1014)


def test_scoped_to_a_manager_and_a_period(crm: Crm, sales: dict[str, int], alice: object) -> None:
    bobs = funnel(crm, "sales", responsible_id=sales["bob"])
    cd = bobs.stage("collecting_data")
    assert (cd.entered, cd.current, cd.advanced, cd.stays) == (1, 0, 1, 2)
    assert cd.median_time == timedelta(hours=6.5)  # 10h and 3h
    assert bobs.stage("proposal_sent").current == 1
    assert bobs.stage("won").entered == 0

    alices = funnel(crm, "sales", responsible_id=alice.id)  # type: ignore[attr-defined]
    assert alices.stage("collecting_data").entered == 4

    q1 = funnel(crm, "sales", since=T0, until=T0 + timedelta(days=30))
    assert q1.stage("collecting_data").entered == 4
    later = funnel(crm, "sales", since=T0 + timedelta(days=30))
    assert later.stage("collecting_data").entered == 1
    nobody = funnel(crm, "sales", responsible_id=alice.id, since=T0 + timedelta(days=30))  # type: ignore[attr-defined]
    assert all(s.entered == 0 and s.current == 0 and s.median_time is None for s in nobody.stages)


def test_time_in_stage_ends_with_a_move_to_another_pipeline(crm: Crm, clock: FrozenClock) -> None:
    at(clock, 0)
    deal = crm.deals.create(title="deferred later")
    at(clock, 5)
    crm.deals.move(deal.id, "waiting", pipeline="deferred")
    sales = funnel(crm, "sales").stage("collecting_data")
    assert (sales.entered, sales.current, sales.advanced, sales.median_time) == (1, 0, 0, timedelta(hours=5))
    deferred = funnel(crm, "deferred").stage("waiting")
    assert (deferred.entered, deferred.current, deferred.median_time) == (1, 1, None)


def test_empty_pipeline_and_bad_arguments(crm: Crm) -> None:
    crm.deals.create(title="only in sales")
    report = funnel(crm, "deferred")
    assert report.deals == 0
    assert all(s.entered == 0 for s in report.stages)
    with pytest.raises(ValidationError, match="pipeline"):
        funnel(crm, "nope")
    with pytest.raises(ValidationError, match="since"):
        funnel(crm, "sales", since=datetime(2026, 1, 1))
    with pytest.raises(ValidationError, match="responsible_id"):
        funnel(crm, "sales", responsible_id="7")  # type: ignore[arg-type]
