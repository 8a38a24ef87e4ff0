"""Fixtures of the production tests: tests of the HTTP layer alone (proxies, request lines, the
metrics text) run on SQLite only; storage tests take crmkit's ``make_crm`` (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from crmkit import Crm, FrozenClock, Settings
from crmkit.testing import template


@pytest.fixture
def make_sqlite_crm(tmp_path: Path, clock: FrozenClock) -> Iterator[Callable[..., Crm]]:
    """``make_crm`` on a SQLite file only (the HTTP layer does not depend on the database)."""
    made: list[Crm] = []

    def make(**overrides: Any) -> Crm:
        data = {**template(), "database": f"sqlite:///{tmp_path / 'crm.db'}", **overrides}
        crm = Crm(Settings.from_dict(data, base_dir=tmp_path, environ={}), clock=clock)
        made.append(crm)
        return crm

    yield make
    for crm in made:
        crm.close()
