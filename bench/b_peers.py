"""Target 11 (issue 20): single-command writes against Django's ORM and the raw DBAPI floor.

Four commands, one transaction each, on three fresh databases of the same schema (crmkit's,
the shipped template's pipelines and custom fields), one run, alternating batches:

- **ours**: the SDK as a manager (``crm.as_user(manager)``): ``deals.create``,
  ``deals.move(..., version=)``, ``tasks.complete(..., version=)``, ``notes.add("deal", ...)``
  -- validation, record rules, the stage-history row, the event-log row, hooks (the core's own
  ``crm_validate``/``crm_on_events``), after-commit delivery (inline, nobody subscribed);
- **django**: the same commands through Django's ORM with an audit row per change
  (:mod:`bench.peer_django`);
- **raw**: the floor -- exactly our rows per command on a bare ``sqlite3`` / psycopg
  connection (:mod:`bench.peer_raw`).

Before any ratio, the same-work check: rows per table, events per type, done tasks, deals
per stage, and the changed-field names of each kind of audit row must be equal on all three.
Targets: ours >= 2x Django and >= 25 % of raw (rates) on SQLite; PostgreSQL: the same
ratios, reported.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any, Callable

from .harness import Db, Options, Result, fresh_db, make_crm, same
from .peer_django import DjangoPeer
from .peer_raw import RawPeer

SIDES = ("ours", "django", "raw")
FROM, TO = "collecting_data", "measurement_done"  # two stages of the template's sales pipeline without rules
WORK = ("create", "move", "note", "complete")
TITLES = {"create": "deal create (+ history, event)", "move": "stage move, version check (+ history, event)",
          "note": "note add on a deal (+ event)", "complete": "task complete, version check (+ event)"}


class OursPeer:
    """The SDK, as a manager would call it."""

    def __init__(self, crm: Any, actor_id: int) -> None:
        self.crm = crm
        self.svc = crm.as_user(actor_id)

    def close(self) -> None:
        self.crm.close()

    def create_deal(self, title: str, pipeline_id: int, stage_id: int, keys: tuple[str, str]) -> tuple[int, int]:
        deal = self.svc.deals.create(title=title, amount="100.00", currency="USD")
        return deal.id, deal.version

    def move_deal(self, deal_id: int, version: int, stage_id: int, stages: dict[int, str], pipeline: str) -> int:
        return self.svc.deals.move(deal_id, stages[stage_id], version=version).version

    def complete_task(self, task_id: int, version: int) -> int:
        return self.svc.tasks.complete(task_id, version=version).version

    def add_note(self, deal_id: int, body: str) -> int:
        return self.svc.notes.add("deal", deal_id, body).id


class Side:
    """One side's database, its peer, and what it has made so far."""

    def __init__(self, name: str, db: Db) -> None:
        self.name, self.db = name, db
        crm = make_crm(db)
        self.manager = crm.users.create(email="manager@example.com", name="Manager", role="manager").id
        sales = crm.pipeline(crm.settings.sales_pipeline)
        self.pipeline, self.pipeline_id = sales.key, sales.id
        self.stages = {s.id: s.key for s in sales.stages}
        self.from_id = sales.stage(FROM).id
        self.to_id = sales.stage(TO).id
        if name == "ours":
            self.peer: Any = OursPeer(crm, self.manager)
        else:
            crm.close()
            self.peer = DjangoPeer(db, self.manager) if name == "django" else RawPeer(db, self.manager)
        self.deals: list[tuple[int, int]] = []  # (id, version) of this batch's deals
        self.tasks: list[int] = []

    def close(self) -> None:
        self.peer.close()

    def seed_tasks(self, n: int) -> None:
        """``n`` open tasks for the manager (not timed; the same rows on every side)."""
        conn = self.db.raw()
        try:
            p = self.db.param
            now = "2026-01-05 09:00:00.000000" if self.db.backend == "sqlite" else "2026-01-05 09:00:00+00"
            self.db.begin(conn)
            first = int(conn.execute("SELECT coalesce(max(id), 0) FROM crm_tasks").fetchone()[0]) + 1
            conn.cursor().executemany(
                f"INSERT INTO crm_tasks (title, description, assignee_id, status, created_by, custom, created_at,"
                f" updated_at, version) VALUES ({p}, '', {p}, 'open', {p}, '{{}}', {p}, {p}, 1)",
                [(f"Call {i}", self.manager, self.manager, now, now) for i in range(n)])
            self.db.commit(conn)
        finally:
            conn.close()
        self.tasks = list(range(first, first + n))

    # -- the four timed loops ------------------------------------------------------

    def create(self, n: int, batch: int) -> None:
        peer, keys = self.peer, (self.pipeline, FROM)
        self.deals = [peer.create_deal(f"Deal {batch}-{i}", self.pipeline_id, self.from_id, keys) for i in range(n)]

    def move(self, n: int, batch: int) -> None:
        peer, stages = self.peer, self.stages
        self.deals = [(d, peer.move_deal(d, v, self.to_id, stages, self.pipeline)) for d, v in self.deals]

    def note(self, n: int, batch: int) -> None:
        add = self.peer.add_note
        for d, _ in self.deals:
            add(d, f"Called the customer about deal {d}; they want a second quote.")

    def complete(self, n: int, batch: int) -> None:
        done = self.peer.complete_task
        for t in self.tasks:
            done(t, 1)

    # -- the same-work check -----------------------------------------------------------

    def state(self) -> dict[str, Any]:
        conn = self.db.raw()
        try:
            q = lambda sql: [tuple(r) for r in conn.execute(sql).fetchall()]  # noqa: E731
            events = q("SELECT type, count(*) FROM crm_events GROUP BY type ORDER BY type")
            shapes = {}
            for type_, in q("SELECT DISTINCT type FROM crm_events"):
                payload = conn.execute("SELECT payload FROM crm_events WHERE type = " + self.db.param
                                       + " ORDER BY id DESC LIMIT 1", (type_,)).fetchone()[0]
                payload = json.loads(payload) if isinstance(payload, str) else payload
                shapes[type_] = (sorted(payload["changes"]), sorted(payload["data"]))
            return {
                "rows": {t: q(f"SELECT count(*) FROM {t}")[0][0]
                         for t in ("crm_deals", "crm_stage_history", "crm_tasks", "crm_notes", "crm_events")},
                "events": events, "event shapes": shapes,
                "tasks by status": q("SELECT status, count(*) FROM crm_tasks GROUP BY status ORDER BY status"),
                "deals by stage": q("SELECT stage_id, status, version, count(*) FROM crm_deals"
                                    " GROUP BY stage_id, status, version ORDER BY stage_id, version"),
                "history moves": q("SELECT from_stage_id, to_stage_id, count(*) FROM crm_stage_history"
                                   " GROUP BY from_stage_id, to_stage_id ORDER BY 1, 2"),
            }
        finally:
            conn.close()


def run(opts: Options, workdir: Path, backend: str) -> list[Result]:
    n = (50 if backend == "sqlite" else 20) if opts.quick else (1_000 if backend == "sqlite" else 300)
    repeats = min(opts.repeats, 2) if opts.quick else opts.repeats
    times: dict[str, dict[str, list[float]]] = {w: {s: [] for s in SIDES} for w in WORK}
    with fresh_db(backend, workdir) as d1, fresh_db(backend, workdir) as d2, fresh_db(backend, workdir) as d3:
        sides = {"ours": Side("ours", d1), "django": Side("django", d2), "raw": Side("raw", d3)}
        try:
            baseline_state = {name: s.state() for name, s in sides.items()}
            for name in SIDES:
                same(f"seeded state ({name} vs ours)", baseline_state[name], baseline_state["ours"])
            for batch in range(opts.warmup + repeats):
                order = SIDES[batch % 3:] + SIDES[:batch % 3]  # each side first in turn
                for side in sides.values():
                    side.seed_tasks(n)
                for work in WORK:
                    for name in order:
                        fn: Callable[[int, int], None] = getattr(sides[name], work)
                        t = time.perf_counter()
                        fn(n, batch)
                        elapsed = time.perf_counter() - t
                        if batch >= opts.warmup:
                            times[work][name].append(elapsed)
            states = {name: s.state() for name, s in sides.items()}
            for name in ("django", "raw"):
                for key in states["ours"]:
                    same(f"{key} ({name} vs ours)", states[name][key], states["ours"][key])
            failures = sides["ours"].peer.crm.dispatcher.failures()
            same("after-commit failures (ours)", failures, [])
        finally:
            for side in sides.values():
                side.close()
    results = []
    for work in WORK:
        rate = {s: n / statistics.median(times[work][s]) for s in SIDES}
        vs_django = rate["ours"] / rate["django"]
        vs_raw = rate["ours"] / rate["raw"]
        note = (f"django {rate['django']:,.0f}/s, raw {rate['raw']:,.0f}/s; ours = SDK as a manager "
                f"(validation, record rules, hooks); same rows checked")
        results.append(Result(
            name=f"11 {TITLES[work]}: ours vs Django ORM", backend=backend, ours=rate["ours"],
            baseline=rate["django"], unit="cmd/s", ratio=vs_django, target=">= 2.0x Django",
            passed=vs_django >= 2.0, n=n, note=note))
        results.append(Result(
            name=f"11 {TITLES[work]}: ours vs raw floor", backend=backend, ours=rate["ours"], baseline=rate["raw"],
            unit="cmd/s", ratio=vs_raw, target=">= 0.25 of raw", passed=vs_raw >= 0.25, n=n,
            note=f"raw: bare {'sqlite3' if backend == 'sqlite' else 'psycopg'}, the same rows and reads"))
    return results
