"""Fixtures of the import/export tests: a deployment in Russia (region RU) with an admin."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crmkit import Crm
from crmkit.testing import MakeCrm


@pytest.fixture
def ru(make_crm: MakeCrm) -> Crm:
    """The window company with ``default_region = "RU"`` (phones like ``8 (916) 123-45-67``)."""
    return make_crm(default_region="RU")


@pytest.fixture
def admin(ru: Crm) -> Any:
    user = ru.users.create(email="ada@w.example", name="Ada", role="admin")
    return ru.as_user(user.id)


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path
