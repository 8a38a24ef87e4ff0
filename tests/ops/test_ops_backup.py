"""``crmkit db backup`` / ``crmkit db restore``: a copy taken while the deployment writes holds every
write committed before it started and the stored files its database names; restored, it opens at
head with the same cards and documents (SQLite: the online backup API; PostgreSQL: pg_dump)."""

from __future__ import annotations

import os
import shutil
import stat
import tarfile
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from test_cli import as_json, cfg, deployment, fails  # noqa: F401  (fixtures)

from crmkit import Crm, schema
from crmkit.ops.backup import iter_members

needs_pg_dump = pytest.mark.skipif(shutil.which("pg_dump") is None, reason="pg_dump is not installed")


def deal_titles(crm: Crm) -> set[str]:
    with crm.engine.connect() as conn:
        return set(conn.scalars(select(schema.deals.c.title)))


@needs_pg_dump
def test_a_backup_taken_while_writing_restores_complete(cfg: list[str], deployment: str, tmp_path: Path) -> None:
    crm = Crm.from_config(deployment)
    deal = crm.system.deals.create(title="with documents")
    docs = {crm.system.files.add("deal", deal.id, f"contract {i}\n".encode() * (i + 1), name=f"c{i}.txt").id: i
            for i in range(3)}
    stop = threading.Event()
    before: list[str] = []
    during: list[str] = []
    started = threading.Event()

    def write() -> None:  # the deployment keeps serving while the copy is taken
        n = 0
        while not stop.is_set():
            title = f"deal {n}"
            crm.system.deals.create(title=title)
            (during if started.is_set() else before).append(title)
            n += 1

    writer = threading.Thread(target=write)
    writer.start()
    while len(before) < 5:
        stop.wait(0.01)
    committed_before = list(before)
    started.set()
    archive = tmp_path / "nightly.crmkit"
    made = as_json(*cfg, "db", "backup", str(archive))
    stop.set()
    writer.join()
    assert made["files"] == 3 and made["missing"] == [] and made["database"] == crm.engine.dialect.name
    assert stat.S_IMODE(os.stat(archive).st_mode) == 0o600
    assert sum(1 for m in iter_members(archive) if m.startswith("files/")) == 3

    # afterwards: more writes, and the documents' folder is lost
    crm.system.deals.create(title="after the backup")
    crm.close()
    shutil.rmtree(Path(deployment).parent / "files")

    restored = as_json(*cfg, "db", "restore", str(archive), "--yes")
    assert restored == {"database": made["database"], "files_restored": 3, "files_present": 0, "at_head": True,
                        "behind": []}
    crm = Crm.from_config(deployment)  # opens: the schema is at head
    try:
        titles = deal_titles(crm)
        assert set(committed_before) <= titles and "with documents" in titles
        assert "after the backup" not in titles
        assert titles - set(committed_before) - {"with documents"} <= set(during)
        for file_id, i in docs.items():
            assert crm.system.files.read(file_id) == f"contract {i}\n".encode() * (i + 1)
        crm.system.deals.create(title="life goes on")  # ids continue after the restored rows
    finally:
        crm.close()


def test_a_sqlite_backup_restores_into_a_new_deployment(cfg: list[str], deployment: str, tmp_path: Path,
                                                        db_url: str) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("a PostgreSQL dump restores into its own schema (the test above)")
    crm = Crm.from_config(deployment)
    deal = crm.system.deals.create(title="moved house")
    file_id = crm.system.files.add("deal", deal.id, b"%PDF-1.4 contract", name="contract.pdf").id
    crm.close()
    archive = tmp_path / "copy.tar"
    as_json(*cfg, "db", "backup", str(archive))

    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "crmkit.toml").write_text(Path(deployment).read_text().replace(
        db_url.split("///", 1)[1], str(tmp_path / "elsewhere.db")))
    assert as_json("--config", str(other / "crmkit.toml"), "db", "restore", str(archive), "--yes")["at_head"]
    moved = Crm.from_config(other / "crmkit.toml")
    try:
        assert "moved house" in deal_titles(moved)
        assert moved.system.files.read(file_id) == b"%PDF-1.4 contract"
    finally:
        moved.close()


def test_a_damaged_or_foreign_archive_is_refused_and_changes_nothing(cfg: list[str], deployment: str,
                                                                     tmp_path: Path) -> None:
    crm = Crm.from_config(deployment)
    crm.system.deals.create(title="keep me")
    crm.close()
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar file at all" * 100)
    fails(*cfg, "db", "restore", str(junk), "--yes", contains="is not a crmkit backup")
    empty = tmp_path / "empty.tar"
    with tarfile.open(empty, "w"):
        pass
    fails(*cfg, "db", "restore", str(empty), "--yes", contains="no manifest")
    fails(*cfg, "db", "restore", str(tmp_path / "nowhere.tar"), "--yes", contains="no backup at")
    fails(*cfg, "db", "backup", str(tmp_path), contains="is a directory")
    crm = Crm.from_config(deployment)
    try:
        assert "keep me" in deal_titles(crm)
        with crm.engine.connect() as conn:
            assert conn.scalar(select(func.count()).select_from(schema.deals)) == 1
    finally:
        crm.close()
