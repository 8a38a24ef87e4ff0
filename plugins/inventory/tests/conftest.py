"""The inventory tests: deployments start from a migrated template (:mod:`crm_templates`); the
property test's size follows ``CRMKIT_INVENTORY_DEEP=1`` (see test_inventory_properties.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from crm_templates import MakeCrm, Templates, make_crm_fixture

from crmkit import FrozenClock


@pytest.fixture(scope="session")
def crm_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Templates]:
    templates = Templates(tmp_path_factory.mktemp("crm-templates"))
    yield templates
    templates.close()


@pytest.fixture
def make_crm(db_url: str, clock: FrozenClock, tmp_path: Path, crm_templates: Templates) -> Iterator[MakeCrm]:
    yield from make_crm_fixture(db_url, clock, tmp_path, crm_templates)
