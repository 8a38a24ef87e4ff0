"""crmkit's own tests. The fixtures (``db_url``, ``clock``, ``make_crm``, ``crm``) come
from :mod:`crmkit.testing`, the pytest plugin plugin authors use too."""

from __future__ import annotations

from typing import Any

import pytest

from crmkit.testing import template as _template

__all__ = ["_template"]


@pytest.fixture
def alice(crm: Any) -> Any:
    return crm.users.create(email="alice@windows.example", name="Alice Manager", role="manager")
