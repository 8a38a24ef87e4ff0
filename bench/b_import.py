"""Target 15 (issue 19): importing a contacts CSV.

15a. ``Importer.start`` of a 100,000-row contacts CSV (first name, last name, a phone as people
     type it, an e-mail) as an admin, create-only, against the smallest hand-written importer of the
     same file on raw DBAPI: ``csv.reader``, the phone's digits after a ``+``, the e-mail
     lower-cased, ``executemany`` into the same three tables (contacts, phone and e-mail look-ups)
     in one transaction. Same work: the three tables hold the same row counts, and the same
     phones. Ours also validates every row (phonenumbers, the e-mail), looks up duplicates in
     the database and the file, writes one event per card, the record of each row (resume,
     undo) and a checkpoint per batch of 1,000.
15b. Peak memory (RSS of a fresh process) of importing 1,000,000 rows against 100,000: rows are
     streamed, so at most 1.5x.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from .harness import Db, Options, Result, fresh_db, make_crm, same, timed

HEADER = "first_name,last_name,phone,email\n"


def write_csv(path: Path, n: int) -> Path:
    """``n`` contacts; the phones formatted as people type them (``+1 212 200 0007``)."""
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER)
        for i in range(n):
            out.write(f"First{i},Last{i % 997},+1 212 {200 + i // 10000:03d} {i % 10000:04d},User{i}@Example.com\n")
    return path


def raw_import(db: Db, path: Path) -> int:
    """The baseline: read the CSV, normalize naively, ``executemany`` the three tables, one transaction."""
    conn = db.raw()
    try:
        p = db.param
        now = "2026-01-05 09:00:00.000000" if db.backend == "sqlite" else "2026-01-05 09:00:00+00"
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            next(reader)
            rows = [(first, last, "+" + "".join(c for c in phone if c.isdigit()), email.strip().lower())
                    for first, last, phone, email in reader]
        cur = conn.cursor()
        db.begin(conn)
        cur.executemany(
            f"INSERT INTO crm_contacts (first_name, last_name, phones, emails, custom, created_at, updated_at, version)"
            f" VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, 1)",
            [(f, la, json.dumps([ph]), json.dumps([em]), "{}", now, now) for f, la, ph, em in rows])
        first = cur.execute("SELECT min(id) FROM crm_contacts").fetchone()[0]
        ids = range(first, first + len(rows))
        cur.executemany(f"INSERT INTO crm_contact_phones (contact_id, phone) VALUES ({p}, {p})",
                        [(cid, r[2]) for cid, r in zip(ids, rows)])
        cur.executemany(f"INSERT INTO crm_contact_emails (contact_id, email) VALUES ({p}, {p})",
                        [(cid, r[3]) for cid, r in zip(ids, rows)])
        db.commit(conn)
        return len(rows)
    finally:
        conn.close()


def ours_import(db: Db, path: Path) -> Any:
    from crmkit.transfer import Importer

    crm = make_crm(db)
    try:
        admin = crm.users.create(email="bench@example.com", name="Bench", role="admin")
        importer = Importer(crm.as_user(admin.id))
        t, run = timed(lambda: importer.start(path, "contact"))
        return t, run
    finally:
        crm.close()


def _state(db: Db) -> tuple[int, int, int, str]:
    conn = db.raw()
    try:
        phones = conn.execute("SELECT min(phone) || max(phone) FROM crm_contact_phones").fetchone()[0]
        return (db.count("crm_contacts"), db.count("crm_contact_phones"), db.count("crm_contact_emails"), phones)
    finally:
        conn.close()


def _schema_only(db: Db) -> None:
    make_crm(db).close()


def _peak_rss(path: Path, workdir: Path) -> int:
    """Peak RSS (KiB) of a fresh process importing ``path`` into a fresh SQLite file."""
    code = (
        "import resource, sys; from pathlib import Path; sys.path.insert(0, sys.argv[3])\n"
        "from bench.harness import Db, make_crm\nfrom crmkit.transfer import Importer\n"
        "crm = make_crm(Db('sqlite', 'sqlite:///' + sys.argv[2], path=Path(sys.argv[2])))\n"
        "u = crm.users.create(email='bench@example.com', name='Bench', role='admin')\n"
        "run = Importer(crm.as_user(u.id)).start(sys.argv[1], 'contact')\n"
        "assert run.created == run.total, run.summary()\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    db = workdir / f"rss-{path.stem}.db"
    try:
        out = subprocess.run([sys.executable, "-c", code, str(path), str(db), str(Path(__file__).resolve().parents[1])],
                             check=True, capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
        return int(out.stdout.strip().splitlines()[-1])
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)


def run(opts: Options, workdir: Path, backend: str) -> list[Result]:
    n = 5_000 if opts.quick else 100_000
    path = write_csv(workdir / f"contacts-{n}.csv", n)
    repeats = 1 if opts.quick else min(opts.repeats, 3 if backend == "sqlite" else 1)
    ours_t: list[float] = []
    base_t: list[float] = []
    ours_state = base_state = None
    for _ in range(repeats):
        with fresh_db(backend, workdir) as db:
            t, done = ours_import(db, path)
            same("every row created", (done.total, done.created), (n, n))
            ours_t.append(t)
            ours_state = _state(db)
        with fresh_db(backend, workdir) as db:
            _schema_only(db)
            t, _ = timed(lambda: raw_import(db, path))
            base_t.append(t)
            base_state = _state(db)
    same("rows written (contacts, phones, e-mails, phone range)", ours_state, base_state)
    ours_s, base_s = sorted(ours_t)[len(ours_t) // 2], sorted(base_t)[len(base_t) // 2]
    ratio = base_s / ours_s
    results = [Result(
        name="15 import of a contacts CSV vs raw executemany", backend=backend, ours=n / ours_s, baseline=n / base_s,
        unit="rows/s", ratio=ratio, target=">= 0.25 of raw", passed=ratio >= 0.25, n=n,
        note="ours validates each row, finds duplicates, writes an event and an import record per card")]
    if backend == "sqlite":
        small, big = (2_000, 20_000) if opts.quick else (100_000, 1_000_000)
        small_path = path if small == n else write_csv(workdir / f"contacts-{small}.csv", small)
        big_path = write_csv(workdir / f"contacts-{big}.csv", big)
        try:
            rss_small, rss_big = _peak_rss(small_path, workdir), _peak_rss(big_path, workdir)
        finally:
            big_path.unlink(missing_ok=True)
        growth = rss_big / rss_small
        results.append(Result(
            name=f"15 import peak memory, {big:,} vs {small:,} rows", backend=backend, ours=rss_big / 1024,
            baseline=rss_small / 1024, unit="MiB peak RSS", ratio=growth, target="<= 1.5x", passed=growth <= 1.5,
            n=big, note="fresh processes; rows streamed, batches of 1,000"))
    path.unlink(missing_ok=True)
    return results
