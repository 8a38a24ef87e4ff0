"""``crmkit tenants``: add, list, disable/enable, run (one tenant only), upgrade (resumable), worker,
through the CLI as an operator uses it (SQLite files; the PostgreSQL schemas are in the isolation tests)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from starlette.testclient import TestClient

from crmkit.cli import cli
from crmkit.tenants import TenantRegistry, TenantRouter


@pytest.fixture
def tenants(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("CRMKIT_TENANTS", str(tmp_path / "tenants.toml"))
    monkeypatch.delenv("CRMKIT_CONFIG", raising=False)
    monkeypatch.delenv("CRMKIT_PLUGINS", raising=False)
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> Result:
        result = runner.invoke(cli, ["tenants", *args], catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    run("add", "acme", "--host", "acme.test", "--host", "crm.acme.test")
    run("add", "beta", "--host", "beta.test", "--prefix", "/beta")
    return run


def test_add_and_list(tenants: Any, tmp_path: Path) -> None:
    listed = json.loads(tenants("list", "--json").output)["tenants"]
    assert [(t["name"], t["hosts"], t["prefix"], t["state"]) for t in listed] == [
        ("acme", ["acme.test", "crm.acme.test"], None, "enabled"), ("beta", ["beta.test"], "/beta", "enabled")]
    assert (tmp_path / "acme" / "crmkit.toml").is_file() and (tmp_path / "acme" / "crmkit.db").is_file()
    assert (tmp_path / "acme" / "crmkit.toml").stat().st_mode & 0o077 == 0  # secrets inside: owner only
    table = tenants("list").output
    assert "acme.test, crm.acme.test" in table and "/beta" in table


@pytest.mark.parametrize("args, message", [
    (["add", "acme", "--host", "x.test"], "tenant acme already exists"),
    (["add", "gamma", "--host", "ACME.test"], "host acme.test already belongs to tenant acme"),
    (["add", "gamma", "--prefix", "/beta"], "prefix /beta already belongs to tenant beta"),
    (["add", "Gamma!", "--host", "g.test"], "tenant name 'Gamma!'"),
    (["add", "gamma", "--host", "not a host"], "host 'not a host' is not a host name"),
    (["add", "gamma"], "give the tenant a --host"),
    (["add", "gamma", "--host", "g.test", "--schema"], "--schema needs --database"),
    (["disable", "nobody"], "no tenant 'nobody'"),
    (["run", "nobody", "--", "users", "list"], "no tenant 'nobody'"),
])
def test_bad_input_is_one_line_and_changes_nothing(tenants: Any, tmp_path: Path, args: list[str],
                                                    message: str) -> None:
    before = (tmp_path / "tenants.toml").read_text()
    result = tenants(*args, code=1)
    assert message in result.output and "Traceback" not in result.output
    assert (tmp_path / "tenants.toml").read_text() == before
    assert not (tmp_path / "gamma").exists()


def test_run_acts_on_exactly_one_tenant(tenants: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    tenants("run", "acme", "--", "users", "add", "--email", "ann@acme.test", "--name", "Ann", "--role", "admin")
    # the environment's deployment overrides would point every tenant at one database: not applied
    monkeypatch.setenv("CRMKIT_DATABASE_URL", f"sqlite:///{tmp_path / 'acme' / 'crmkit.db'}")
    monkeypatch.setenv("CRMKIT_CONFIG", str(tmp_path / "acme" / "crmkit.toml"))
    assert json.loads(tenants("run", "beta", "--", "--json", "users", "list").output)["items"] == []
    users = json.loads(tenants("run", "acme", "--", "--json", "users", "list").output)["items"]
    assert [u["email"] for u in users] == ["ann@acme.test"]
    failed = tenants("run", "beta", "--", "--as", "ann@acme.test", "contacts", "create", "--first-name", "X", code=1)
    assert "no user with e-mail 'ann@acme.test'" in failed.output


def test_disable_and_enable(tenants: Any, tmp_path: Path) -> None:
    router = TenantRouter(tmp_path / "tenants.toml", reload_seconds=0)
    with TestClient(router) as client:
        assert client.get("http://acme.test/api/v1/health").status_code == 200
        tenants("disable", "acme")
        r = client.get("http://acme.test/api/v1/health")
        assert (r.status_code, r.json()["error"]["code"]) == (403, "tenant_disabled")
        assert "acme" not in router.pool.names()  # closed when the registry said so
        assert client.get("http://beta.test/api/v1/health").status_code == 200
        worked = json.loads(tenants("worker", "--once", "--json").output)["tenants"]
        assert [p["tenant"] for p in worked] == ["beta"]
        tenants("enable", "acme")
        assert client.get("http://crm.acme.test:8000/api/v1/health").status_code == 200
    router.close()
    assert [t.disabled for t in TenantRegistry.load(tmp_path / "tenants.toml")] == [False, False]


def test_upgrade_brings_every_tenant_to_head_and_resumes_after_a_failure(tenants: Any, tmp_path: Path) -> None:
    """acme's database is behind head (its plugin's revision undone, as after installing a new release);
    beta's config is broken: the run upgrades acme and stops at beta; once beta is fixed the next run
    skips acme and finishes."""
    acme, beta = tmp_path / "acme" / "crmkit.toml", tmp_path / "beta" / "crmkit.toml"
    acme.write_text(acme.read_text().replace("\nplugins = []\n", '\nplugins = ["fitness"]\n'))
    tenants("run", "acme", "--", "deals", "list")  # a plugin enabled: its tables are made at start
    tenants("run", "acme", "--", "db", "downgrade", "fitness@-1", "--yes")
    behind = tenants("run", "acme", "--", "deals", "list", code=1)
    assert "crmkit db upgrade" in behind.output
    good = beta.read_text()
    beta.write_text(good + "\nthis is not toml\n")

    first = tenants("upgrade", code=1)
    assert "acme: fitness fitness_0002" in first.output and "beta: FAILED" in first.output
    assert "Not finished" in first.output
    tenants("run", "acme", "--", "deals", "list")  # acme works now

    beta.write_text(good)
    second = json.loads(tenants("upgrade", "--json").output)
    assert second["resumed"] and second["finished"]
    assert [(t["tenant"], t["status"]) for t in second["tenants"]] == [("acme", "skipped"), ("beta", "upgraded")]
    third = json.loads(tenants("upgrade", "--json").output)  # a finished run: a fresh one, all at head
    assert not third["resumed"] and [(t["status"], t["applied"]) for t in third["tenants"]] == [
        ("upgraded", []), ("upgraded", [])]


def test_worker_reports_a_broken_tenant_and_runs_the_others(tenants: Any, tmp_path: Path) -> None:
    (tmp_path / "acme" / "crmkit.toml").write_text("plugins = 3\n")
    result = tenants("worker", "--once", code=1)
    assert "acme: ERROR: crmkit.toml: plugins must be a list of strings" in result.output
    assert "beta: ran" in result.output


def test_serve_routes_each_host_to_its_tenant(tenants: Any, tmp_path: Path) -> None:
    """``crmkit tenants serve --workers 2`` as an operator starts it (SQLite tenants here, read-only
    requests; one process serving a router is in tests/distributions' browser test)."""
    workers = 2
    import http.client
    import signal
    import socket
    import subprocess
    import sys
    import time

    tenants("run", "acme", "--", "users", "add", "--email", "ann@acme.test", "--name", "Ann", "--role", "admin")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "CRMKIT_TENANTS": str(tmp_path / "tenants.toml")}
    proc = subprocess.Popen([sys.executable, "-m", "crmkit.cli", "tenants", "serve", "--port", str(port),
                             "--workers", str(workers)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        def get(host: str, path: str) -> tuple[int, Any]:
            deadline = time.monotonic() + 30
            while True:
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                    try:
                        conn.request("GET", path, headers={"Host": host})
                        r = conn.getresponse()
                        return r.status, json.loads(r.read())
                    finally:
                        conn.close()
                except ConnectionRefusedError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)

        assert get("acme.test", "/api/v1/health") == (200, {"status": "ok"})
        assert get("beta.test:8000", "/api/v1/health") == (200, {"status": "ok"})
        assert get("installation.test", "/beta/api/v1/health") == (200, {"status": "ok"})
        status, body = get("nobody.test", "/api/v1/health")
        assert (status, body["error"]["code"]) == (404, "unknown_tenant")
    finally:
        proc.send_signal(signal.SIGINT)
        out = proc.communicate(timeout=30)[0].decode()
    assert "Traceback" not in out, out
    assert "tenant acme started in" in out and "tenant beta started in" in out  # crmkit's log lines
