"""`crmkit users` passwords, roles and tokens; `crmkit serve` answering over real HTTP."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx

from crmkit import Crm
from crmkit.core import auth
from tests.test_cli import as_json, cfg, deployment, fails, ok  # noqa: F401  (fixtures)


def test_users_roles_passwords_tokens(cfg: list[str], deployment: str) -> None:
    ok(*cfg, "users", "add", "--email", "root@x.example", "--name", "Root", "--role", "admin", "--password", "s3cret-pass")
    ok(*cfg, "users", "add", "--email", "ann@x.example", "--name", "Ann")
    fails(*cfg, "users", "add", "--email", "bob@x.example", "--name", "Bob", "--role", "boss", contains="role: 'boss'")
    fails(*cfg, "users", "add", "--email", "c@x.example", "--name", "C", "--password", "short", contains="password")
    assert as_json(*cfg, "users", "set-role", "ann@x.example", "head")["role"] == "head"
    fails(*cfg, "--as", "ann@x.example", "users", "set-role", "root@x.example", "manager", contains="may not")
    made = as_json(*cfg, "users", "token", "ann@x.example", "--name", "zapier")
    secret = made["secret"]
    with Crm.from_config(deployment) as crm:
        assert auth.authenticate(crm, secret) == made["token"]["user_id"]
        assert auth.check_password(crm, "root@x.example", "s3cret-pass") is not None
    assert [t["name"] for t in as_json(*cfg, "users", "tokens", "ann@x.example")] == ["zapier"]
    ok(*cfg, "users", "revoke-token", str(made["token"]["id"]))
    with Crm.from_config(deployment) as crm:
        assert auth.authenticate(crm, secret) is None
    assert as_json(*cfg, "users", "tokens") == []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_over_http(cfg: list[str], deployment: str) -> None:
    made = as_json(*cfg, "users", "add", "--email", "root@x.example", "--name", "Root", "--role", "admin")
    secret = as_json(*cfg, "users", "token", str(made["id"]))["secret"]
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "crmkit.cli", "--config", deployment, "serve", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/api/v1/deals", headers={"Authorization": f"Bearer {secret}"})
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "crmkit serve did not come up"
                time.sleep(0.2)
        assert r.status_code == 200 and r.json() == {"items": [], "next_cursor": None}
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/deals").status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serve_with_a_broken_config_is_one_line(tmp_path) -> None:
    fails("--config", str(tmp_path / "nope.toml"), "serve", contains="no deployment config")
