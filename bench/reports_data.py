"""The KPI data set: the funnel data set (N deals, ~2.15 N stage moves) plus what the other reports
read, made with SQL in the copied SQLite file (seconds, no Python loop over rows):

* N / 3 contacts, each deal's ``contact_id`` spread over them (repeat customers), its ``source``
  and ``utm_source`` (three channels, three UTM sources and none), 70 % of deals with a lead;
* a converted lead per such deal (created 0-71 h before it) and 0.3 N leads without a deal;
* one ``note.added`` event by the lead's manager on half of the leads, a ``lead.stage_changed`` on a
  third of them (handling time);
* a task on every fourth deal for its manager, due two days after the deal's creation: open, done
  early or done late.

Cached next to the funnel file (same key); PostgreSQL gets it by COPY.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

from .dataset import SEED, _schema_hash, load_postgres, sqlite_dataset
from .harness import CACHE, Db

_TS = "strftime('%Y-%m-%d %H:%M:%f', {})  || '000'"  # crmkit's SQLite format: microseconds


def _ts(expr: str) -> str:
    return _TS.format(expr)


def reports_dataset(n: int, workdir: Path) -> Path:
    """The cached SQLite file of the KPI data set with ``n`` deals (made if missing)."""
    path = CACHE / f"reports-{n}-s{SEED}-{_schema_hash()}.db"
    if path.exists():
        return path
    source = sqlite_dataset(n, workdir)
    tmp = path.with_suffix(".tmp")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(source, tmp)
    conn = sqlite3.connect(str(tmp), isolation_level=None)
    try:
        _extend(conn, n)
    finally:
        conn.close()
    os.replace(tmp, path)
    return path


def _extend(conn: sqlite3.Connection, n: int) -> None:
    contacts, extra = max(1, n // 3), (3 * n) // 10
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(
        "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?)"
        " INSERT INTO crm_contacts (id, first_name, last_name, phones, emails, custom, created_at, updated_at, version)"
        " SELECT i, 'Customer', i, '[]', '[]', '{}', '2024-01-01 00:00:00.000000', '2024-01-01 00:00:00.000000', 1"
        " FROM k", (contacts,))
    conn.execute(
        "UPDATE crm_deals SET contact_id = 1 + (id * 7919) % ?,"
        " lead_id = CASE WHEN id % 10 < 7 THEN id END,"
        " source = CASE id % 3 WHEN 0 THEN 'web_form' WHEN 1 THEN 'call' ELSE 'email' END,"
        " utm_source = CASE id % 4 WHEN 0 THEN 'google' WHEN 1 THEN 'facebook' WHEN 2 THEN 'yandex' END",
        (contacts,))
    lead_cols = ("id, title, name, company_name, source, utm_source, status, responsible_id, closed_at, custom,"
                 " created_at, updated_at, version")
    before = _ts("created_at, '-' || (id % 72) || ' hours'")
    conn.execute(
        f"INSERT INTO crm_leads ({lead_cols})"
        f" SELECT id, 'Request', '', '', source, utm_source, 'converted', responsible_id, created_at, '{{}}',"
        f" {before}, created_at, 1 FROM crm_deals WHERE lead_id IS NOT NULL")
    spread = _ts("'2024-01-01', '+' || ((i * 104729) % 63072000) || ' seconds'")
    conn.execute(
        f"WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?)"
        f" INSERT INTO crm_leads ({lead_cols})"
        f" SELECT ? + i, 'Request', '', '', CASE i % 3 WHEN 0 THEN 'web_form' WHEN 1 THEN 'call' ELSE 'email' END,"
        f" CASE i % 4 WHEN 0 THEN 'google' WHEN 1 THEN 'facebook' WHEN 2 THEN 'yandex' END,"
        f" CASE i % 2 WHEN 0 THEN 'rejected' ELSE 'new' END, 1 + (i * 31) % 50, NULL, '{{}}',"
        f" {spread}, '2024-01-01 00:00:00.000000', 1 FROM k", (extra, n))
    note_at = _ts("created_at, '+' || (id % 600) || ' minutes'")
    conn.execute(
        f"INSERT INTO crm_events (type, entity_type, entity_id, actor_id, occurred_at, payload)"
        f" SELECT 'note.added', 'lead', id, responsible_id, {note_at}, '{{}}' FROM crm_leads WHERE id % 2 = 0")
    moved_at = _ts("created_at, '+' || (id % 3000) || ' minutes'")
    conn.execute(
        f"INSERT INTO crm_events (type, entity_type, entity_id, actor_id, occurred_at, payload)"
        f" SELECT 'lead.stage_changed', 'lead', id, responsible_id, {moved_at}, '{{}}'"
        f" FROM crm_leads WHERE id % 3 = 0")
    due, early, late = (_ts(f"created_at, '+{d} days'") for d in (2, 1, 3))
    conn.execute(
        f"INSERT INTO crm_tasks (title, description, assignee_id, due_at, status, entity_type, entity_id,"
        f" completed_at, custom, created_at, updated_at, version)"
        f" SELECT 'Call back', '', responsible_id, {due}, CASE id % 3 WHEN 0 THEN 'open' ELSE 'done' END, 'deal', id,"
        f" CASE id % 3 WHEN 1 THEN {early} WHEN 2 THEN {late} END, '{{}}', created_at, created_at, 1"
        f" FROM crm_deals WHERE id % 4 = 0")
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


_EXTRA = {
    "crm_contacts": ("id", "first_name", "last_name", "phones", "emails", "custom", "created_at", "updated_at",
                     "version"),
    "crm_leads": ("id", "title", "name", "company_name", "source", "utm_source", "status", "responsible_id",
                  "closed_at", "custom", "created_at", "updated_at", "version"),
    "crm_events": ("id", "type", "entity_type", "entity_id", "actor_id", "occurred_at", "payload"),
    "crm_tasks": ("id", "title", "description", "assignee_id", "due_at", "status", "entity_type", "entity_id",
                  "completed_at", "custom", "created_at", "updated_at", "version"),
}


def load_postgres_reports(db: Db, source: Path) -> None:
    """The funnel tables as :func:`load_postgres` copies them, then the KPI additions by COPY."""
    load_postgres(db, source)
    src = sqlite3.connect(str(source))
    dst = db.raw()
    try:
        with dst.cursor() as cur:
            for table, cols in _EXTRA.items():
                with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as cp:
                    for r in src.execute(f"SELECT {', '.join(cols)} FROM {table}"):
                        cp.write_row(r)
            cur.execute("CREATE TEMP TABLE deal_extra (id int, contact_id int, lead_id int, source text,"
                        " utm_source text)")
            with cur.copy("COPY deal_extra FROM STDIN") as cp:
                for r in src.execute("SELECT id, contact_id, lead_id, source, utm_source FROM crm_deals"):
                    cp.write_row(r)
            cur.execute("UPDATE crm_deals d SET contact_id = x.contact_id, lead_id = x.lead_id, source = x.source,"
                        " utm_source = x.utm_source FROM deal_extra x WHERE x.id = d.id")
        dst.commit()
        dst.autocommit = True
        for table in ("crm_deals", "crm_contacts", "crm_leads", "crm_events", "crm_tasks"):
            dst.execute(f"VACUUM ANALYZE {table}")
    finally:
        src.close()
        dst.close()
