"""`crmkit serve --workers N`: each worker process loads the deployment and its [settings.server]."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx

from tests.test_cli import as_json, cfg, deployment  # noqa: F401  (fixtures)
from tests.test_cli_users_serve import _free_port


def test_serve_with_two_workers_answers_and_cuts_off_slow_heads(cfg: list[str], deployment: str) -> None:
    with open(deployment, "a") as toml:
        toml.write("\n[settings.server]\nheader_timeout_seconds = 0.3\n")
    made = as_json(*cfg, "users", "add", "--email", "root@x.example", "--name", "Root", "--role", "admin")
    secret = as_json(*cfg, "users", "token", str(made["id"]))["secret"]
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "crmkit.cli", "--config", deployment, "serve", "--port", str(port),
                             "--workers", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/api/v1/deals", headers={"Authorization": f"Bearer {secret}"})
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "crmkit serve --workers 2 did not come up"
                time.sleep(0.2)
        assert r.status_code == 200 and r.json() == {"items": [], "next_cursor": None}
        with socket.create_connection(("127.0.0.1", port)) as sock:  # the workers read header_timeout too
            sock.settimeout(3)
            sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n")
            started = time.monotonic()
            assert sock.recv(100) == b"" and time.monotonic() - started < 2
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=15)
    assert b"Traceback" not in err, err.decode()[-2000:]
