"""``Tx.before_commit``: statements that commit with the command, or not at all."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from crmkit import CrmError, Tx, schema


def deals(crm: Any) -> int:
    with crm.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(schema.deals)))


def test_callbacks_run_last_in_the_commands_transaction_in_order(crm: Any) -> None:
    ran: list[tuple[str, int, int]] = []

    def first(tx: Tx) -> None:
        ran.append(("first", len(tx.events), tx.conn.scalar(select(func.count()).select_from(schema.deals))))

    with crm.transaction() as tx:
        deal = crm.deals.create(title="Joined")  # joins this transaction
        tx.before_commit(first)
        tx.before_commit(lambda tx: ran.append(("second", len(tx.events), deal.id)))
        assert ran == []  # not yet: after the hooks, right before COMMIT
    assert [name for name, *_ in ran] == ["first", "second"]
    assert ran[0][1] >= 1 and ran[0][2] == 1  # the command's events logged, its row visible
    assert deals(crm) == 1
    assert [e.type for e in crm.timeline.of("deal", deal.id)][0] == "deal.created"


def test_a_failing_callback_rolls_the_command_back(crm: Any) -> None:
    def refuse(tx: Tx) -> None:
        raise CrmError("refused at the last moment")

    with pytest.raises(CrmError, match="last moment"):
        with crm.transaction() as tx:
            crm.deals.create(title="Never")
            tx.before_commit(refuse)
    assert deals(crm) == 0


def test_a_callback_may_not_emit_events(crm: Any) -> None:
    with pytest.raises(CrmError, match="emitted events"):
        with crm.transaction() as tx:
            crm.deals.create(title="Never either")
            tx.before_commit(lambda tx: tx.emit("deal.poked", "deal", 1) and None)
    assert deals(crm) == 0
