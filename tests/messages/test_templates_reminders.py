"""Templates (sandboxed Jinja2, card and custom fields, per-language variants, preview with a real
card) and reminders to users (task due, overdue, the daily digest)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import pytest

from crmkit import Crm, FrozenClock, NotFoundError, ValidationError, Worker
from crmkit.testing import template as toml_template
from messages_support import contact, messages_settings


def _with_language(make_crm: Any, smtp: Any, **extra: Any) -> Crm:
    fields = {**toml_template()["custom_fields"], "contact": {
        "language": {"type": "choice", "choices": ["en", "de"], "label": "Language"},
        "club_level": {"type": "text", "label": "Club level"}}}
    return make_crm(settings={"messages": messages_settings(smtp[1], **extra)}, custom_fields=fields)


def test_a_template_is_filled_with_the_card_and_its_custom_fields(make_crm: Any, smtp: Any) -> None:
    crm = _with_language(make_crm, smtp)
    t = crm.messages.templates
    t.save("birthday", "Happy birthday, {{ contact.first_name }}! Your level: {{ contact.custom.club_level }}.",
           subject="For you, {{ contact.first_name }}")
    t.save("birthday", "Alles Gute, {{ contact.first_name }}!", subject="Für dich", language="de")
    jane = contact(crm, custom={"club_level": "gold"})
    hans = contact(crm, first_name="Hans", emails=["hans@example.de"], custom={"language": "de"})

    preview = t.preview("birthday", contact_id=jane.id)
    assert (preview.language, preview.subject, preview.body) == (
        "en", "For you, Jane", "Happy birthday, Jane! Your level: gold.")
    assert t.preview("birthday", contact_id=hans.id).body == "Alles Gute, Hans!"  # the contact's language
    assert t.preview("birthday", contact_id=jane.id, language="de-AT").subject == "Für dich"
    assert t.preview("birthday", contact_id=jane.id, language="fr").language == "en"  # the default

    crm.messages.send(contact_id=hans.id, template="birthday", purpose="marketing")
    crm.messages.deliver()
    _, mail = smtp[0].messages[0]
    assert mail["Subject"] == "Für dich" and "Alles Gute, Hans!" in mail.get_payload(decode=True).decode()


def test_templates_are_sandboxed_and_checked(mcrm: Callable[..., Crm]) -> None:
    crm = mcrm()
    t = crm.messages.templates
    with pytest.raises(ValidationError) as err:
        t.save("broken", "Hello {{ contact.first_name ")
    assert err.value.field == "body" and "line 1" in err.value.message
    t.save("evil", "{{ contact.__class__.__mro__ }}")
    jane = contact(crm)
    with pytest.raises(ValidationError) as err:
        t.render("evil", contact_id=jane.id)
    assert err.value.field == "template"
    t.save("missing", "{{ contact.nickname }}")
    with pytest.raises(ValidationError):
        t.render("missing", contact_id=jane.id)  # undefined values are errors, not blanks
    with pytest.raises(NotFoundError):
        t.render("nope", contact_id=jane.id)
    with pytest.raises(ValidationError) as err:
        t.save("bad key!", "x")
    assert err.value.field == "key"
    assert [x.key for x in t.list()] == ["evil", "missing"]


def test_task_reminders_reach_the_assignee_once(mcrm: Callable[..., Crm], smtp: Any, clock: FrozenClock) -> None:
    crm = mcrm()
    alice = crm.users.create(email="alice@windows.example", name="Alice")
    deal = crm.deals.create(title="Windows", responsible_id=alice.id)
    task = crm.tasks.add(title="Send the proposal", assignee_id=alice.id, due_at=clock.now() + timedelta(minutes=90),
                         entity_type="deal", entity_id=deal.id)
    crm.tasks.add(title="Nobody's", due_at=clock.now() + timedelta(minutes=30))
    Worker(crm).run_once()
    assert smtp[0].messages == []  # due in 90 minutes: not yet
    clock.advance(minutes=31)
    Worker(crm).run_once()
    clock.advance(seconds=10)
    Worker(crm).run_once()  # the queued reminder goes out on the next pass
    assert [(m["To"], m["Subject"]) for _, m in smtp[0].messages] == [
        ("alice@windows.example", f"Task due {task.due_at:%Y-%m-%d %H:%M}: Send the proposal")]
    clock.advance(hours=2)  # now overdue
    for _ in range(3):
        Worker(crm).run_once()
        clock.advance(minutes=1)
    assert [m["Subject"] for _, m in smtp[0].messages] == [
        f"Task due {task.due_at:%Y-%m-%d %H:%M}: Send the proposal", "Task overdue: Send the proposal"]


def test_the_daily_digest(make_crm: Any, smtp: Any, clock: FrozenClock) -> None:
    crm = make_crm(settings={"messages": messages_settings(smtp[1], digest=True, digest_hour=8,
                                                         task_reminders=False)})
    alice = crm.users.create(email="alice@windows.example", name="Alice")
    clock.set(datetime(2026, 3, 2, 6, 0, tzinfo=timezone.utc))
    crm.tasks.add(title="Call Jane", assignee_id=alice.id, due_at=datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc))
    crm.tasks.add(title="Next week", assignee_id=alice.id, due_at=datetime(2026, 3, 9, 15, 0, tzinfo=timezone.utc))
    crm.messages.templates.save("task.digest", "{% for t in tasks %}* {{ t.title }}\n{% endfor %}",
                                subject="Today: {{ tasks|length }} task(s)")
    Worker(crm).run_once()
    crm.messages.deliver()
    assert smtp[0].messages == []  # before 08:00
    clock.set(datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc))
    for _ in range(2):
        Worker(crm).run_once()
        clock.advance(minutes=1)
    crm.messages.deliver()
    assert [(m["Subject"], m.get_payload(decode=True).decode().replace("\r\n", "\n")) for _, m in smtp[0].messages] == [
        ("Today: 1 task(s)", "* Call Jane\n")]


def test_a_proposal_document_from_a_real_deal(mcrm: Callable[..., Crm], tmp_path: Any) -> None:
    crm = mcrm()
    ada = crm.users.create(email="ada@windows.example", name="Ada", role="admin")
    jane = contact(crm)
    deal = crm.deals.create(title="8 windows", amount="4200.00", contact_id=jane.id)
    crm.messages.templates.save(
        "proposal", "Proposal for {{ contact.first_name }}", subject="Proposal: {{ deal.title }}",
        html="<h1>{{ deal.title }}</h1><p>For {{ contact.first_name }} {{ contact.last_name }}: "
             "{{ deal.amount.amount }} {{ deal.amount.currency }}</p><p>{{ note }}</p>")
    page, stored = crm.messages.as_user(ada.id).templates.document("proposal", deal_id=deal.id, attach=True,
                                                                    context={"note": "<valid 30 days>"})
    assert "<title>Proposal: 8 windows</title>" in page
    assert "<h1>8 windows</h1><p>For Jane Smith: 4200.00 USD</p>" in page
    assert "&lt;valid 30 days&gt;" in page  # HTML is escaped
    assert stored is not None and stored.name == "proposal-en.html"
    assert [f.name for f in crm.system.files.of("deal", deal.id)] == ["proposal-en.html"]
    crm.messages.templates.save("plain", "no html")
    with pytest.raises(ValidationError) as err:
        crm.messages.templates.document("plain", deal_id=deal.id)
    assert err.value.field == "template"
