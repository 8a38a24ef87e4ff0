"""The e-mails the core writes itself (task reminders, the daily digest) in the recipient's language
-- the deployment's ([ui] locale), as crmkit keeps no language per user yet -- through a real SMTP
server on loopback, on SQLite and PostgreSQL; a stored template's language variant is picked the same way."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "messages"))
from messages_support import messages_settings, smtp  # noqa: E402,F401  (fixture)

from crmkit import Crm, FrozenClock, Worker  # noqa: E402


def subject(message: Any) -> str:
    return str(make_header(decode_header(message["Subject"])))


def body(message: Any) -> str:
    return message.get_payload(decode=True).decode().replace("\r\n", "\n")


def deliver(crm: Crm, clock: FrozenClock, passes: int = 3) -> None:
    for _ in range(passes):
        Worker(crm).run_once()
        clock.advance(seconds=15)
    crm.messages.deliver()


def test_a_reminder_in_the_deployments_language(make_crm: Any, smtp: Any, clock: FrozenClock) -> None:
    crm = make_crm(settings={"messages": messages_settings(smtp[1])}, ui={"locale": "de"})
    alice = crm.users.create(email="alice@windows.example", name="Alice")
    deal = crm.deals.create(title="Fenster", responsible_id=alice.id)
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc))
    crm.tasks.add(title="Angebot senden", assignee_id=alice.id, due_at=clock.now() + timedelta(minutes=30),
                  entity_type="deal", entity_id=deal.id)
    deliver(crm, clock)
    [(_, mail)] = smtp[0].messages
    assert subject(mail) == "Aufgabe fällig 02.03.26, 09:30: Angebot senden"
    assert body(mail) == f"Die Aufgabe „Angebot senden“ ist am 02.03.26, 09:30 (UTC) fällig.\nZu Deal {deal.id}.\n"


def test_the_digest_in_chinese_and_a_template_variant_in_slovenian(make_crm: Any, smtp: Any,
                                                                    clock: FrozenClock) -> None:
    crm = make_crm(settings={"messages": messages_settings(smtp[1], digest=True, digest_hour=8,
                                                           task_reminders=False)}, ui={"locale": "zh_Hans"})
    alice = crm.users.create(email="alice@windows.example", name="Alice")
    clock.set(datetime(2026, 3, 2, 7, 0, tzinfo=timezone.utc))
    crm.tasks.add(title="给张女士打电话", assignee_id=alice.id, due_at=datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc))
    clock.set(datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc))
    deliver(crm, clock)
    [(_, mail)] = smtp[0].messages
    assert subject(mail) == "您 2026-03-02 的任务：1 项"
    assert body(mail) == "- 2026/3/2 15:00 给张女士打电话\n"

    other = make_crm(settings={"messages": messages_settings(smtp[1], task_reminders=True)}, ui={"locale": "sl"})
    bob = other.users.create(email="bob@windows.example", name="Bob")
    other.messages.templates.save("task.overdue", "Naloga {{ task.title }} je zapadla.", subject="Zapadlo",
                                  language="sl")
    other.messages.templates.save("task.overdue", "Task {{ task.title }} is overdue.", subject="Overdue",
                                  language="en")
    other.tasks.add(title="Meritev", assignee_id=bob.id, due_at=clock.now() - timedelta(hours=3))
    deliver(other, clock, passes=4)
    assert [subject(m) for _, m in smtp[0].messages[1:]] == ["Zapadlo"]
