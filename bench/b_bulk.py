"""Targets 2 and 3: the SDK's bulk path (``contacts.bulk_create``).

3. ``bulk_create`` of N contacts (name, one phone, one e-mail: a realistic import
   row) against raw DBAPI ``executemany`` of the same rows (contacts, phone and
   e-mail look-up rows, already normalized) into the same schema, one transaction.
   An extra row without phones isolates the framework from phone parsing.
2. ``bulk_create`` with noop1..noop4 enabled against none. The in-transaction hooks
   must run once per batch (checked by counting hook calls); the after-commit
   delivery of a bulk command's events is left to the worker by the core (bulk paths
   defer it whatever ``dispatcher.inline`` says); both settings are shown.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any, Callable

from .harness import NOOPS, Db, Options, Result, fresh_db, make_crm, same, timed


def make_rows(n: int, *, phones: bool = True) -> list[dict[str, Any]]:
    rows = []
    for i in range(n):
        row: dict[str, Any] = {"first_name": f"First{i}", "last_name": f"Last{i % 997}",
                               "emails": [f"user{i}@example.com"]}
        if phones:
            row["phones"] = [f"+1 212 {200 + i // 10000:03d} {i % 10000:04d}"]
        rows.append(row)
    return rows


def e164(phone: str) -> str:
    return "+" + "".join(c for c in phone if c.isdigit())


def raw_insert(db: Db, rows: list[dict[str, Any]]) -> int:
    """The baseline: plain DBAPI executemany of the same rows, one transaction."""
    conn = db.raw()
    try:
        p = db.param
        now = "2026-01-05 09:00:00.000000" if db.backend == "sqlite" else "2026-01-05 09:00:00+00"
        cur = conn.cursor()
        db.begin(conn)
        # a fresh table: the new ids are contiguous; the look-up rows use them as any import would
        cur.executemany(
            f"INSERT INTO crm_contacts (first_name, last_name, phones, emails, custom, created_at, updated_at, version)"
            f" VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, 1)",
            [(r["first_name"], r["last_name"], json.dumps([e164(x) for x in r.get("phones", ())]),
              json.dumps(r["emails"]), "{}", now, now) for r in rows],
        )
        first = cur.execute("SELECT min(id) FROM crm_contacts").fetchone()[0]
        ids = range(first, first + len(rows))
        phone_rows = [(cid, e164(x)) for cid, r in zip(ids, rows) for x in r.get("phones", ())]
        if phone_rows:
            cur.executemany(f"INSERT INTO crm_contact_phones (contact_id, phone) VALUES ({p}, {p})", phone_rows)
        cur.executemany(f"INSERT INTO crm_contact_emails (contact_id, email) VALUES ({p}, {p})",
                        [(cid, e) for cid, r in zip(ids, rows) for e in r["emails"]])
        db.commit(conn)
        return len(rows)
    finally:
        conn.close()


def _counts(db: Db) -> tuple[int, int, int]:
    return db.count("crm_contacts"), db.count("crm_contact_phones"), db.count("crm_contact_emails")


def _fresh_runs(
    backend: str, workdir: Path, opts: Options, prepare: Callable[[Db], Any], work: Callable[[Any], Any],
    check: Callable[[Db], Any], close: Callable[[Any], None] = lambda _: None,
) -> tuple[float, Any]:
    """Time ``work`` on a fresh database per repeat (setup not timed); median seconds, checked state."""
    times = []
    state = None
    for i in range(opts.warmup + opts.repeats):
        with fresh_db(backend, workdir) as db:
            ctx = prepare(db)
            try:
                t, _ = timed(lambda: work(ctx))
            finally:
                close(ctx)
            state = check(db)
        if i >= opts.warmup:
            times.append(t)
    return statistics.median(times), state


def _schema_only(db: Db) -> Db:
    make_crm(db).close()  # the same schema, created by crmkit; nothing else
    return db


def _sdk(plugins: tuple[str, ...] = (), inline: bool = True, rows: list[dict[str, Any]] | None = None) -> Any:
    def prepare(db: Db) -> Any:
        crm = make_crm(db, plugins=plugins)
        crm.dispatcher.inline = inline
        return crm

    def work(crm: Any) -> Any:
        return crm.contacts.bulk_create(rows)

    return prepare, work, lambda crm: crm.close()


def run(opts: Options, workdir: Path, backend: str) -> list[Result]:
    results = []
    # warm up once on small batches (imports, statement caches), then time big runs only
    small = make_rows(500)
    prep, work, close = _sdk(NOOPS, rows=small)
    _fresh_runs(backend, workdir, Options(repeats=1, warmup=0), prep, work, _counts, close)
    _fresh_runs(backend, workdir, Options(repeats=1, warmup=0), _schema_only, lambda db: raw_insert(db, small), _counts)
    # 100,000-row runs take ~12 s (SQLite) and ~32 s (PostgreSQL) each: the full run stays under
    # 10 minutes with 3 repeats on SQLite and one on PostgreSQL (a 30-s run averages its own noise)
    opts = Options(quick=opts.quick, repeats=min(opts.repeats, 3 if backend == "sqlite" else 1), warmup=0)
    opts2 = Options(quick=opts.quick, repeats=min(opts.repeats, 3 if backend == "sqlite" else 2), warmup=0)
    n3 = 2_000 if opts.quick else 100_000
    rows = make_rows(n3)
    # -- target 3 --------------------------------------------------------------------------
    variants = [("names, phone, e-mail", rows)]
    if backend == "sqlite":  # the info variant once: it isolates the framework from phone parsing
        variants.append(("names, e-mail (no phone parsing)", make_rows(n3, phones=False)))
    for label, rws in variants:
        o3 = opts if label.startswith("names, phone") else Options(quick=opts.quick, repeats=1, warmup=0)
        prep, work, close = _sdk(rows=rws)
        ours_t, ours_state = _fresh_runs(backend, workdir, o3, prep, work, _counts, close)
        base_t, base_state = _fresh_runs(backend, workdir, o3, _schema_only, lambda db: raw_insert(db, rws), _counts)
        same("rows written (contacts, phones, e-mails)", ours_state, base_state)
        same("rows written", ours_state[0], n3)
        ratio = base_t / ours_t
        main = label.startswith("names, phone")
        results.append(Result(
            name=f"3 bulk_create vs raw executemany ({label})", backend=backend,
            ours=n3 / ours_t, baseline=n3 / base_t, unit="rows/s", ratio=ratio,
            target=">= 0.45 of raw" if main else "info (>= 0.45)", passed=ratio >= 0.45 if main else None, n=n3,
            note="ours also writes one event-log row per contact",
        ))
    # -- target 2 --------------------------------------------------------------------------
    n2 = 2_000 if opts.quick else 20_000
    rows2 = make_rows(n2, phones=False)
    calls = _hook_calls(backend, workdir, rows2)
    batches = -(-n2 // 5000)
    same("crm_validate calls (one per batch)", calls["crm_validate"], batches)
    same("crm_on_events calls (one per batch)", calls["crm_on_events"], batches)
    prep0, work0, close0 = _sdk(rows=rows2)
    none_t, none_state = _fresh_runs(backend, workdir, opts2, prep0, work0, _counts, close0)
    for inline in (True, False):
        prep4, work4, close4 = _sdk(NOOPS, inline, rows2)
        four_t, four_state = _fresh_runs(backend, workdir, opts2, prep4, work4, _counts, close4)
        same("rows written", four_state, none_state)
        ratio = none_t / four_t
        results.append(Result(
            name="2 bulk_create, 4 no-op plugins vs none" + ("" if inline else " (after-commit delivery deferred)"),
            backend=backend, ours=n2 / four_t, baseline=n2 / none_t, unit="rows/s", ratio=ratio,
            target=">= 0.90 of none" if inline else "info (>= 0.90)", passed=ratio >= 0.90 if inline else None, n=n2,
            note=f"in-tx hooks {calls['crm_validate']}x per {n2} rows; "
                 + ("after-commit: deferred to the worker by the bulk path" if inline else "dispatcher.inline=False"),
        ))
    return results


def _hook_calls(backend: str, workdir: Path, rows: list[dict[str, Any]]) -> dict[str, int]:
    calls: dict[str, int] = {}
    with fresh_db(backend, workdir) as db:
        crm = make_crm(db, plugins=NOOPS)
        try:
            def before(name: str, impls: Any, kwargs: Any) -> None:
                calls[name] = calls.get(name, 0) + 1

            undo = crm.pm.add_hookcall_monitoring(before, lambda *a: None)
            crm.contacts.bulk_create(rows)
            undo()
        finally:
            crm.close()
    return calls
