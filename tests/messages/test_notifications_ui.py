"""In-app notifications in the web UI: a user's task reminders appear on /notifications with an
unread count in the header; "Mark all as read" clears it; nobody sees another user's."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Callable

from starlette.testclient import TestClient

from crmkit import Crm, FrozenClock, Worker
from crmkit.core import auth
from crmkit.web import create_app

PASSWORD = "correct-horse-1"


def _login(crm: Crm, email: str) -> TestClient:
    client = TestClient(create_app(crm))
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    assert client.post("/login", data={"email": email, "password": PASSWORD, "csrf": csrf, "next": "/"},
                       follow_redirects=False).status_code == 303
    return client


def _badge(html: str) -> str | None:
    found = re.search(r'id="unread-notifications">(\d+)<', html)
    return found.group(1) if found else None


def test_reminders_become_notifications_with_a_count(mcrm: Callable[..., Crm], clock: FrozenClock) -> None:
    crm = mcrm()
    anna = crm.system.users.create(email="anna@windows.example", name="Anna", role="manager")
    bob = crm.system.users.create(email="bob@windows.example", name="Bob", role="manager")
    for user in (anna, bob):
        auth.set_password(crm, user.id, PASSWORD)
    crm.as_user(anna.id).tasks.add(title="Call Jane about the windows", assignee_id=anna.id,
                                   due_at=clock.now() + timedelta(minutes=30))
    assert TestClient(create_app(crm)).get("/notifications", follow_redirects=False).status_code in (302, 303)

    Worker(crm).run_once()  # core.reminders: the due-soon reminder to Anna
    client = _login(crm, "anna@windows.example")
    home = client.get("/")
    assert _badge(home.text) == "1"
    page = client.get("/notifications")
    assert page.status_code == 200 and "Call Jane about the windows" in page.text
    assert page.text.count('class="notification unread"') == 1

    other = _login(crm, "bob@windows.example")
    assert _badge(other.get("/").text) is None
    assert "Call Jane about the windows" not in other.get("/notifications").text

    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    assert client.post("/notifications/read", data={}, follow_redirects=False).status_code == 403  # no CSRF token
    done = client.post("/notifications/read", data={"csrf": csrf}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/notifications"
    again = client.get("/notifications")
    assert _badge(again.text) is None and 'class="notification unread"' not in again.text
    assert "Call Jane about the windows" in again.text  # read, still listed

    clock.advance(hours=1)  # now overdue: a second reminder, unread again
    for _ in range(3):
        Worker(crm).run_once()
        clock.advance(minutes=1)
    mine = crm.messages.notifications(anna.id)
    assert (mine.unread(), len(mine.list())) == (1, 2)
    assert _badge(client.get("/").text) == str(mine.unread())
