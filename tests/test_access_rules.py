"""Record rules at the corners the other access tests do not reach (each found by mutation testing:
scripts/mutation.py access)."""

from __future__ import annotations

from typing import Any

from crmkit import schema


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
