"""The fitness tests: deployments start from a migrated template (:mod:`crm_templates`); the
2,000-member simulation is marked ``fitness_deep`` and runs only with ``CRMKIT_FITNESS_DEEP=1``
(it takes many minutes)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest
from crm_templates import MakeCrm, Templates, make_crm_fixture

from crmkit import FrozenClock


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fitness_deep: the 2,000-member simulated year (CRMKIT_FITNESS_DEEP=1)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.environ.get("CRMKIT_FITNESS_DEEP") == "1":
        return
    skip = pytest.mark.skip(reason="the deep simulation runs with CRMKIT_FITNESS_DEEP=1")
    for item in items:
        if item.get_closest_marker("fitness_deep") is not None:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def crm_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Templates]:
    templates = Templates(tmp_path_factory.mktemp("crm-templates"))
    yield templates
    templates.close()


@pytest.fixture
def make_crm(db_url: str, clock: FrozenClock, tmp_path: Path, crm_templates: Templates) -> Iterator[MakeCrm]:
    yield from make_crm_fixture(db_url, clock, tmp_path, crm_templates)
