"""Target 17 (issue 15): queueing a campaign over 10,000 contacts.

``crm.messages.campaigns.queue`` of a one-off e-mail campaign to every contact (each message its
template filled in with the contact's card, the signed unsubscribe link and RFC 8058 headers, the
opt-out check, one idempotency key per contact, bulk inserts of 1,000) against a raw DBAPI
``executemany`` of the very same outbox rows (read back from our run) in one transaction. Same
work: both leave 10,000 rows in ``crm_messages`` with the same keys. Target: ours <= 5 s on
SQLite; the ratio (ours/baseline time) is information.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from .harness import Db, Options, Result, fresh_db, make_crm, same, timed

COLUMNS = ("idempotency_key", "channel", "kind", "purpose", "contact_id", "user_id", "to_address", "subject", "body",
           "html", "headers", "group_key", "campaign_id", "status", "attempts", "next_attempt_at", "last_error",
           "created_at", "updated_at")
TOML = {"settings": {"messages": {"public_url": "https://crm.bench.example",
                                  "email": {"host": "127.0.0.1", "port": 2525, "security": "none",
                                            "from": "Bench <crm@bench.example>"}}}}


def _clear(db: Db) -> None:
    conn = db.raw()
    db.begin(conn)
    conn.execute("DELETE FROM crm_messages")
    db.commit(conn)
    conn.close()


def _rows(db: Db) -> list[tuple[Any, ...]]:
    conn = db.raw()
    try:
        return [tuple(r) for r in conn.execute(f"SELECT {', '.join(COLUMNS)} FROM crm_messages ORDER BY id")]
    finally:
        conn.close()


def _keys(db: Db) -> list[str]:
    conn = db.raw()
    try:
        return [r[0] for r in conn.execute("SELECT idempotency_key FROM crm_messages ORDER BY idempotency_key")]
    finally:
        conn.close()


def run(opts: Options, workdir: Path, backend: str) -> list[Result]:
    n = 1_000 if opts.quick else 10_000
    with fresh_db(backend, workdir) as db:
        crm = make_crm(db, toml=TOML)
        try:
            crm.contacts.bulk_create({"first_name": f"P{i}", "last_name": "Bench", "emails": [f"p{i}@bench.example"]}
                                     for i in range(n))
            crm.messages.templates.save("offer", "Dear {{ contact.first_name }} {{ contact.last_name }},\n"
                                        "our spring offer is waiting for you.", subject="Spring offer")
            campaign = crm.messages.campaigns.create("Spring", template="offer")
            o_ts: list[float] = []
            b_ts: list[float] = []
            rows: list[tuple[Any, ...]] = []
            for i in range(opts.warmup + min(opts.repeats, 3)):
                _clear(db)
                t, queued = timed(lambda: crm.messages.campaigns.queue(campaign.id))
                same("messages queued (ours)", queued, n)
                ours_keys = _keys(db)
                rows = _rows(db)
                _clear(db)

                def baseline() -> int:
                    conn = db.raw()
                    p = ", ".join([db.param] * len(COLUMNS))
                    db.begin(conn)
                    data = [tuple(json.dumps(v) if isinstance(v, dict) else v for v in r) for r in rows]
                    conn.executemany(f"INSERT INTO crm_messages ({', '.join(COLUMNS)}) VALUES ({p})", data)
                    db.commit(conn)
                    conn.close()
                    return len(data)

                bt, inserted = timed(baseline)
                same("messages inserted (baseline)", inserted, n)
                same("the same outbox rows", _keys(db), ours_keys)
                if i >= opts.warmup:
                    o_ts.append(t)
                    b_ts.append(bt)
        finally:
            crm.close()
    o_t, b_t = statistics.median(o_ts), statistics.median(b_ts)
    limit = 5.0 * n / 10_000
    return [Result(
        name=f"17 campaign queues {n} e-mails (template, consent, unsubscribe link)", backend=backend, ours=o_t,
        baseline=b_t, unit="s", ratio=o_t / b_t, target=f"<= {limit:g} s", passed=o_t <= limit, n=n,
        note="ratio = ours/baseline time (info); baseline: executemany of the same rows",
    )]
