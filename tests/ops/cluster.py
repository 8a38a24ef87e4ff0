"""A production-shaped deployment in subprocesses, and a mixed load against it (the scale test and
``bench/b_scale.py``): ``crmkit serve --workers W`` plus ``crmkit worker`` processes on one
PostgreSQL database, with the ``jobs`` and ``ledger`` test plugins (a periodic job that records its
runs, and a subscriber that records every event delivered to it, with the delivering pid)."""

from __future__ import annotations

import collections
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import attrs
import httpx

CLI = [sys.executable, "-m", "crmkit.cli"]
METRICS_TOKEN = "scale-metrics-token-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(config: Path, *args: str) -> str:
    done = subprocess.run([*CLI, "--config", str(config), *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def make_deployment(root: Path, database: str) -> tuple[Path, str]:
    """``crmkit init`` at ``root`` with the test plugins; returns (crmkit.toml, an admin's API token)."""
    done = subprocess.run([*CLI, "init", str(root), "--database", database], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    config = root / "crmkit.toml"
    text = config.read_text().replace("plugins = []", 'plugins = ["jobs", "ledger"]', 1)
    config.write_text(text + f"""
[settings.ledger]
path = "{root / 'ledger.txt'}"

[settings.forms.site]
source = "web_form"
rate_limit = 1000000

[settings.monitoring]
metrics_token = "{METRICS_TOKEN}"
""")
    cli(config, "users", "add", "--email", "load@example.com", "--name", "Load", "--role", "admin")
    token = cli(config, "users", "token", "load@example.com", "--name", "load").strip().splitlines()[-1]
    return config, token


class Cluster:
    """``web`` server processes (one ``crmkit serve --workers web``) and ``workers`` worker processes."""

    def __init__(self, config: Path, *, web: int, workers: int) -> None:
        self.config, self.web, self.port = config, web, free_port()
        self.logs = config.parent
        self.server: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes] | None] = [None] * workers
        self.base = f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120) -> None:
        with (self.logs / "serve.log").open("ab") as log:  # the child keeps its own descriptor
            self.server = subprocess.Popen(
                [*CLI, "--config", str(self.config), "serve", "--port", str(self.port), "--workers", str(self.web)],
                stdout=subprocess.DEVNULL, stderr=log)
        for i in range(len(self.workers)):
            self.start_worker(i)
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert self.server.poll() is None and time.monotonic() < deadline, \
                f"crmkit serve did not come up: {self.log_text()[-2000:]}"
            time.sleep(0.2)
        if self.web > 1:  # every process answers before the load starts (each takes its time to import)
            time.sleep(1.0)

    def start_worker(self, i: int) -> None:
        with (self.logs / f"worker{i}.log").open("ab") as log:
            self.workers[i] = subprocess.Popen([*CLI, "--config", str(self.config), "worker", "--interval", "1"],
                                               stdout=subprocess.DEVNULL, stderr=log)

    def kill_worker(self, i: int) -> None:
        proc = self.workers[i]
        assert proc is not None and proc.poll() is None, f"worker {i} is not running"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    def stop(self) -> None:
        for proc in [*self.workers, self.server]:
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in [*self.workers, self.server]:
            if proc is None:
                continue
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.logs.glob("*.log")))


@attrs.define
class Acked:
    """What the deployment acknowledged (2xx): each must be in the database afterwards."""

    deals: dict[int, str] = attrs.field(factory=dict)
    """deal id -> the stage of its last acknowledged write."""
    completed_tasks: set[int] = attrs.field(factory=set)
    leads: set[int] = attrs.field(factory=set)
    statuses: collections.Counter[int] = attrs.field(factory=collections.Counter)
    errors: list[str] = attrs.field(factory=list)

    @property
    def writes(self) -> int:
        return sum(n for s, n in self.statuses.items() if 200 <= s < 300)


def run_load(base: str, token: str, *, seconds: float, threads: int, seed: int = 7,
             midway: Any = None) -> Acked:
    """``threads`` clients send a mix of writes for ``seconds``: deal creates (35 %), moves (25 %),
    a task added and completed (20 %), web-form posts (20 %); ``midway()`` is called once halfway."""
    acked = Acked()
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    auth = {"Authorization": f"Bearer {token}"}

    def client(n: int) -> None:
        rnd = random.Random(seed + n)
        mine: list[tuple[int, int]] = []  # (deal id, version) still in collecting_data
        with httpx.Client(base_url=f"{base}/api/v1", headers=auth, timeout=30) as http:
            i = 0
            while time.monotonic() < stop:
                i += 1
                pick = rnd.random()
                try:
                    if pick < 0.35 or not mine:
                        r = http.post("/deals", json={"title": f"scale {n}-{i}", "amount": "1200.00"})
                        note(r)
                        if r.status_code == 201:
                            body = r.json()
                            mine.append((body["id"], body["version"]))
                            with lock:
                                acked.deals[body["id"]] = body["stage"]
                    elif pick < 0.60:
                        deal_id, version = mine.pop(rnd.randrange(len(mine)))
                        r = http.post(f"/deals/{deal_id}/move", json={"stage": "proposal_sent"},
                                      headers={"If-Match": f'"{version}"', "Idempotency-Key": f"mv-{n}-{i}"})
                        note(r)
                        if r.status_code == 200:
                            with lock:
                                acked.deals[deal_id] = r.json()["stage"]
                    elif pick < 0.80:
                        deal_id = mine[-1][0]
                        r = http.post("/tasks", json={"title": f"call {n}-{i}", "entity_type": "deal",
                                                      "entity_id": deal_id})
                        note(r)
                        if r.status_code == 201:
                            done = http.post(f"/tasks/{r.json()['id']}/complete")
                            note(done)
                            if done.status_code == 200:
                                with lock:
                                    acked.completed_tasks.add(done.json()["id"])
                    else:
                        r = http.post("/forms/site", json={"name": f"Visitor {n}-{i}",
                                                           "phone": f"+1415555{rnd.randrange(10000):04d}"})
                        note(r)
                        if r.status_code == 201 and "lead_id" in r.json():
                            with lock:
                                acked.leads.add(r.json()["lead_id"])
                except httpx.TransportError as exc:
                    with lock:
                        acked.errors.append(f"{type(exc).__name__}: {exc}")

    def note(r: httpx.Response) -> None:
        with lock:
            acked.statuses[r.status_code] += 1
            if r.status_code >= 500 or r.status_code in (400, 404, 409, 422):
                acked.errors.append(f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text[:200]}")

    pool = [threading.Thread(target=client, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    if midway is not None:
        time.sleep(seconds / 2)
        midway()
    for t in pool:
        t.join()
    return acked
