"""Target 16 (issue 16): the fitness plugin's daily pass over 100,000 members (SQLite).

Data: N members (100,000; --quick: 5,000), each with one membership started 0-364 days ago
(yearly, half-year or quarter; some ended: lapsed), a visit state (last visit, the decaying
recent and norm counts) drawn from five kinds of members, the touch points whose window opened
before today already fired (the pass of a steady club fires only today's). Generated with raw
``executemany``, twice from the same seed: one database for ours, one for the baseline.

Ours: ``crmkit_fitness.passes.daily_pass(crm, now)`` as the worker runs it (phases with their
events and hook, touch points with their tasks and events, renewal deals opened, ended
memberships closed), with a programme of the nine rules the baseline implements (day:0, 2, 7,
14, 45; no_visit:10; before_end:60, 30, 7).
Baseline: the same phases and touch points by hand-written SQL on a raw connection: one SELECT
computing every member's phase (CASE over julianday and exp), an executemany of the changed
phases, one INSERT ... SELECT of the due touch points and one of their tasks. No events, no
hooks, no renewal deals. Same work: identical phases per member and identical (member, rule,
cycle) touch points. Each side runs once on its own copy (the pass is idempotent: a second run
does nothing). Target: ours <= 10 s; the ratio is reported.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

from crmkit import FrozenClock, Settings
from crmkit.testing import template

from .harness import Db, Options, Result, fresh_db, same, timed

TODAY = date(2026, 6, 15)
NOW = datetime.combine(TODAY, time(3, 0), timezone.utc)
RULES = [("welcome", "day:0"), ("trainer_intro", "day:2"), ("first_week", "day:7"), ("adaptation_review", "day:14"),
         ("event_invite", "day:45"), ("no_visit", "no_visit:10"), ("end_60", "before_end:60"),
         ("end_30", "before_end:30"), ("end_7", "before_end:7")]
PRODUCTS = ((1, "year", 365), (2, "half", 182), (3, "quarter", 91))
# kind: share, visits a week (decaying counts at equilibrium), days since the last visit (range)
KINDS = (("regular", 45, 3.0, (0, 4)), ("sporadic", 20, 1.0, (0, 9)), ("drop_off", 15, 0.5, (5, 30)),
         ("ghost", 10, 0.2, (10, 60)), ("new", 10, 2.0, (0, 3)))


def _crm(db: Db) -> Any:
    from crmkit import Crm

    data = {**template(), "database": db.url, "plugins": ["fitness"],
            "settings": {"fitness": {"touch_points": [{"key": k, "title": k.replace("_", " "), "when": w}
                                                      for k, w in RULES]}}}
    clock = FrozenClock()
    clock.set(NOW)
    return Crm(Settings.from_dict(data, base_dir=Path("/tmp"), environ={}), clock=clock)


def generate(db: Db, n: int, seed: int = 16) -> None:
    """The club as it stands this morning, written with raw executemany."""
    rnd = random.Random(seed)
    crm = _crm(db)  # makes the schema
    crm.close()
    conn = db.raw()
    stamp = NOW.strftime("%Y-%m-%d %H:%M:%S.%f")
    db.begin(conn)
    conn.execute("INSERT INTO crm_users (id, email, name, role, active, created_at, updated_at, version) "
                  "VALUES (1, 'manager@club.example', 'Manager', 'manager', 1, ?, ?, 1)", (stamp, stamp))
    conn.executemany(
        "INSERT INTO fitness_products (id, key, name, kind, price_minor, currency, duration_days, activities, "
        "freeze_days, freeze_times, trial, active, created_at) VALUES (?, ?, ?, 'membership', 39000, 'USD', ?, '[]', "
        "14, 1, 0, 1, ?)", [(pid, key, key.title(), days, stamp) for pid, key, days in PRODUCTS])
    contacts, members, ships, touches = [], [], [], []
    for cid in range(1, n + 1):
        kind, _, weekly, (lo, hi) = rnd.choices(KINDS, weights=[k[1] for k in KINDS])[0]
        pid, _, days = rnd.choice(PRODUCTS)
        age = rnd.randrange(0, 40) if kind == "new" else rnd.randrange(0, 365)
        starts = TODAY - timedelta(days=age)
        ends = starts + timedelta(days=days - 1)
        last = TODAY - timedelta(days=min(rnd.randint(lo, hi), age)) if age else None
        rate_on = last
        recent = weekly / 7 * 14 * rnd.uniform(0.6, 1.2) if last else 0.0
        norm = weekly / 7 * 90 * rnd.uniform(0.7, 1.1) * min(1.0, age / 90) if last else 0.0
        contacts.append((cid, f"M{cid}", kind, stamp, stamp))
        members.append((cid, 1, "active" if age >= 30 else "adaptation", (TODAY - timedelta(days=1)).isoformat(),
                        last.isoformat() if last else None, last.isoformat() if last else None,
                        rate_on.isoformat() if rate_on else None, recent, norm, stamp))
        ships.append((cid, cid, pid, starts.isoformat(), ends.isoformat(), stamp))
        since, left = age, (ends - TODAY).days
        for key, when in RULES:
            kind_, arg = when.split(":")
            absent = (TODAY - (last or starts)).days
            start = {"day": since - int(arg), "before_end": int(arg) - left, "no_visit": absent - int(arg)}.get(kind_)
            if kind_ == "no_visit" and start is not None and start >= 7:
                start = 1  # fired when the absence passed the mark
            if start is not None and 1 <= start < 7:  # its window opened before today: fired already
                touches.append((cid, key, cid, (TODAY - timedelta(days=start)).isoformat()))
    conn.executemany("INSERT INTO crm_contacts (id, first_name, last_name, phones, emails, custom, created_at, "
                     "updated_at, version) VALUES (?, ?, ?, '[]', '[]', '{}', ?, ?, 1)", contacts)
    conn.executemany("INSERT INTO fitness_members (contact_id, manager_id, cycle, phase, phase_since, first_visit_on, "
                     "last_visit_on, rate_on, recent, norm, visits, risk, joined_at) "
                     "VALUES (?, 1, 1, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?)",
                     [(m[0], m[2], m[3], m[4], m[5], m[6], m[7], m[8], m[9]) for m in members])
    conn.executemany("INSERT INTO fitness_memberships (id, contact_id, product_id, kind, cycle, starts_on, ends_on, "
                     "visits_used, sessions_used, freeze_days_used, freezes_used, created_at) "
                     "VALUES (?, ?, ?, 'membership', 1, ?, ?, 0, 0, 0, 0, ?)", ships)
    conn.executemany("INSERT INTO fitness_touches (contact_id, rule, cycle, membership_id, fired_on) "
                     "VALUES (?, ?, 1, ?, ?)", touches)
    # steady state: memberships that ended are closed, and those ending within 30 days (but not just
    # now entering that window) have their renewal deal already (one stands in for all)
    pipeline, stage = conn.execute("SELECT s.pipeline_id, s.id FROM crm_stages s JOIN crm_pipelines p "
                                   "ON p.id = s.pipeline_id WHERE p.key = 'renewals' AND s.key = 'due'").fetchone()
    conn.execute("INSERT INTO crm_deals (id, title, pipeline_id, stage_id, status, source, stage_entered_at, custom, "
                 "created_at, updated_at, version) VALUES (1, 'Renewals', ?, ?, 'open', 'bench', ?, '{}', ?, ?, 1)",
                 (pipeline, stage, stamp, stamp, stamp))
    conn.execute("UPDATE fitness_memberships SET outcome = 'lapsed' WHERE ends_on < ?", (TODAY.isoformat(),))
    conn.execute("UPDATE fitness_memberships SET renewal_deal_id = 1 WHERE ends_on >= ? AND ends_on < ?",
                 (TODAY.isoformat(), (TODAY + timedelta(days=30)).isoformat()))
    # yesterday's phases, as yesterday's pass left them
    old = conn.execute(PHASES_SQL, {"today": (TODAY - timedelta(days=1)).isoformat()}).fetchall()
    conn.executemany("UPDATE fitness_members SET phase = ? WHERE contact_id = ?", [(r[2], r[0]) for r in old])
    db.commit(conn)
    conn.close()


PHASES_SQL = """
WITH s AS (
  SELECT mb.contact_id AS cid, mb.phase AS old, m.cycle,
         julianday(:today) - julianday(m.starts_on) AS since, julianday(m.ends_on) - julianday(:today) AS left,
         julianday(:today) - julianday(coalesce(mb.last_visit_on, m.starts_on)) AS absent,
         CASE WHEN mb.rate_on IS NULL THEN 0.0
              ELSE mb.recent * exp(-max(julianday(:today) - julianday(mb.rate_on), 0) / 14.0) / 14 * 28 END AS rr,
         CASE WHEN mb.rate_on IS NULL THEN 0.0
              ELSE mb.norm * exp(-max(julianday(:today) - julianday(mb.rate_on), 0) / 90.0) / 90 * 28 END AS nr,
         julianday(:today) - julianday(mb.first_visit_on) AS known
  FROM fitness_members mb JOIN fitness_memberships m ON m.contact_id = mb.contact_id)
SELECT cid, old, CASE
  WHEN left < 0 THEN 'lapsed'
  WHEN left < 30 THEN 'expiring'
  WHEN absent >= 14 OR (known >= 28 AND nr >= 4 AND rr < nr * 50 / 100.0) THEN 'at_risk'
  WHEN cycle = 1 AND since < 30 THEN 'adaptation'
  ELSE 'active' END AS phase, since, left, absent
FROM s"""

TOUCHES_SQL = """
INSERT INTO fitness_touches (contact_id, rule, cycle, membership_id, fired_on)
SELECT m.contact_id, r.rule, m.cycle, m.id, :today
FROM fitness_memberships m JOIN fitness_members mb ON mb.contact_id = m.contact_id
JOIN (SELECT 'welcome' AS rule, 'day' AS kind, 0 AS n UNION ALL SELECT 'trainer_intro', 'day', 2
      UNION ALL SELECT 'first_week', 'day', 7 UNION ALL SELECT 'adaptation_review', 'day', 14
      UNION ALL SELECT 'event_invite', 'day', 45 UNION ALL SELECT 'no_visit', 'no_visit', 10
      UNION ALL SELECT 'end_60', 'before_end', 60 UNION ALL SELECT 'end_30', 'before_end', 30
      UNION ALL SELECT 'end_7', 'before_end', 7) r
WHERE m.starts_on <= :today AND m.ends_on >= :today AND (
  (r.kind = 'day' AND julianday(:today) - julianday(m.starts_on) >= r.n
                  AND julianday(:today) - julianday(m.starts_on) < r.n + 7)
  OR (r.kind = 'no_visit' AND julianday(:today) - julianday(coalesce(mb.last_visit_on, m.starts_on)) >= r.n)
  OR (r.kind = 'before_end' AND julianday(m.ends_on) - julianday(:today) <= r.n
                            AND julianday(m.ends_on) - julianday(:today) > r.n - 7))
AND NOT EXISTS (SELECT 1 FROM fitness_touches t WHERE t.contact_id = m.contact_id AND t.rule = r.rule
                AND t.cycle = m.cycle)"""

TASKS_SQL = """
INSERT INTO crm_tasks (title, description, assignee_id, due_at, status, entity_type, entity_id, rule, custom,
                       created_at, updated_at, version)
SELECT t.rule, '', mb.manager_id, :due, 'open', 'contact', t.contact_id, 'fitness.' || t.rule, '{}', :now, :now, 1
FROM fitness_touches t JOIN fitness_members mb ON mb.contact_id = t.contact_id WHERE t.fired_on = :today"""


def hand_written(db: Db) -> None:
    conn = db.raw()
    args = {"today": TODAY.isoformat()}
    db.begin(conn)
    rows = conn.execute(PHASES_SQL, args).fetchall()
    conn.executemany("UPDATE fitness_members SET phase = ?, phase_since = ? WHERE contact_id = ?",
                     [(phase, TODAY.isoformat(), cid) for cid, old, phase, *_ in rows if phase != old])
    conn.execute(TOUCHES_SQL, args)
    stamp = NOW.strftime("%Y-%m-%d %H:%M:%S.%f")
    due = (NOW + timedelta(hours=48)).strftime("%Y-%m-%d %H:%M:%S.%f")
    conn.execute(TASKS_SQL, {**args, "now": stamp, "due": due})
    db.commit(conn)
    conn.close()


def outcome(db: Db) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], int]:
    conn = db.raw()
    try:
        phases = conn.execute("SELECT contact_id, phase FROM fitness_members ORDER BY contact_id").fetchall()
        fired = conn.execute("SELECT contact_id, rule, cycle FROM fitness_touches WHERE fired_on = ? "
                             "ORDER BY contact_id, rule", (TODAY.isoformat(),)).fetchall()
        tasks = conn.execute("SELECT count(*) FROM crm_tasks WHERE rule LIKE 'fitness.%'").fetchone()[0]
        return phases, fired, int(tasks)
    finally:
        conn.close()


def run(opts: Options, workdir: Path) -> list[Result]:
    from crmkit_fitness.passes import daily_pass

    n = 5_000 if opts.quick else 100_000
    with fresh_db("sqlite", workdir) as ours_db, fresh_db("sqlite", workdir) as base_db:
        generate(ours_db, n)
        generate(base_db, n)
        crm = _crm(ours_db)
        try:
            ours_s, report = timed(lambda: daily_pass(crm, NOW))
        finally:
            crm.close()
        base_s, _ = timed(lambda: hand_written(base_db))
        ours_out, base_out = outcome(ours_db), outcome(base_db)
        same("phases per member", ours_out[0], base_out[0])
        same("touch points fired today", ours_out[1], base_out[1])
        same("touch-point tasks", ours_out[2], base_out[2])
    changed = report.phase_changes
    return [Result(
        name="16 fitness daily pass (phases + touch points)", backend="sqlite", ours=ours_s, baseline=base_s,
        unit="s", ratio=ours_s / base_s, target="<= 10 s (ratio reported)", passed=ours_s <= 10.0, n=n,
        note=f"{changed:,} phase changes, {report.touch_points:,} touch points (tasks, events) today; "
             f"{report.renewals_opened:,} renewal deals opened (ours only)")]
