"""Target 8: the event log and after-commit delivery.

a. Single-command writes (``deals.create``) with the event log on against
   ``Crm(event_log=False)``, each on a fresh database.
b. The dispatcher drains pending events to noop1..noop4's ``crm_event_committed``
   (4 deliveries per event) -- absolute target; the baseline is the same delivery
   hand-written (raw SELECT of the log, JSON decode, 4 calls per event, cursor UPDATE).
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from .harness import NOOPS, Db, Options, Result, fresh_db, make_crm, same, timed


def _writes(db: Db, n: int, event_log: bool) -> float:
    crm = make_crm(db, event_log=event_log)
    try:
        user = crm.users.create(email="bench@example.com", name="Bench")
        create = crm.deals.create
        t, _ = timed(lambda: [create(title=f"Deal {i}", amount="100.00", responsible_id=user.id) for i in range(n)])
        return t
    finally:
        crm.close()


def run(opts: Options, workdir: Path, backend: str) -> list[Result]:
    results = []
    n = 200 if opts.quick else 2_000
    on_ts, off_ts = [], []
    counts: dict[bool, tuple[int, int]] = {}
    repeats = min(opts.repeats, 3)
    for i in range(opts.warmup + repeats):
        for event_log in ((True, False) if i % 2 == 0 else (False, True)):
            with fresh_db(backend, workdir) as db:
                t = _writes(db, n, event_log)
                counts[event_log] = (db.count("crm_deals"), db.count("crm_stage_history"))
                events = db.count("crm_events")
            same(f"event-log rows (event_log={event_log})", events, n + 1 if event_log else 0)
            if i >= opts.warmup:
                (on_ts if event_log else off_ts).append(t)
    same("deals and stage-history rows", counts[True], counts[False])
    on_t, off_t = statistics.median(on_ts), statistics.median(off_ts)
    ratio = off_t / on_t
    results.append(Result(
        name="8a writes (deals.create), event log on vs off", backend=backend, ours=n / on_t, baseline=n / off_t,
        unit="writes/s", ratio=ratio, target=">= 0.80 of off", passed=ratio >= 0.80, n=n,
    ))

    pending = 1_000 if opts.quick else 10_000
    with fresh_db(backend, workdir) as db:
        crm = make_crm(db, plugins=NOOPS)
        try:
            crm.dispatcher.inline = False
            crm.contacts.bulk_create({"first_name": f"P{i}"} for i in range(pending))
            same("pending events", db.count("crm_events"), pending)
            subscribers = list(crm.dispatcher.subscribers)
            same("subscribers", len(subscribers), 4)

            def reset() -> None:
                conn = db.raw()
                db.begin(conn)
                conn.execute("UPDATE crm_event_cursors SET last_event_id = 0")
                db.commit(conn)
                conn.close()

            def ours() -> int:
                return crm.dispatcher.deliver_pending().delivered

            fns = [lambda event: None for _ in subscribers]

            def baseline() -> int:
                conn = db.raw()
                p = db.param
                delivered = 0
                try:
                    for name, fn in zip(subscribers, fns):
                        last = conn.execute(f"SELECT last_event_id FROM crm_event_cursors WHERE subscriber = {p}",
                                            (name,)).fetchone()[0]
                        rows = conn.execute(
                            f"SELECT id, type, entity_type, entity_id, actor_id, occurred_at, payload FROM crm_events"
                            f" WHERE id > {p} ORDER BY id", (last,)).fetchall()
                        for r in rows:
                            payload = json.loads(r[6]) if isinstance(r[6], str) else r[6]
                            fn({"id": r[0], "type": r[1], "entity_id": r[3], "payload": payload})
                            delivered += 1
                        db.begin(conn)
                        conn.execute(f"UPDATE crm_event_cursors SET last_event_id = {p} WHERE subscriber = {p}",
                                     (rows[-1][0], name))
                        db.commit(conn)
                finally:
                    conn.close()
                return delivered

            o_ts, b_ts = [], []
            for i in range(opts.warmup + opts.repeats):
                reset()
                t, delivered = timed(ours)
                same("deliveries (ours)", delivered, pending * 4)
                reset()
                bt, b_delivered = timed(baseline)
                same("deliveries (baseline)", b_delivered, pending * 4)
                if i >= opts.warmup:
                    o_ts.append(t)
                    b_ts.append(bt)
            same("failures", crm.dispatcher.failures(), [])
        finally:
            crm.close()
    o_t, b_t = statistics.median(o_ts), statistics.median(b_ts)
    limit = 10.0 * pending / 10_000
    results.append(Result(
        name=f"8b dispatcher drains {pending} events to 4 no-op hooks", backend=backend, ours=o_t, baseline=b_t,
        unit="s", ratio=o_t / b_t, target=f"<= {limit:g} s", passed=o_t <= limit, n=pending,
        note="ratio = ours/baseline time (info); 4 deliveries per event",
    ))
    return results
