"""The funnel data set: N deals with ~2.2 N stage-history rows, made with raw executemany.

The SQLite file is cached in bench/results/cache/ (git-ignored), keyed by size, seed
and a hash of the core schema, so reruns skip generation. PostgreSQL is loaded from
that file with COPY into a fresh schema.
"""

from __future__ import annotations

import hashlib
import os
import random
import sqlite3
import time
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy.schema import CreateIndex, CreateTable

from crmkit import schema
from crmkit.core.migrations.layout import core_branch

from .harness import CACHE, Db, fresh_db, make_crm

SEED = 7
MANAGERS = 50
START = 1704067200  # 2024-01-01 UTC
SPAN = 2 * 365 * 86400  # deals are created over two years
DEAL_COLS = ("id", "title", "pipeline_id", "stage_id", "status", "amount_minor", "currency", "responsible_id",
             "source", "lost_reason_text", "stage_entered_at", "closed_at", "custom", "created_at", "updated_at",
             "version")
HIST_COLS = ("id", "deal_id", "pipeline_id", "from_stage_id", "to_stage_id", "actor_id", "moved_at")


def _fmt(ts: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts)) + ".000000"


def _schema_hash() -> str:
    ddl = "".join(str(CreateTable(t)) for t in schema.metadata.sorted_tables)
    ddl += "".join(str(CreateIndex(i)) for t in schema.metadata.sorted_tables for i in t.indexes)
    ddl += core_branch().head  # a file made before migrations, or at an older revision, is made again
    return hashlib.sha1(ddl.encode()).hexdigest()[:10]


def _stages(conn: Any) -> dict[str, list[tuple[int, int, str, str]]]:
    """pipeline key -> [(stage id, pipeline id, stage key, kind)] in board order."""
    out: dict[str, list[tuple[int, int, str, str]]] = {}
    rows = conn.execute(
        "SELECT p.key, s.id, s.pipeline_id, s.key, s.kind FROM crm_stages s JOIN crm_pipelines p ON p.id = s.pipeline_id"
        " ORDER BY p.key, s.position"
    ).fetchall()
    for pkey, sid, pid, skey, kind in rows:
        out.setdefault(pkey, []).append((sid, pid, skey, kind))
    return out


def _generate(n: int, stages: dict[str, list[tuple[int, int, str, str]]]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    rng = random.Random(SEED)
    sales, deferred = stages["sales"], stages["deferred"]
    s_open = [s for s in sales if s[3] == "open"]
    s_won = next(s for s in sales if s[3] == "won")
    s_lost = next(s for s in sales if s[3] == "lost")
    d_open = next(s for s in deferred if s[3] == "open")
    d_won = next((s for s in deferred if s[3] == "won"), None)
    d_lost = next(s for s in deferred if s[3] == "lost")
    deals: list[tuple[Any, ...]] = []
    hist: list[tuple[Any, ...]] = []
    rand, expo, randrange = rng.random, rng.expovariate, rng.randrange
    hid = 0
    for deal_id in range(1, n + 1):
        created = START + randrange(SPAN)
        manager = 1 + randrange(MANAGERS)
        path: list[tuple[int, int, str, str]]
        if rand() < 0.92:
            path = [s_open[0]]
            k = 0
            while k < len(s_open) - 1 and rand() < 0.48:
                k = min(k + (2 if rand() < 0.05 else 1), len(s_open) - 1)
                path.append(s_open[k])
            if k == len(s_open) - 1 and rand() < 0.6:
                path.append(s_won)
            elif rand() < 0.3:
                path.append(s_lost)
        else:
            path = [d_open]
            r = rand()
            if r < 0.25 and d_won is not None:
                path.append(d_won)
            elif r < 0.5:
                path.append(d_lost)
        t = created
        prev = None
        for st in path:
            if prev is not None:
                t += 60 + int(expo(1 / 172800))
            hid += 1
            hist.append((hid, deal_id, st[1], prev[0] if prev else None, st[0], manager, _fmt(t)))
            prev = st
        last = path[-1]
        kind = last[3]
        closed = _fmt(t) if kind != "open" else None
        deals.append((
            deal_id, f"Deal {deal_id}", last[1], last[0], kind, 10_000 + randrange(990_000), "USD", manager,
            "web", "too expensive" if kind == "lost" else None, _fmt(t), closed, "{}", _fmt(created), _fmt(t), 1,
        ))
    return deals, hist


def sqlite_dataset(n: int, workdir: Path) -> Path:
    """The cached SQLite file with ``n`` deals (made if missing)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"funnel-{n}-s{SEED}-{_schema_hash()}.db"
    if path.exists():
        return path
    tmp = path.with_suffix(".tmp")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    with fresh_db("sqlite", workdir, path=tmp) as db:
        make_crm(db).close()
        conn = db.raw()
        stages = _stages(conn)
        deals, hist = _generate(n, stages)
        indexes = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            " AND tbl_name IN ('crm_deals', 'crm_stage_history')"
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f"DROP INDEX {name}")
        conn.execute("BEGIN IMMEDIATE")
        now = _fmt(START)
        conn.executemany(
            "INSERT INTO crm_users (id, email, name, role, active, created_at, updated_at, version)"
            " VALUES (?, ?, ?, 'manager', 1, ?, ?, 1)",
            [(i, f"manager{i}@example.com", f"Manager {i}", now, now) for i in range(1, MANAGERS + 1)],
        )
        conn.executemany(f"INSERT INTO crm_deals ({', '.join(DEAL_COLS)}) VALUES ({', '.join('?' * len(DEAL_COLS))})", deals)
        conn.executemany(f"INSERT INTO crm_stage_history ({', '.join(HIST_COLS)}) VALUES ({', '.join('?' * len(HIST_COLS))})", hist)
        conn.execute("COMMIT")
        for _, sql in indexes:
            conn.execute(sql)
        conn.execute("ANALYZE")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
    os.replace(tmp, path)
    return path


def load_postgres(db: Db, source: Path) -> None:
    """Copy the cached SQLite data set into the fresh PostgreSQL schema ``db``."""
    make_crm(db).close()
    src = sqlite3.connect(str(source))
    dst = db.raw()
    try:
        src_stages = {(p, s[2]): s[0] for p, ss in _stages(src).items() for s in ss}
        dst_stages = {(p, s[2]): s[0] for p, ss in _stages(dst).items() for s in ss}
        sid = {src_stages[k]: dst_stages[k] for k in src_stages}
        src_pids = {r[0]: r[1] for r in src.execute("SELECT id, key FROM crm_pipelines")}
        dst_pids = {r[1]: r[0] for r in dst.execute("SELECT id, key FROM crm_pipelines").fetchall()}
        pid = {i: dst_pids[k] for i, k in src_pids.items()}
        indexes = dst.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
            " AND tablename IN ('crm_deals', 'crm_stage_history') AND indexname LIKE 'ix_%%'"
        ).fetchall()
        for name, _ in indexes:
            dst.execute(f'DROP INDEX "{name}"')
        with dst.cursor() as cur:
            with cur.copy("COPY crm_users (id, email, name, role, active, created_at, updated_at, version) FROM STDIN") as cp:
                for r in src.execute("SELECT id, email, name, role, true, created_at, updated_at, version FROM crm_users"):
                    cp.write_row(r)
            with cur.copy(f"COPY crm_deals ({', '.join(DEAL_COLS)}) FROM STDIN") as cp:
                for r in _remap(src.execute(f"SELECT {', '.join(DEAL_COLS)} FROM crm_deals"), ((2, pid), (3, sid))):
                    cp.write_row(r)
            with cur.copy(f"COPY crm_stage_history ({', '.join(HIST_COLS)}) FROM STDIN") as cp:
                for r in _remap(src.execute(f"SELECT {', '.join(HIST_COLS)} FROM crm_stage_history"),
                                ((2, pid), (3, sid), (4, sid))):
                    cp.write_row(r)
        dst.commit()
        for _, sql in indexes:
            dst.execute(sql)
        dst.commit()
        dst.autocommit = True
        dst.execute("VACUUM ANALYZE crm_deals")
        dst.execute("VACUUM ANALYZE crm_stage_history")
    finally:
        src.close()
        dst.close()


def _remap(rows: Any, maps: tuple[tuple[int, dict[int, int]], ...]) -> Iterator[tuple[Any, ...]]:
    for r in rows:
        r = list(r)
        for i, m in maps:
            if r[i] is not None:
                r[i] = m[r[i]]
        yield r
