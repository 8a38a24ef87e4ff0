"""Target 16b (issue 16): check-in decisions under 16 concurrent devices, through ``crmkit serve``.

A club of N members (100,000; --quick: 5,000: the data of target 16, bench/b_fitness.py) served by
``crmkit serve`` (uvicorn, SQLite, as deployed) on a free loopback port; 16 devices, each with its
own key on its own keep-alive connection, send ``POST /api/v1/fitness/checkins`` for random members
with fresh event ids (2,000 requests; --quick 200), then one device alone sends as many (the
serialized baseline). Every answer must be 201 with a decision; the check-ins table must gain
exactly one row per answer. Reported: p99 latency with 16 devices (target <= 50 ms), its ratio to
one device's p99, throughput.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .b_fitness import NOW, generate
from .b_uvicorn import HOST, _p, _response, _stop, _wait_ready, deployment, free_port
from .harness import Db, Options, Result, same

DEVICES = 16


def _payload(key: str, member: int, event: str) -> bytes:
    body = json.dumps({"event_id": event, "member_id": member}).encode()
    head = (f"POST /api/v1/fitness/checkins HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


async def _device(port: int, key: str, members: int, count: int, tag: str, rnd: random.Random,
                  out: dict[str, Any]) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        for i in range(count):
            payload = _payload(key, rnd.randint(1, members), f"{tag}-{i}")
            t = time.perf_counter()
            writer.write(payload)
            status, body, close = await asyncio.wait_for(_response(reader), 30)
            out["latencies"].append(time.perf_counter() - t)
            out["statuses"][status] = out["statuses"].get(status, 0) + 1
            if close:
                writer.close()
                reader, writer = await asyncio.open_connection(HOST, port)
    finally:
        writer.close()


def drive(port: int, keys: list[str], members: int, total: int, tag: str) -> dict[str, Any]:
    out: dict[str, Any] = {"latencies": [], "statuses": {}}
    rnd = random.Random(tag)
    per = total // len(keys)

    async def all_devices() -> None:
        await asyncio.gather(*(_device(port, k, members, per, f"{tag}{n}", rnd, out) for n, k in enumerate(keys)))

    t0 = time.perf_counter()
    asyncio.run(all_devices())
    out["seconds"] = time.perf_counter() - t0
    return out


def _count(path: Path) -> int:
    import sqlite3

    conn = sqlite3.connect(str(path))
    try:
        return int(conn.execute("SELECT count(*) FROM fitness_checkins").fetchone()[0])
    finally:
        conn.close()


def run(opts: Options, workdir: Path) -> list[Result]:
    from crmkit import Crm, FrozenClock
    from crmkit_fitness.club import Club

    n = 5_000 if opts.quick else 100_000
    total = 200 if opts.quick else 2_000
    config = deployment(workdir)
    text = config.read_text()
    line = next(ln for ln in text.splitlines() if ln.startswith("plugins ="))
    config.write_text(text.replace(line, 'plugins = ["fitness"]'))
    path = config.parent / "crm.db"
    generate(Db("sqlite", f"sqlite:///{path}", path=path), n)
    clock = FrozenClock()
    clock.set(NOW)
    crm = Crm.from_config(config, clock=clock)
    try:
        keys = [Club(crm).add_device(f"Turnstile {i}")[1] for i in range(DEVICES)]
    finally:
        crm.close()
    port = free_port()
    log = config.parent / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "crmkit.cli", "--config", str(config), "serve", "--host", HOST, "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, cwd=config.parent, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            _wait_ready(port, proc, log)
            drive(port, keys, n, DEVICES * 5, "warm")
            before = _count(path)
            many = drive(port, keys, n, total, "many")
            one = drive(port, keys[:1], n, total // 4, "one")
            same("check-in rows (one per answer)", _count(path) - before,
                 sum(many["statuses"].values()) + sum(one["statuses"].values()))
        finally:
            _stop(proc)
    same("answers with 16 devices (all 201)", many["statuses"], {201: len(many["latencies"])})
    same("answers with 1 device (all 201)", one["statuses"], {201: len(one["latencies"])})
    p99, p99_one = _p(many["latencies"], 0.99) * 1000, _p(one["latencies"], 0.99) * 1000
    p50 = statistics.median(many["latencies"]) * 1000
    rate = len(many["latencies"]) / many["seconds"]
    tracebacks = log.read_text(errors="replace").count("Traceback")
    return [Result(
        name=f"16b check-in decisions, {DEVICES} devices via crmkit serve", backend="sqlite", ours=p99,
        baseline=p99_one, unit="ms p99", ratio=p99 / p99_one, target="p99 <= 50 ms (reported)",
        passed=p99 <= 50.0 and tracebacks == 0, n=len(many["latencies"]),
        note=f"{n:,} members; p50 {p50:.1f} ms, {rate:.0f} check-ins/s; baseline = p99 of 1 device; "
             f"server tracebacks {tracebacks}")]
