"""base_growth and cohorts count months in the deployment's timezone: sales just before midnight
UTC at a month's end belong to the next month in Berlin (winter and summer time), the same data
read by a UTC deployment keeps them in the month before. SQLite and PostgreSQL."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from crmkit import FrozenClock
from crmkit.core.reports import run_report
from crmkit.core.reports.localtime import offsets

UTC = timezone.utc
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
LOST_DAYS = 30
SALES = {  # customer -> won deals (UTC)
    "Ann": [datetime(2026, 1, 31, 23, 30, tzinfo=UTC)],                       # Berlin: 1 Feb 00:30 (CET)
    "Ben": [datetime(2026, 3, 31, 22, 30, tzinfo=UTC)],                       # Berlin: 1 Apr 00:30 (CEST); lost 1 May
    "Cat": [datetime(2026, 2, 28, 23, 30, tzinfo=UTC), datetime(2026, 3, 20, 9, tzinfo=UTC)],
    "Dan": [datetime(2026, 1, 15, 12, 0, tzinfo=UTC), datetime(2026, 2, 28, 22, 59, tzinfo=UTC)],
    "Eve": [datetime(2026, 4, 30, 21, 59, tzinfo=UTC), datetime(2026, 5, 31, 22, 1, tzinfo=UTC)],
}


def _month(t: datetime, zone: str) -> str:
    return t.astimezone(ZoneInfo(zone)).strftime("%Y-%m")


def _growth(zone: str, first: str, last: str) -> list[dict[str, Any]]:
    gap = timedelta(days=LOST_DAYS)
    new: dict[str, int] = defaultdict(int)
    lost: dict[str, int] = defaultdict(int)
    for times in SALES.values():
        for i, t in enumerate(times):
            if i == 0 or t - times[i - 1] > gap:
                new[_month(t, zone)] += 1
            if (i + 1 == len(times) or times[i + 1] - t > gap) and t + gap <= NOW:
                lost[_month(t + gap, zone)] += 1
    base, out = 0, []
    for m in sorted(set(new) | set(lost)):
        base += new[m] - lost[m]
        if first <= m <= last:
            out.append({"month": m, "new": new[m], "lost": lost[m], "net": new[m] - lost[m], "base": base})
    return out


def _cohorts(zone: str) -> list[dict[str, Any]]:
    def index(t: datetime) -> int:
        local = t.astimezone(ZoneInfo(zone))
        return local.year * 12 + local.month - 1

    months = {name: {index(t) for t in times} for name, times in SALES.items()}
    by_first: dict[int, list[set[int]]] = defaultdict(list)
    for ms in months.values():
        by_first[min(ms)].append(ms)
    out = []
    for first in sorted(by_first):
        group = by_first[first]
        row: dict[str, Any] = {"cohort": f"{first // 12:04d}-{first % 12 + 1:02d}", "customers": len(group)}
        for k in range(1, 13):
            row[f"m{k}"] = None if first + k > index(NOW) else sum(first + k in ms for ms in group) / len(group)
        out.append(row)
    return out


def test_months_follow_the_deployments_timezone(make_crm: Any, clock: FrozenClock) -> None:
    settings = {"reports": {"lifecycle": {"lost_days": LOST_DAYS}}}
    berlin = make_crm(timezone="Europe/Berlin", settings=settings)
    clock.set(datetime(2026, 1, 1, tzinfo=UTC))
    for name, times in SALES.items():
        contact = berlin.contacts.create(first_name=name, last_name="Smith")
        for t in times:
            clock.set(t)
            deal = berlin.deals.create(title=f"{name} {t:%m-%d}", contact_id=contact.id)
            berlin.deals.win(deal.id)
    clock.set(NOW)
    utc = make_crm(timezone="UTC", settings=settings)  # the same database, read in UTC
    for zone, crm in (("Europe/Berlin", berlin), ("UTC", utc)):
        report = run_report(crm, "base_growth", since="2026-02-01", until="2026-05-31")
        assert [dict(r) for r in report.rows] == _growth(zone, "2026-02", "2026-05"), zone
        assert [dict(r) for r in run_report(crm, "cohorts").rows] == _cohorts(zone), zone
    assert _growth("Europe/Berlin", "2026-01", "2026-06") != _growth("UTC", "2026-01", "2026-06")
    assert _cohorts("Europe/Berlin") != _cohorts("UTC")


def test_the_zones_offsets_are_its_stretches() -> None:
    assert offsets("UTC") == ((0, 0),)
    berlin = offsets("Europe/Berlin")
    summer_2026 = int(datetime(2026, 3, 29, 1, 0, tzinfo=UTC).timestamp())  # 02:00 CET -> 03:00 CEST
    assert (summer_2026, 7200) in berlin and (summer_2026 - 1) not in {s for s, _ in berlin}
    assert all(a[0] < b[0] and a[1] != b[1] for a, b in zip(berlin, berlin[1:]))
    for start, off in berlin[::17]:
        t = datetime.fromtimestamp(start, UTC)
        assert t.astimezone(ZoneInfo("Europe/Berlin")).utcoffset() == timedelta(seconds=off)
