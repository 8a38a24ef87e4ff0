"""A real crmkit deployment on SQLite with this plugin enabled by name, as crmkit.toml would."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import pytest

from crmkit import Crm, FrozenClock, Settings

NAME = "{{ cookiecutter.plugin_name }}"

DEPLOYMENT: dict[str, Any] = {
    "pipelines": [
        {
            "key": "sales",
            "name": "Sales",
            "stages": [
                {"key": "new", "name": "New"},
                {"key": "won", "name": "Won", "kind": "won"},
                {"key": "lost", "name": "Lost", "kind": "lost"},
            ],
        }
    ],
    "lost_reasons": ["Too expensive"],
}

MakeCrm = Callable[..., Crm]


@pytest.fixture
def make_crm(tmp_path: Path) -> Iterator[MakeCrm]:
    """``make_crm(plugins=[...], extra=[...], **plugin_settings)``: a fresh Crm with its own database and plugin
    manager; ``plugins`` are names of installed plugins (as in crmkit.toml), ``extra`` plugin objects of a test."""
    made: list[Crm] = []

    def make(*, plugins: Sequence[str] = (NAME,), extra: Sequence[Any] = (), **plugin_settings: Any) -> Crm:
        data = {
            **DEPLOYMENT,
            "database": f"sqlite:///{tmp_path / f'crm{len(made)}.db'}",
            "plugins": list(plugins),
            "settings": {NAME: {"outbox": "outbox.jsonl", **plugin_settings}},
        }
        # environ={}: CRMKIT_PLUGINS of the shell running the tests must not change them.
        crm = Crm(Settings.from_dict(data, base_dir=tmp_path, environ={}), plugins=extra, clock=FrozenClock())
        made.append(crm)
        return crm

    yield make
    for crm in made:
        crm.close()


@pytest.fixture
def crm(make_crm: MakeCrm) -> Crm:
    return make_crm()
