"""One overdue task per control deal while it is open, however many items fall overdue."""

from __future__ import annotations

from datetime import datetime, timezone

from crmkit import FrozenClock, Task, Worker
from crmkit_installments.config import OVERDUE_RULE

from installments_support import MakeCrm, control_stage, enabled, event_types, sold, user


def test_a_second_overdue_item_adds_no_second_task_while_the_first_is_open(
        make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    mia = user(crm)
    _, plan = sold(crm, mia.id, amount="300.00", down="0.00", payments=3, start="2026-02-01")
    control = plan.control_deal_id
    assert control is not None

    def overdue_tasks(status: str | None = None) -> list[Task]:
        found = crm.tasks.list(entity_type="deal", entity_id=control, rule=OVERDUE_RULE).items
        return [t for t in found if status is None or t.status == status]

    clock.set(datetime(2026, 2, 3, 9, tzinfo=timezone.utc))  # the first item is overdue
    Worker(crm).run_once()
    assert control_stage(crm, plan) == ("overdue", "open") and len(overdue_tasks()) == 1

    clock.set(datetime(2026, 3, 3, 9, tzinfo=timezone.utc))  # the second too: chased again, no second task
    Worker(crm).run_once()
    assert event_types(crm, control).count("installments.payment_overdue") == 2
    [task] = overdue_tasks()
    assert task.status == "open"

    crm.tasks.complete(task.id)
    clock.set(datetime(2026, 4, 3, 9, tzinfo=timezone.utc))  # the third: the first task is done, a new one
    Worker(crm).run_once()
    assert len(overdue_tasks()) == 2 and len(overdue_tasks("open")) == 1
