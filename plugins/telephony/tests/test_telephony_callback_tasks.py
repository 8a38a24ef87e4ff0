"""One missed call, one call-back task -- on a deployment made from the template, whose lead pipeline
gives every new lead a "Call back: {title}" task (``stage:leads.new#0``). The missed call takes that
task instead of adding its own; the answered call back completes it; a late answer takes it back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from telephony_helpers import CUSTOMER, OFFICE, SECRET, MakeCrm, api_client, feed, telephony_crm, timeline_types, user

from crmkit import ConfigError, Crm, FrozenClock, Settings
from crmkit.cli import cli
from crmkit_telephony.providers.generic import sign
from crmkit_telephony.stats import stats

LEAD_CALLBACK = "stage:leads.new#0"
ENV = {"CRMKIT_CONFIG": None, "CRMKIT_USER": None, "CRMKIT_PLUGINS": None, "CRMKIT_DATABASE_URL": None}


def open_tasks(crm: Crm) -> list[Any]:
    return crm.tasks.list(status="open", limit=500).items


def all_tasks(crm: Crm) -> list[tuple[str | None, str]]:
    return [(t.rule, t.status) for t in crm.tasks.list(limit=500).items]


def post(client: Any, clock: FrozenClock, call_id: str, kind: str, **fields: Any) -> dict[str, Any]:
    body = json.dumps({"call_id": call_id, "event": kind, "occurred_at": clock.now().isoformat(), **fields}).encode()
    ts = int(clock.now().timestamp())
    r = client.post("/api/v1/telephony/webhooks/generic", content=body, headers={
        "Content-Type": "application/json", "X-Telephony-Timestamp": str(ts),
        "X-Telephony-Signature": sign(SECRET, ts, body)})
    assert r.status_code == 200, r.text
    return dict(r.json())


def init_deployment(db_url: str, tmp_path: Path) -> Path:
    """``crmkit init`` (the template's crmkit.toml), telephony switched on."""
    runner = CliRunner()
    assert runner.invoke(cli, ["init", str(tmp_path / "crm"), "--database", db_url], env=ENV).exit_code == 0
    config = tmp_path / "crm" / "crmkit.toml"
    text = config.read_text().replace("plugins = []", 'plugins = ["telephony"]')
    config.write_text(text + f'\n[settings.telephony]\nextensions = {{ "101" = "anna@windows.example" }}\n'
                             f'generic = {{ secret = "{SECRET}" }}\n')
    return config


def test_missed_calls_on_a_deployment_made_by_init_get_one_call_back_task(db_url: str, tmp_path: Path,
                                                                          clock: FrozenClock) -> None:
    config = init_deployment(db_url, tmp_path)
    crm = Crm(Settings.load(config, environ={}), clock=clock)
    try:
        anna = crm.users.create(email="anna@windows.example", name="Anna").id
        client, _ = api_client(crm)
        caller = {"direction": "inbound", "from": CUSTOMER, "to": OFFICE}
        post(client, clock, "m1", "ringing", **caller)
        clock.advance(seconds=25)
        m1 = post(client, clock, "m1", "ended", result="missed")["calls"][0]
        [task] = open_tasks(crm)
        [lead] = crm.leads.list(source="call").items
        assert (task.rule, task.title, task.assignee_id) == (LEAD_CALLBACK, f"Call back: Call from {CUSTOMER}", anna)
        assert (task.entity_type, task.entity_id) == ("lead", lead.id)
        listed = CliRunner().invoke(cli, ["--config", str(config), "tasks", "list", "--status", "open", "--json"],
                                    env=ENV)
        assert listed.exit_code == 0, listed.output
        assert [t["id"] for t in json.loads(listed.stdout)["items"]] == [task.id]
        clock.advance(minutes=2)  # the caller tries again: still one task
        post(client, clock, "m2", "ringing", **caller)
        clock.advance(seconds=20)
        m2 = post(client, clock, "m2", "ended")["calls"][0]
        assert [t.id for t in open_tasks(crm)] == [task.id]
        assert {c.id: c.callback_task_id for c in crm_calls(crm)} == {m1: task.id, m2: task.id}
        clock.advance(minutes=5)  # Anna calls back and the customer answers: nothing left to do
        back = post(client, clock, "o1", "ringing", direction="outbound", extension="101", to=CUSTOMER)["calls"][0]
        clock.advance(seconds=10)
        post(client, clock, "o1", "answered")
        assert open_tasks(crm) == [] and all_tasks(crm) == [(LEAD_CALLBACK, "done")]
        assert {c.id: c.response_seconds for c in crm_calls(crm) if c.id != back} == {m1: 465, m2: 320}  # o1 rang 465 s after m1, 320 s after m2
        missed = stats(crm)["missed_calls"]
        assert (missed["missed"], missed["called_back"], missed["not_called_back"]) == (2, 2, 0)
    finally:
        crm.close()


def crm_calls(crm: Crm) -> list[Any]:
    from sqlalchemy import select

    from crmkit_telephony.schema import calls

    with crm.engine.connect() as conn:
        return list(conn.execute(select(calls).order_by(calls.c.id)).all())


def test_a_missed_call_in_one_request_takes_the_task_its_new_lead_gets(make_crm: MakeCrm, clock: FrozenClock) -> None:
    """The lead and its stage's task are made in the transaction that ends the call (the stage's rules
    run as it commits): the call still takes that task, no second one."""
    crm = telephony_crm(make_crm)
    call = feed(crm, clock, "m1", "ended", direction="inbound", from_number=CUSTOMER, result="missed").call
    [task] = open_tasks(crm)
    assert (task.rule, task.entity_type, task.entity_id) == (LEAD_CALLBACK, "lead", call.lead_id)
    assert crm_calls(crm)[0].callback_task_id == task.id


def test_a_known_caller_gets_a_telephony_task_closed_by_the_call_back(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = telephony_crm(make_crm)
    contact = crm.contacts.create(first_name="Sam", phones=[CUSTOMER], responsible_id=user(crm, "bob@windows.example"))
    feed(crm, clock, "m1", "ringing", direction="inbound", from_number=CUSTOMER)
    clock.advance(seconds=30)
    missed = feed(crm, clock, "m1", "ended").call
    [task] = open_tasks(crm)  # no lead, so no stage task: telephony's own
    assert (task.rule, task.title) == (f"telephony.callback:{CUSTOMER}", f"Call back {CUSTOMER}")
    assert (task.entity_type, task.entity_id, task.id) == ("contact", contact.id, missed.callback_task_id)
    clock.advance(minutes=3)
    feed(crm, clock, "o1", "answered", direction="outbound", extension="102", to_number=CUSTOMER)
    assert all_tasks(crm) == [(f"telephony.callback:{CUSTOMER}", "done")]


def test_an_answered_call_from_a_new_caller_leaves_no_call_back_to_do(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = telephony_crm(make_crm)
    feed(crm, clock, "c1", "ringing", direction="inbound", from_number=CUSTOMER, extension="101")
    assert [t.rule for t in open_tasks(crm)] == [LEAD_CALLBACK]  # while it rings, the new lead's stage task
    clock.advance(seconds=6)
    feed(crm, clock, "c1", "answered")
    clock.advance(seconds=60)
    call = feed(crm, clock, "c1", "ended").call
    assert (call.result, call.callback_task_id) == ("answered", None)
    assert all_tasks(crm) == [(LEAD_CALLBACK, "done")]  # the answer was the call back


@pytest.mark.parametrize("known", [False, True], ids=["new caller", "known caller"])
def test_a_late_answer_takes_the_call_back_task_back(make_crm: MakeCrm, clock: FrozenClock, known: bool) -> None:
    """``ended`` arrives before ``answered``: the call looks missed and gets its task; the late answer
    makes it answered and the task goes (the lead's own one completed, telephony's own one cancelled)."""
    crm = telephony_crm(make_crm)
    if known:
        crm.contacts.create(first_name="Sam", phones=[CUSTOMER])
    t0 = clock.now()
    feed(crm, clock, "c1", "ringing", at=t0, direction="inbound", from_number=CUSTOMER)
    looks_missed = feed(crm, clock, "c1", "ended", at=t0 + _s(70)).call
    assert looks_missed.result == "missed" and [t.id for t in open_tasks(crm)] == [looks_missed.callback_task_id]
    call = feed(crm, clock, "c1", "answered", at=t0 + _s(10), extension="101").call
    assert (call.result, call.answered_at, call.duration, call.callback_task_id) == ("answered", t0 + _s(10), 60, None)
    assert open_tasks(crm) == []
    assert all_tasks(crm) == ([(f"telephony.callback:{CUSTOMER}", "cancelled")] if known else [(LEAD_CALLBACK, "done")])
    card = ("contact", call.contact_id) if known else ("lead", call.lead_id)
    assert timeline_types(crm, *card).count("telephony.call_finished") == 1  # finished once, when it ended


def _s(seconds: int) -> Any:
    from datetime import timedelta

    return timedelta(seconds=seconds)


def test_callback_task_rule_setting(make_crm: MakeCrm, clock: FrozenClock) -> None:
    with pytest.raises(ConfigError, match="settings.telephony.callback_task_rule"):
        telephony_crm(make_crm, callback_task_rule="Call back")
    explicit = telephony_crm(make_crm, callback_task_rule=LEAD_CALLBACK)
    feed(explicit, clock, "m1", "ended", direction="inbound", from_number=CUSTOMER)
    assert [t.rule for t in open_tasks(explicit)] == [LEAD_CALLBACK]


def test_callback_task_rule_off_makes_telephony_tasks(make_crm: MakeCrm, clock: FrozenClock) -> None:
    """``callback_task_rule = ""``: the stage's tasks are not call-back tasks (a deployment whose intake
    stage asks for something else); telephony makes and closes its own and leaves the stage's alone."""
    crm = telephony_crm(make_crm, callback_task_rule="")
    missed = feed(crm, clock, "m1", "ended", direction="inbound", from_number=CUSTOMER).call
    assert sorted((t.rule or "") for t in open_tasks(crm)) == [LEAD_CALLBACK, f"telephony.callback:{CUSTOMER}"]
    assert crm.tasks.get(missed.callback_task_id).rule == f"telephony.callback:{CUSTOMER}"
    clock.advance(minutes=1)
    feed(crm, clock, "o1", "answered", direction="outbound", extension="101", to_number=CUSTOMER)
    assert sorted(all_tasks(crm), key=str) == sorted([(LEAD_CALLBACK, "open"),
                                                      (f"telephony.callback:{CUSTOMER}", "done")], key=str)
