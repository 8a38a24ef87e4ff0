"""The fitness tests: the 2,000-member simulation is marked ``fitness_deep`` and runs only with
``CRMKIT_FITNESS_DEEP=1`` (it takes many minutes)."""

from __future__ import annotations

import os

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fitness_deep: the 2,000-member simulated year (CRMKIT_FITNESS_DEEP=1)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.environ.get("CRMKIT_FITNESS_DEEP") == "1":
        return
    skip = pytest.mark.skip(reason="the deep simulation runs with CRMKIT_FITNESS_DEEP=1")
    for item in items:
        if item.get_closest_marker("fitness_deep") is not None:
            item.add_marker(skip)
