"""The unit of work's limits: how many rounds of reactions a command may have, and ``Tx.once``'s
consumer names."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator, Sequence

import pytest

from crmkit import Crm, CrmError, Event, FrozenClock, PluginInfo, Settings, hookimpl
from crmkit.core.unit_of_work import MAX_ROUNDS
from crmkit.testing import template


class Echo:
    """Reacts to each ``echo.N`` event with ``echo.N+1`` until ``echo.<last>``: N+1 rounds in all."""

    plugin_info = PluginInfo(name="echo", version="0.1.0")

    def __init__(self) -> None:
        self.last = 0

    @hookimpl
    def crm_on_events(self, tx: Any, events: Sequence[Event]) -> None:
        for e in events:
            if e.type.startswith("echo.") and int(e.type[5:]) < self.last:
                tx.emit(f"echo.{int(e.type[5:]) + 1}", "deal", None)


@pytest.fixture
def echo(db_url: str, clock: FrozenClock, tmp_path: Path) -> Iterator[tuple[Crm, Echo]]:
    plugin = Echo()
    crm = Crm(Settings.from_dict({**template(), "database": db_url}, base_dir=tmp_path, environ={}),
              plugins=[plugin], clock=clock)
    yield crm, plugin
    crm.close()


def test_a_command_may_have_max_rounds_of_reactions_and_no_more(echo: tuple[Crm, Echo]) -> None:
    crm, plugin = echo
    assert MAX_ROUNDS == 10
    plugin.last = MAX_ROUNDS - 1  # echo.0 .. echo.9: ten rounds
    with crm.transaction() as tx:
        tx.emit("echo.0", "deal", None)
    assert [e.type for e in crm.timeline.all(limit=50)][-1] == "echo.9"

    plugin.last = MAX_ROUNDS  # one round too many: refused, nothing logged
    with pytest.raises(CrmError, match="for 10 rounds; last events: echo.10$"):
        with crm.transaction() as tx:
            tx.emit("echo.0", "deal", None)
    assert len(crm.timeline.all(limit=50).items) == 10


def test_the_error_names_the_first_five_events_of_the_last_round(echo: tuple[Crm, Echo]) -> None:
    crm, plugin = echo
    plugin.last = MAX_ROUNDS
    with pytest.raises(CrmError) as err:
        with crm.transaction() as tx:
            tx.emit("echo.3", "deal", None)  # reaches echo.10 in 7 rounds: fine
            for _ in range(7):
                tx.emit("echo.0", "deal", None)  # ... these need 11
    assert str(err.value).endswith("last events: " + ", ".join(["echo.10"] * 5))


def test_once_takes_a_consumer_name_of_1_to_100_characters(crm: Any) -> None:
    event = crm.deals.create(title="D")
    [created] = [e for e in crm.timeline.of("deal", event.id) if e.type == "deal.created"]
    with crm.transaction() as tx:
        assert tx.once("c" * 100, created.id) is True
        for bad in ("", "c" * 101, None, 7):
            with pytest.raises(ValueError, match="1 to 100 characters"):
                tx.once(bad, created.id)
        with pytest.raises(ValueError, match="not committed"):
            tx.once("x", None)
