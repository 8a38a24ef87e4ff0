"""The glue's tests start deployments from migrated templates, as the fitness tests do."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "fitness" / "tests"))
from crm_templates import MakeCrm, Templates, make_crm_fixture  # noqa: E402

from crmkit import FrozenClock  # noqa: E402


@pytest.fixture(scope="session")
def crm_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Templates]:
    templates = Templates(tmp_path_factory.mktemp("crm-templates"))
    yield templates
    templates.close()


@pytest.fixture
def make_crm(db_url: str, clock: FrozenClock, tmp_path: Path, crm_templates: Templates) -> Iterator[MakeCrm]:
    yield from make_crm_fixture(db_url, clock, tmp_path, crm_templates)
