"""The task calendar feed (issue 13): RFC 5545 text (escaping, folding, CRLF) checked directly and
with a parser (icalendar), the secret URL made, rotated and revoked through the SDK, the API and the
CLI, and only the user's own visible tasks in it; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import icalendar
import pytest
from click.testing import CliRunner
from test_api_helpers import build_api
from test_cli import CLEAN_ENV

from crmkit import Crm, FrozenClock
from crmkit.cli import cli
from crmkit.cli.deployment import render
from crmkit.core.calendar import feed_path, render_feed
from crmkit.core.errors import NotFoundError, PermissionDeniedError
from crmkit.core.ical import escape_text, fold

UTC = timezone.utc


def test_text_values_are_escaped() -> None:
    assert escape_text("a,b;c\\d\ne\r\nf\rg") == "a\\,b\\;c\\\\d\\ne\\nf\\ng"
    assert escape_text("tab\there\x00\x07") == "tab\there"  # other controls may not be in TEXT


@pytest.mark.parametrize("line", ["x" * 75, "x" * 76, "SUMMARY:" + "é" * 100, "D:" + "€𝄞" * 60, "y" * 400])
def test_lines_are_folded_at_75_octets_without_splitting_a_character(line: str) -> None:
    folded = fold(line)
    assert folded.endswith("\r\n")
    parts = folded[:-2].split("\r\n")
    assert all(len(p.encode()) <= 75 for p in parts)
    assert all(p.startswith(" ") for p in parts[1:]) and not parts[0].startswith(" ")
    assert parts[0] + "".join(p[1:] for p in parts[1:]) == line  # unfolding gives the line back
    assert len(parts) == 1 if len(line.encode()) <= 75 else len(parts) > 1


@pytest.fixture
def team(crm: Crm) -> dict[str, int]:
    return {"anna": crm.users.create(email="anna@w.example", name="Anna Lee", role="manager").id,
            "tom": crm.users.create(email="tom@w.example", name="Tom", role="manager").id,
            "ada": crm.users.create(email="ada@w.example", name="Ada", role="admin").id}


def _parse(text: str) -> Any:
    assert "\n" not in text.replace("\r\n", "")  # CRLF only
    return icalendar.Calendar.from_ical(text)


def test_the_feed_holds_the_users_own_tasks_as_parsed_events(crm: Crm, team: dict[str, int],
                                                             clock: FrozenClock) -> None:
    anna = crm.as_user(team["anna"])
    deal = anna.deals.create(title="3 windows")
    due = clock.now() + timedelta(days=1)
    title = "Measure; call first, then \\ drive\nto site " + "long " * 20
    task = anna.tasks.add(title=title[:300].replace("\n", " "), assignee_id=team["anna"], due_at=due,
                          description="Bring the laser, the ladder;\nand the contract", entity_type="deal",
                          entity_id=deal.id)
    done = anna.tasks.add(title="Send the offer", assignee_id=team["anna"], due_at=due - timedelta(days=2))
    anna.tasks.complete(done.id)
    cancelled = anna.tasks.add(title="Old visit", assignee_id=team["anna"], due_at=due - timedelta(days=3))
    anna.tasks.cancel(cancelled.id)
    anna.tasks.add(title="No due date", assignee_id=team["anna"])
    anna.tasks.add(title="Tom's task", assignee_id=team["tom"], due_at=due)
    archived = anna.tasks.add(title="Archived", assignee_id=team["anna"], due_at=due)
    anna.tasks.archive(archived.id)
    stale = anna.tasks.add(title="Long done", assignee_id=team["anna"], due_at=due - timedelta(days=200))
    anna.tasks.complete(stale.id)

    secret = anna.calendar.rotate()
    text = render_feed(crm, secret, base_url="https://crm.example.com/")
    cal = _parse(text)
    assert cal["VERSION"] == "2.0" and "Anna Lee" in str(cal["X-WR-CALNAME"])
    events = {str(e["UID"]): e for e in cal.walk("VEVENT")}
    assert len(events) == 3  # open, done, cancelled with a due time; not Tom's, archived, undated or long done
    event = events[f"task-{task.id}@crmkit.crmkit"]
    assert str(event["SUMMARY"]) == task.title  # escaping undone by the parser
    assert str(event["DESCRIPTION"]) == f"Bring the laser, the ladder;\nand the contract\n\nOn deal {deal.id}."
    assert event.decoded("DTSTART") == due.replace(microsecond=0).astimezone(UTC)
    assert event.decoded("DTSTART").tzinfo is not None and "DTSTART:" in text and text.count("Z\r\n") > 3
    assert event.decoded("DTSTAMP") == task.updated_at.replace(microsecond=0)
    assert str(event["URL"]) == f"https://crm.example.com/deals/{deal.id}"
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(events[f"task-{done.id}@crmkit.crmkit"]["SUMMARY"]) == "Done: Send the offer"
    assert str(events[f"task-{cancelled.id}@crmkit.crmkit"]["STATUS"]) == "CANCELLED"
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    assert "\\;" in text and "\\," in text and "\\n" in text

    anna.tasks.update(task.id, {"title": "Measure"})
    again = {str(e["UID"]): e for e in _parse(render_feed(crm, secret)).walk("VEVENT")}
    assert set(again) == set(events)  # UIDs are stable
    assert int(again[f"task-{task.id}@crmkit.crmkit"]["SEQUENCE"]) == 1


def test_only_tasks_the_user_may_see(crm: Crm, team: dict[str, int], clock: FrozenClock) -> None:
    """A task assigned to Tom on Anna's deal is Tom's to see; record rules decide, the feed follows."""
    anna, tom = crm.as_user(team["anna"]), crm.as_user(team["tom"])
    deal = anna.deals.create(title="Anna's")
    anna.tasks.add(title="Measure for Anna", assignee_id=team["tom"], entity_type="deal", entity_id=deal.id,
                   due_at=clock.now() + timedelta(hours=3))
    secret = tom.calendar.rotate()
    [event] = _parse(render_feed(crm, secret)).walk("VEVENT")
    assert str(event["SUMMARY"]) == "Measure for Anna"
    crm.as_user(team["ada"]).users.update(team["tom"], {"active": False})
    with pytest.raises(NotFoundError):  # a deactivated user's feed is dormant
        render_feed(crm, secret)


def test_rotate_and_revoke(crm: Crm, team: dict[str, int]) -> None:
    anna = crm.as_user(team["anna"])
    first = anna.calendar.rotate()
    second = anna.calendar.rotate()
    assert first != second and len(second) >= 40
    with pytest.raises(NotFoundError):
        render_feed(crm, first)  # the old URL stops working
    assert render_feed(crm, second).startswith("BEGIN:VCALENDAR\r\n")
    with pytest.raises(PermissionDeniedError):  # only admins manage others' feeds
        anna.calendar.rotate(team["tom"])
    crm.as_user(team["ada"]).calendar.rotate(team["tom"])
    assert anna.calendar.revoke() is True and anna.calendar.revoke() is False
    with pytest.raises(NotFoundError):
        render_feed(crm, second)
    for bad in ("", "short", "../../etc/passwd", "x" * 500):
        with pytest.raises(NotFoundError):
            render_feed(crm, bad)
    types = [e.type for e in crm.timeline.all(type="user.calendar_feed_created")]
    assert len(types) == 3 and all(second not in repr(e) for e in crm.timeline.all().items)  # never the secret


def test_the_feed_over_http(crm: Crm, team: dict[str, int], clock: FrozenClock) -> None:
    api = build_api(crm)
    as_anna = api.token_for(team["anna"])
    crm.as_user(team["anna"]).tasks.add(title="Call, then visit", assignee_id=team["anna"],
                                        due_at=datetime(2026, 3, 1, 9, 30, tzinfo=UTC))
    made = api.ok(api.post("/api/v1/users/me/calendar", headers=as_anna))
    assert made["url"] == "http://testserver" + made["path"] and made["path"].endswith(".ics")
    feed = api.client.get(made["path"], headers={"Authorization": ""})  # no token: the secret is the key
    assert feed.status_code == 200 and feed.headers["content-type"] == "text/calendar; charset=utf-8"
    assert feed.headers["cache-control"] == "private, no-store"
    [event] = _parse(feed.text).walk("VEVENT")
    assert str(event["SUMMARY"]) == "Call, then visit" and "DTSTART:20260301T093000Z\r\n" in feed.text
    assert str(event["URL"]) == "http://testserver/tasks"
    assert api.ok(api.client.delete("/api/v1/users/me/calendar", headers=as_anna)) == {"revoked": True}
    api.error(api.client.get(made["path"]), 404)
    api.error(api.client.get("/calendar/not-a-secret.ics"), 404)
    api.error(api.client.post("/api/v1/users/me/calendar", headers={"Authorization": "Bearer nope"}), 401)


def test_calendar_url_through_the_cli(crm: Crm, team: dict[str, int], tmp_path: Any) -> None:
    config = tmp_path / "crmkit.toml"
    config.write_text(render(database=crm.settings.database))

    def run(*args: str) -> Any:
        return CliRunner().invoke(cli, ["--config", str(config), *args], env=CLEAN_ENV, catch_exceptions=False)

    made = run("users", "calendar-url", "anna@w.example", "--base-url", "https://crm.example.com/")
    assert made.exit_code == 0, made.output
    url = made.stdout.strip().splitlines()[-1]
    assert url.startswith("https://crm.example.com/calendar/") and url.endswith(".ics")
    secret = url.rsplit("/", 1)[1][: -len(".ics")]
    assert render_feed(crm, secret).startswith("BEGIN:VCALENDAR")
    path_only = run("users", "calendar-url", "anna@w.example").stdout.strip().splitlines()[-1]
    assert path_only.startswith("/calendar/")
    with pytest.raises(NotFoundError):
        render_feed(crm, secret)  # replaced
    refused = run("--as", "tom@w.example", "users", "calendar-url", "anna@w.example")
    assert refused.exit_code == 1 and "may not" in refused.stderr and "Traceback" not in refused.output
    revoked = run("users", "calendar-url", "anna@w.example", "--revoke")
    assert revoked.exit_code == 0 and "Revoked" in revoked.stdout
    assert feed_path("abc") == "/calendar/abc.ics"
