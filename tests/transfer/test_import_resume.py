"""A killed import (SIGKILL of a real ``crmkit import`` process) resumes without duplicates."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import create_engine, func, select

from crmkit.cli import cli
from crmkit.core import schema
from crmkit.transfer.tables import import_rows, imports

ROWS = 6_000
ENV = {"CRMKIT_CONFIG": None, "CRMKIT_USER": None, "CRMKIT_PLUGINS": None, "CRMKIT_DATABASE_URL": None}


def cli_ok(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), env=ENV, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_kill_and_resume(db_url: str, tmp_path: Path) -> None:
    cli_ok("init", str(tmp_path / "crm"), "--database", db_url)
    cfg = str(tmp_path / "crm" / "crmkit.toml")
    cli_ok("--config", cfg, "users", "add", "--email", "ada@w.example", "--name", "Ada", "--role", "admin")
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write("first name,last name,phone,email\r\n")
        for i in range(ROWS):
            fh.write(f"First{i},Last{i},+1 212 {200 + i // 10000:03d} {i % 10000:04d},user{i}@example.com\r\n")
        fh.write("Twice,Again,,user7@EXAMPLE.com\r\n")  # a duplicate of row 8: skipped, once
    engine = create_engine(db_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRMKIT_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "crmkit.cli", "--config", cfg, "--as", "ada@w.example", "import", "contacts",
         str(path), "--batch-size", "100"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                done = conn.scalar(select(func.max(imports.c.checkpoint))) or 0
            if done >= 1000:
                break
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    with engine.connect() as conn:
        run = conn.execute(select(imports)).one()
        written = conn.scalar(select(func.count()).select_from(schema.contacts))
    assert run.status == "running" and 1000 <= run.checkpoint < ROWS + 1, "killed mid-way"
    assert written == run.created == run.checkpoint - run.skipped  # only whole batches are there

    out = cli_ok("--config", cfg, "--as", "ada@w.example", "import", "resume", str(run.id), str(path))
    assert out.strip() == (f"Import {run.id}: {ROWS + 1} rows: {ROWS} accepted ({ROWS} created, 0 updated), "
                           "0 rejected, 1 skipped (duplicates)")
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(schema.contacts)) == ROWS
        assert conn.scalar(select(func.count(func.distinct(schema.contact_emails.c.email)))) == ROWS
        assert conn.scalar(select(func.count()).select_from(import_rows)) == ROWS + 1
        assert conn.execute(select(imports.c.status, imports.c.checkpoint)).one() == ("done", ROWS + 1)
    engine.dispose()

