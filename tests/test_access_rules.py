"""Record rules at the corners the other access tests do not reach (each found by mutation testing:
scripts/mutation.py access)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from crmkit import (
    Crm, FrozenClock, PermissionDeniedError, PluginInfo, Role, Settings, ValidationError, hookimpl, schema,
)
from crmkit.testing import template

MAX_ID = 2**31 - 1


def test_a_manager_reads_the_notes_on_a_task_given_to_them(crm: Any) -> None:
    ann = crm.users.create(email="ann@x.example", name="Ann", role="manager")
    boss = crm.users.create(email="boss@x.example", name="Boss", role="admin")
    task = crm.as_user(boss.id).tasks.add(title="Call the supplier", assignee_id=ann.id)
    note = crm.as_user(boss.id).notes.add("task", task.id, "their number is on the invoice")
    other = crm.as_user(boss.id).tasks.add(title="Not Ann's", assignee_id=boss.id)
    crm.as_user(boss.id).notes.add("task", other.id, "private")
    assert [n.id for n in crm.as_user(ann.id).notes.list()] == [note.id]
    with crm.engine.connect() as conn:
        assert crm.as_user(ann.id).access.can_see(conn, "note", schema.notes, note.id)


class Viewer:
    """A plugin registering a read-only role that sees every card."""

    plugin_info = PluginInfo(name="viewer_role", version="0.1.0")

    @hookimpl
    def crm_register_roles(self, crm: Any) -> list[Role]:
        return [Role("viewer", "all", frozenset({"cards.read"}), "reads everything, changes nothing")]


def test_reading_a_card_is_not_changing_it(db_url: str, clock: FrozenClock, tmp_path: Path) -> None:
    crm = Crm(Settings.from_dict({**template(), "database": db_url}, base_dir=tmp_path, environ={}),
              plugins=[Viewer()], clock=clock)
    try:
        vera = crm.users.create(email="vera@x.example", name="Vera", role="viewer")
        ann = crm.users.create(email="ann@x.example", name="Ann", role="manager")
        mine = crm.as_user(ann.id).deals.create(title="Ann's")
        tasked = crm.deals.create(title="Measured by Ann")
        crm.tasks.add(title="Measure", assignee_id=ann.id, entity_type="deal", entity_id=tasked.id)
        viewer, manager = crm.as_user(vera.id).access, crm.as_user(ann.id).access
        with crm.engine.connect() as conn:
            assert viewer.unrestricted and viewer.can_see(conn, "deal", schema.deals, mine.id)
            assert not viewer.can_change(conn, "deal", schema.deals, mine.id)  # no cards.write
            assert manager.can_change(conn, "deal", schema.deals, mine.id)
            assert manager.can_see(conn, "deal", schema.deals, tasked.id)
            assert not manager.can_change(conn, "deal", schema.deals, tasked.id)  # read through a task only
    finally:
        crm.close()


def test_a_refusal_names_the_role(crm: Any) -> None:
    ann = crm.users.create(email="ann@x.example", name="Ann", role="manager")
    with pytest.raises(PermissionDeniedError, match=r"^your role \(manager\) may not change users$"):
        crm.as_user(ann.id).users.create(email="new@x.example", name="New")


def test_a_link_to_the_largest_id_is_checked_like_any_other(crm: Any) -> None:
    ann = crm.users.create(email="ann@x.example", name="Ann", role="manager")
    far = crm.contacts.create(first_name="Far")  # nobody's: Ann may not see it
    with crm.engine.begin() as conn:
        conn.execute(update(schema.contacts).where(schema.contacts.c.id == far.id).values(id=MAX_ID))
    with pytest.raises(ValidationError, match=f"contact_id: contact {MAX_ID} does not exist") as err:
        crm.as_user(ann.id).deals.create(title="Linked", contact_id=MAX_ID)
    assert err.value.field == "contact_id"
    assert crm.deals.create(title="The system may", contact_id=MAX_ID).contact_id == MAX_ID
