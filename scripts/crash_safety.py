"""Crash safety under write load, against a real ``crmkit serve`` on this machine (127.0.0.1 only).

    .venv/bin/python scripts/crash_safety.py sqlite --kills 50          # SIGKILL the server 50 times
    .venv/bin/python scripts/crash_safety.py postgres --kills 20 \\
        --database postgresql://postgres@127.0.0.1:5432/test            # kill its database connections

``sqlite``: a server on a SQLite file takes writes from a few clients (a lead, its conversion into
contact + deal, a deal: each with an ``Idempotency-Key``) and is SIGKILLed at a random moment, then
started again, ``--kills`` times. ``postgres``: the server keeps running while its database
connections are killed (``pg_terminate_backend``) ``--kills`` times under the same load.

Then it checks, and exits 1 if any fails:

* ``PRAGMA integrity_check`` is ``ok`` (SQLite);
* every acknowledged write (a 2xx) is in the database, as answered;
* no command is half-written: a converted lead has its contact and deal, every deal its
  ``deal.created`` event and first stage-history row, every key's stored response names a card
  that exists, and each card made with a key has its key's stored response (they commit together);
* a retry of every unacknowledged request (same key) makes at most one card per key;
* (postgres) requests failed fast -- 503 with ``Retry-After``, never a 500 -- and the server
  answers again by itself after the last kill.

The figures are printed and, with ``--out``, written as JSON. Bounded: every loop has a count and
every wait a deadline.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
APP_NAME = "crmkit_crash_safety"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Deployment:
    """A crmkit.toml in a temporary folder, its admin and the admin's token."""

    def __init__(self, folder: Path, database: str) -> None:
        from importlib import resources

        from crmkit import Crm, Settings
        from crmkit.core import auth

        self.folder = folder
        self.database = database
        self.config = folder / "crmkit.toml"
        text = resources.files("crmkit").joinpath("templates/crmkit.toml").read_text()  # the window company
        self.config.write_text(re.sub(r"(?m)^database = .*$", lambda _: f"database = {json.dumps(database)}", text, 1))
        with Crm(Settings.load(self.config)) as crm:
            admin = crm.users.create(email="admin@crash.example", name="Ada Admin", role="admin")
            _, self.token = auth.create_token(crm, admin.id, "crash-safety")

    def serve(self, port: int) -> subprocess.Popen[bytes]:
        crmkit = Path(sys.executable).parent / "crmkit"
        command = [str(crmkit) if crmkit.exists() else sys.executable, *([] if crmkit.exists() else
                   ["-m", "crmkit.cli"]), "--config", str(self.config), "serve", "--port", str(port)]
        log = open(self.folder / "server.log", "ab")
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=self.folder)


def wait_healthy(base: str, deadline: float) -> bool:
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    return False


class Load:
    """Writers sending commands with keys, recording what was acknowledged and what is unknown."""

    def __init__(self, base: str, token: str, writers: int) -> None:
        self.base = base
        self.headers = {"Authorization": f"Bearer {token}"}
        self.writers = writers
        self.acked: dict[str, dict[str, Any]] = {}  # key -> the 2xx body
        self.unknown: dict[str, tuple[str, dict[str, Any]]] = {}  # key -> (path, body) sent, no answer
        self.statuses: Counter[int] = Counter()
        self.errors = 0
        self.slow_failures = 0
        self.retry_after_missing = 0
        self._stop = threading.Event()
        self.stop_on_error = True  # SQLite: a refused connection means the server was killed
        self.errors_at_start = 0
        self._lock = threading.Lock()

    def send(self, client: httpx.Client, path: str, body: dict[str, Any], key: str) -> dict[str, Any] | None:
        started = time.monotonic()
        try:
            r = client.post(f"{self.base}{path}", json=body, headers={**self.headers, "Idempotency-Key": key})
        except httpx.HTTPError:
            with self._lock:
                self.errors += 1
                self.unknown[key] = (path, body)
            return None
        with self._lock:
            self.statuses[r.status_code] += 1
            if r.status_code >= 500:
                self.unknown[key] = (path, body)
                if time.monotonic() - started > 5:
                    self.slow_failures += 1
                if r.status_code == 503 and "retry-after" not in r.headers:
                    self.retry_after_missing += 1
                return None
            if 200 <= r.status_code < 300:
                self.acked[key] = r.json()
                return r.json()  # type: ignore[no-any-return]
        return None

    def writer(self, n: int) -> None:
        with httpx.Client(timeout=10) as client:
            i = 0
            while not self._stop.is_set() and i < 100_000 and not (self.stop_on_error
                                                                   and self.errors > self.errors_at_start):
                i += 1
                tag = f"w{n}-{uuid.uuid4().hex[:10]}"
                lead = self.send(client, "/leads", {"title": f"lead {tag}", "name": f"Customer {tag}"}, f"L-{tag}")
                if lead is not None:
                    self.send(client, f"/leads/{lead['id']}/convert", {"deal": {"title": f"conv {tag}"}},
                              f"C-{tag}")
                self.send(client, "/deals", {"title": f"deal {tag}", "amount": "100.00"}, f"D-{tag}")

    def start(self) -> list[threading.Thread]:
        self._stop.clear()
        self.errors_at_start = self.errors
        threads = [threading.Thread(target=self.writer, args=(n,), daemon=True) for n in range(self.writers)]
        for t in threads:
            t.start()
        return threads

    def stop(self, threads: list[threading.Thread]) -> None:
        self._stop.set()
        for t in threads:
            t.join(timeout=30)


def retry_unknown(load: Load) -> Counter[int]:
    """Send every unacknowledged request again, with its key: replayed, made now, or 409 (a claim
    whose process died: the takeover comes 5 minutes later, and nothing was written)."""
    out: Counter[int] = Counter()
    with httpx.Client(timeout=30) as client:
        for key, (path, body) in sorted(load.unknown.items()):
            r = client.post(f"{load.base}{path}", json=body, headers={**load.headers, "Idempotency-Key": key})
            out[r.status_code] += 1
            if 200 <= r.status_code < 300:
                load.acked[key] = r.json()
    return out


def check(database: str, load: Load) -> dict[str, Any]:
    """Every invariant in the module docstring; returns the figures and the problems found."""
    from sqlalchemy import create_engine, text

    problems: list[str] = []
    url = "postgresql+psycopg://" + database.split("://", 1)[1] if database.startswith("postgresql://") else database
    engine = create_engine(url)
    figures: dict[str, Any] = {}
    with engine.connect() as conn:
        if database.startswith("sqlite"):
            integrity = conn.exec_driver_sql("PRAGMA integrity_check").scalar()
            figures["integrity_check"] = integrity
            if integrity != "ok":
                problems.append(f"PRAGMA integrity_check: {integrity}")
        deals = {r.title: r for r in conn.execute(text("SELECT id, title, lead_id FROM crm_deals"))}
        leads = {r.title: r for r in conn.execute(text("SELECT id, title, status FROM crm_leads"))}
        checked = 0
        for key, body in load.acked.items():
            checked += 1
            kind = key[0]
            if kind == "D" and body.get("title") not in deals:
                problems.append(f"acknowledged deal {body.get('id')} ({key}) is missing")
            elif kind == "L" and body.get("title") not in leads:
                problems.append(f"acknowledged lead {body.get('id')} ({key}) is missing")
            elif kind == "C":
                lead = leads.get(body["lead"]["title"])
                if lead is None or lead.status != "converted" or body["deal"]["title"] not in deals:
                    problems.append(f"acknowledged conversion {key} is not in the database")
        figures["acknowledged_writes_checked"] = checked
        # no half-written command
        for lead in leads.values():
            if lead.status == "converted":
                made = [d for d in deals.values() if d.lead_id == lead.id]
                if not made:
                    problems.append(f"lead {lead.id} is converted without its deal")
        created = {r[0] for r in conn.execute(text("SELECT entity_id FROM crm_events WHERE type = 'deal.created'"))}
        history = {r[0] for r in conn.execute(text("SELECT DISTINCT deal_id FROM crm_stage_history"))}
        for d in deals.values():
            if d.id not in created:
                problems.append(f"deal {d.id} has no deal.created event")
            if d.id not in history:
                problems.append(f"deal {d.id} has no stage history")
        keys = conn.execute(text("SELECT key, status, response FROM crm_idempotency_keys")).all()
        stored = {k.key: json.loads(k.response) for k in keys if k.status is not None}
        figures["keys_stored"] = len(stored)
        figures["claims_left_in_flight"] = sum(k.status is None for k in keys)
        for key, body in stored.items():
            title = (body.get("deal") or {}).get("title") if key.startswith("C-") else body.get("title")
            if title not in (deals if key[0] in "DC" else leads):
                problems.append(f"key {key} stores a response whose card does not exist")
        for title in deals:
            if title.startswith("deal w") and f"D-{title[5:]}" not in stored:
                problems.append(f"deal '{title}' was made with a key whose response is not stored")
        per_key = Counter(t[5:] for t in deals if t.startswith("deal w"))
        doubles = [k for k, n in per_key.items() if n > 1]
        if doubles:
            problems.append(f"{len(doubles)} keys made more than one deal, e.g. {doubles[:3]}")
        figures["deals"] = len(deals)
        figures["leads"] = len(leads)
    engine.dispose()
    figures["problems"] = problems
    return figures


def run_sqlite(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    db = folder / "crm.db"
    deployment = Deployment(folder, f"sqlite:///{db}")
    port = free_port()
    base = f"http://127.0.0.1:{port}/api/v1"
    load = Load(base, deployment.token, args.writers)
    rng = random.Random(args.seed)
    kills = 0
    for _ in range(args.kills):
        server = deployment.serve(port)
        try:
            if not wait_healthy(base, time.monotonic() + 60):
                raise SystemExit("the server did not start within 60 s (see server.log)")
            threads = load.start()
            time.sleep(rng.uniform(0.2, args.max_run))
            server.send_signal(signal.SIGKILL)  # mid-write, wherever it is
            kills += 1
            server.wait(timeout=30)
            load.stop(threads)
        finally:
            if server.poll() is None:
                server.kill()
                server.wait(timeout=30)
    server = deployment.serve(port)
    try:
        if not wait_healthy(base, time.monotonic() + 60):
            raise SystemExit("the server did not start after the last kill")
        retried = retry_unknown(load)
    finally:
        server.terminate()
        server.wait(timeout=30)
    figures = check(deployment.database, load)
    with sqlite3.connect(db) as conn:
        figures["journal_mode"] = conn.execute("PRAGMA journal_mode").fetchone()[0]
    figures.update(kills=kills, responses=dict(load.statuses), connection_errors=load.errors,
                   retried_unknown=dict(retried), acknowledged=len(load.acked))
    return figures


def run_postgres(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    from sqlalchemy import create_engine, text

    admin_url = "postgresql+psycopg://" + args.url.split("://", 1)[1]
    schema = f"crash_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in args.url else "?"
    database = f"{args.url}{sep}options=-csearch_path%3D{schema}&application_name={APP_NAME}"
    try:
        deployment = Deployment(folder, database)
        port = free_port()
        base = f"http://127.0.0.1:{port}/api/v1"
        load = Load(base, deployment.token, args.writers)
        load.stop_on_error = False  # the server stays up; its requests may fail while the pool reconnects
        rng = random.Random(args.seed)
        server = deployment.serve(port)
        terminated = 0
        try:
            if not wait_healthy(base, time.monotonic() + 60):
                raise SystemExit("the server did not start within 60 s (see server.log)")
            threads = load.start()
            for _ in range(args.kills):
                time.sleep(rng.uniform(0.1, args.max_run))
                with admin.connect() as conn:
                    terminated += len(conn.execute(text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name = :name AND pid <> pg_backend_pid()"), {"name": APP_NAME}).all())
            time.sleep(1.0)
            load.stop(threads)
            recovered = wait_healthy(base, time.monotonic() + 10)
            with httpx.Client(timeout=10) as client:  # the pool answers again by itself: a write works
                after = client.post(f"{base}/deals", json={"title": "after the kills"}, headers=load.headers)
            retried = retry_unknown(load)
        finally:
            server.terminate()
            server.wait(timeout=30)
        figures = check(database, load)
        if not recovered or after.status_code != 201:
            figures["problems"].append(f"the server did not recover: health {recovered}, a write {after.status_code}")
        if load.statuses.get(500):
            figures["problems"].append(f"{load.statuses[500]} answers were 500 (a dropped connection is a 503)")
        if load.retry_after_missing:
            figures["problems"].append(f"{load.retry_after_missing} 503 answers without Retry-After")
        if load.slow_failures:
            figures["problems"].append(f"{load.slow_failures} failures took more than 5 s")
        figures.update(kills=args.kills, backends_terminated=terminated, responses=dict(load.statuses),
                       connection_errors=load.errors, retried_unknown=dict(retried), acknowledged=len(load.acked))
        return figures
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["sqlite", "postgres"])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--writers", type=int, default=4, help="concurrent clients")
    parser.add_argument("--max-run", type=float, default=2.0, help="seconds of load before a kill, at most")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--database", dest="url", help="the PostgreSQL server (a schema of its own is made)",
                        default=os.environ.get("CRMKIT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--out", type=Path, help="write the figures here (JSON)")
    args = parser.parse_args(argv)
    kind = args.kind
    with tempfile.TemporaryDirectory(prefix="crmkit-crash-") as tmp:
        started = time.monotonic()
        figures = (run_sqlite if kind == "sqlite" else run_postgres)(args, Path(tmp))
        figures["seconds"] = round(time.monotonic() - started, 1)
        server_log = Path(tmp) / "server.log"
        if figures["problems"] and server_log.exists():  # the server's own account, for the diagnosis
            sys.stderr.write("".join(server_log.read_text(errors="replace").splitlines(True)[-600:]))
    print(json.dumps(figures, indent=2, sort_keys=True))
    if args.out:
        old = json.loads(args.out.read_text()) if args.out.exists() else {}
        args.out.write_text(json.dumps({**old, f"crash_{kind}": figures}, indent=2, sort_keys=True))
    return 1 if figures["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
