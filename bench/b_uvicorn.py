"""Target 6: concurrent writes on SQLite through uvicorn on loopback.

``crmkit serve`` (the CLI, one uvicorn process, its default access log) runs on a free
127.0.0.1 port against a fresh SQLite deployment. A raw HTTP/1.1 keep-alive client
(asyncio streams, no client library: the client shares the 2 cores with the server)
sends ``POST /api/v1/deals`` with a manager's bearer token:

* ours: 32 connections at once, a fixed number of requests, a time cap;
* baseline: the same endpoint, the same server, writes serialized -- one connection,
  one request at a time.

Phases alternate (serialized, concurrent, ...) after a warm-up. Checked: every response
is 201, ``crm_deals`` gained exactly the 201s, and neither the responses nor the server
log mention a 5xx or "database is locked". The server is always terminated.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path
from typing import Any

import attrs

from .harness import Options, Result, same

HOST = "127.0.0.1"
CONNS = 32
BODY = json.dumps({"title": "Deal", "amount": "1500.00", "currency": "USD",
                   "custom": {"window_count": 3}}).encode()


@attrs.define
class Phase:
    conns: int
    seconds: float = 0.0
    latencies: list[float] = attrs.Factory(list)
    statuses: dict[int, int] = attrs.Factory(dict)
    errors: list[str] = attrs.Factory(list)
    locked: int = 0

    @property
    def ok(self) -> int:
        return self.statuses.get(201, 0)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def deployment(workdir: Path) -> Path:
    """A fresh SQLite deployment: the shipped template with its own database file."""
    home = workdir / f"serve-{os.getpid()}-{time.monotonic_ns()}"
    home.mkdir()
    text = resources.files("crmkit").joinpath("templates/crmkit.toml").read_text()
    line = next(ln for ln in text.splitlines() if ln.startswith("database ="))
    config = home / "crmkit.toml"
    config.write_text(text.replace(line, f'database = "sqlite:///{home / "crm.db"}"'))
    return config


def _request(secret: str) -> bytes:
    head = (f"POST /api/v1/deals HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Bearer {secret}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(BODY)}\r\n\r\n")
    return head.encode() + BODY


async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("the server closed the connection")
    status = int(status_line.split(b" ", 2)[1])
    length, close = 0, False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"connection" and value.strip().lower() == b"close":
            close = True
    body = await reader.readexactly(length) if length else b""
    return status, body, close


async def _drive(port: int, payload: bytes, total: int, conns: int, cap: float, timeout: float) -> Phase:
    phase = Phase(conns)
    left = [total]
    deadline = time.perf_counter() + cap

    async def connection() -> None:
        reader = writer = None
        try:
            while left[0] > 0 and time.perf_counter() < deadline:
                left[0] -= 1
                if writer is None:
                    reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), timeout)
                assert reader is not None
                t = time.perf_counter()
                writer.write(payload)
                try:
                    status, body, close = await asyncio.wait_for(_response(reader), timeout)
                except (OSError, asyncio.TimeoutError, ConnectionError, ValueError) as exc:
                    phase.errors.append(repr(exc)[:200])
                    writer.close()
                    reader = writer = None
                    continue
                phase.latencies.append(time.perf_counter() - t)
                phase.statuses[status] = phase.statuses.get(status, 0) + 1
                if b"database is locked" in body:
                    phase.locked += 1
                if close:
                    writer.close()
                    reader = writer = None
        finally:
            if writer is not None:
                writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(conns)))
    phase.seconds = time.perf_counter() - t0
    return phase


def drive(port: int, payload: bytes, total: int, conns: int, cap: float = 60.0, timeout: float = 10.0) -> Phase:
    return asyncio.run(_drive(port, payload, total, conns, cap, timeout))


def _wait_ready(port: int, proc: subprocess.Popen[bytes], log: Path, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    request = f"GET /api/v1/health HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode()
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"crmkit serve exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection((HOST, port), timeout=1) as s:
                s.sendall(request)
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"crmkit serve did not answer on {HOST}:{port} within {limit:.0f} s: {log.read_text()[-2000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _count_deals(config: Path) -> int:
    import sqlite3

    db = config.parent / "crm.db"
    conn = sqlite3.connect(str(db))
    try:
        return int(conn.execute("SELECT count(*) FROM crm_deals").fetchone()[0])
    finally:
        conn.close()


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(opts: Options, workdir: Path) -> list[Result]:
    from crmkit import Crm
    from crmkit.core import auth

    total = 300 if opts.quick else 2_000
    repeats = 1 if opts.quick else min(opts.repeats, 3)
    config = deployment(workdir)
    crm = Crm.from_config(config)
    try:
        user = crm.users.create(email="manager@example.com", name="Manager", role="manager")
        _, secret = auth.create_token(crm, user.id, "bench")
    finally:
        crm.close()
    payload = _request(secret)
    port = free_port()
    log = config.parent / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "crmkit.cli", "--config", str(config), "serve", "--host", HOST, "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, cwd=config.parent, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            _wait_ready(port, proc, log)
            drive(port, payload, max(100, total // 10), CONNS)  # warm-up: imports, caches, thread pool
            serial: list[Phase] = []
            concurrent: list[Phase] = []
            for i in range(repeats):
                for conns in ((1, CONNS) if i % 2 == 0 else (CONNS, 1)):
                    before = _count_deals(config)
                    phase = drive(port, payload, total, conns)
                    same(f"deals written by {conns} connection(s) (rows = 201 responses)",
                         _count_deals(config) - before, phase.ok)
                    (serial if conns == 1 else concurrent).append(phase)
        finally:
            _stop(proc)
    server_log = log.read_text(errors="replace")
    phases = serial + concurrent
    for phase in phases:
        same(f"requests answered ({phase.conns} conn)", len(phase.latencies), total)
    status_5xx = sum(n for p in phases for s, n in p.statuses.items() if s >= 500)
    locked = sum(p.locked for p in phases) + server_log.count("database is locked")
    other = {s: n for p in phases for s, n in p.statuses.items() if s != 201}
    client_errors = [e for p in phases for e in p.errors]
    tracebacks = server_log.count("Traceback")
    conc_rate = statistics.median(p.rate for p in concurrent)
    serial_rate = statistics.median(p.rate for p in serial)
    lat = [x for p in concurrent for x in p.latencies]
    serial_lat = [x for p in serial for x in p.latencies]
    p99, p50 = _p(lat, 0.99) * 1000, _p(lat, 0.50) * 1000
    ratio = conc_rate / serial_rate
    clean = status_5xx == 0 and locked == 0 and not other and not client_errors and tracebacks == 0
    problems = (f"5xx {status_5xx}, 'database is locked' {locked}, other non-201 {other or 0}, "
                f"client errors {len(client_errors)}, server tracebacks {tracebacks}")
    return [
        Result(name=f"6 concurrent POST /deals via uvicorn, {CONNS} conns vs serialized", backend="sqlite",
               ours=conc_rate, baseline=serial_rate, unit="req/s", ratio=ratio, target=">= 0.80 of serialized",
               passed=ratio >= 0.80, n=total,
               note=f"crmkit serve (uvicorn, h11, access log on) on loopback; {repeats} run(s) each, median; "
                    "baseline: 1 connection"),
        Result(name=f"6 latency and errors, {CONNS} conns", backend="sqlite", ours=p99,
               baseline=_p(serial_lat, 0.99) * 1000, unit="ms p99", ratio=None,
               target="p99 <= 25 ms; zero 5xx, zero 'database is locked'", passed=p99 <= 25.0 and clean,
               n=len(lat), note=f"p50 {p50:.1f} ms; baseline = p99 with 1 conn; {problems}"),
    ]
