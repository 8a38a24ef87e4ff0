"""`crmkit init` and `crmkit demo` keep secrets private: crmkit.toml and the SQLite database
(its -wal and -shm files too) are 0600, a folder they make is 0700. And `crmkit users`
deactivate, activate, set-password."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Iterator

import pytest
from click.testing import CliRunner
from test_cli import CLEAN_ENV, as_json, cfg, deployment, fails, ok  # noqa: F401  (fixtures)

from crmkit import Crm
from crmkit.cli import cli
from crmkit.core import auth


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    """The usual umask (022), under which a plain open() makes world-readable files."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "password_cost", auth.TEST_COST)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_writes_config_and_database_for_the_owner_only(tmp_path: Path) -> None:
    target = tmp_path / "crm"
    ok("init", str(target))
    assert mode(target) == 0o700
    assert mode(target / "crmkit.toml") == 0o600 and mode(target / "crmkit.db") == 0o600
    with Crm.from_config(target / "crmkit.toml") as crm:
        crm.users.create(email="a@x.example", name="A")  # a write: SQLite makes its -wal and -shm files
        side_files = [p for p in target.iterdir() if p.name.startswith("crmkit.db-")]
        assert side_files and all(mode(p) == 0o600 for p in side_files), [(p.name, oct(mode(p))) for p in side_files]


def test_init_into_an_existing_folder_keeps_its_mode(tmp_path: Path, db_url: str) -> None:
    target = tmp_path / "project"
    target.mkdir(mode=0o755)
    ok("init", str(target), "--database", db_url)
    assert mode(target) == 0o755 and mode(target / "crmkit.toml") == 0o600
    if db_url.startswith("sqlite"):
        assert mode(tmp_path / "crm.db") == 0o600  # the test database, outside the folder
    fails("init", str(target), contains="already exists")
    assert mode(target / "crmkit.toml") == 0o600


def test_demo_is_private_too(tmp_path: Path) -> None:
    target = tmp_path / "nested" / "demo"
    ok("demo", str(target))
    assert mode(target) == 0o700
    assert mode(target / "crmkit.toml") == 0o600 and mode(target / "crmkit.db") == 0o600
    ok("demo", str(target), "--force")
    assert mode(target / "crmkit.toml") == 0o600 and mode(target / "crmkit.db") == 0o600


def test_users_deactivate_activate_and_set_password(cfg: list[str], deployment: str) -> None:
    ok(*cfg, "users", "add", "--email", "root@x.example", "--name", "Root", "--role", "admin")
    ok(*cfg, "users", "add", "--email", "ann@x.example", "--name", "Ann")
    assert as_json(*cfg, "users", "deactivate", "ann@x.example")["active"] is False
    assert as_json(*cfg, "users", "activate", "ann@x.example")["active"] is True
    prompted = CliRunner().invoke(cli, [*cfg, "users", "set-password", "ann@x.example"],
                                  input="first password\nfirst password\n", env=CLEAN_ENV, catch_exceptions=False)
    assert prompted.exit_code == 0, prompted.output
    assert "first password" not in prompted.output  # asked for, never echoed
    ok(*cfg, "--as", "ann@x.example", "users", "set-password", "me", "--password", "own password")
    with Crm.from_config(deployment) as crm:
        assert auth.check_password(crm, "ann@x.example", "own password") is not None
    fails(*cfg, "--as", "ann@x.example", "users", "set-password", "root@x.example", "--password", "taken over",
          contains="may not")
    fails(*cfg, "--as", "ann@x.example", "users", "deactivate", "root@x.example", contains="may not")
    fails(*cfg, "--as", "root@x.example", "users", "deactivate", "root@x.example", contains="your own")
    fails(*cfg, "users", "set-password", "ann@x.example", "--password", "short", contains="password")
