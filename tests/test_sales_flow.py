"""The window company's sales process end to end, through the services (MISSION.md's reference flow)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from crmkit import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from crmkit.core.worker import Worker

UTC = timezone.utc


@pytest.fixture
def team(crm):
    users = crm.users
    return {
        "anna": users.create(email="anna@windows.example", name="Anna Manager"),
        "hank": users.create(email="hank@windows.example", name="Hank Head", role="head", team="measurers"),
        "mike": users.create(email="mike@windows.example", name="Mike Measurer", team="measurers"),
    }


def open_tasks(crm, entity_type, entity_id):
    return crm.tasks.list(entity_type=entity_type, entity_id=entity_id, status="open").items


def test_the_whole_flow(crm, team, clock):
    anna = crm.as_user(team["anna"].id)
    # -- capture from three channels; a known phone links the lead to its contact
    known = anna.contacts.create(first_name="Olga", last_name="Known", phones=["+1 212 555 0199"])
    web = anna.leads.create(title="Web form: 3 windows", name="Ann Lee", phone="(212) 555-0100", source="web_form",
                            responsible_id=team["anna"].id, utm={"source": "google", "campaign": "spring"})
    call = anna.leads.create(title="Incoming call", phone="212-555-0199", source="call", responsible_id=team["anna"].id)
    mail = anna.leads.create(title="E-mail: office glazing", name="Bob Stone", email="Bob@Glass.example",
                             company_name="Glass & Frame LLC", customer_kind="legal_entity", source="email",
                             responsible_id=team["anna"].id)
    spam = anna.leads.create(title="Messenger: sell me SEO", source="messenger")
    assert web.stage == "new" and web.utm == {"source": "google", "campaign": "spring"}
    assert call.contact_id == known.id
    assert crm.timeline.of("lead", call.id).items[0].data["matched_by"] == "phone"
    [callback] = open_tasks(crm, "lead", web.id)
    assert (callback.title, callback.assignee_id) == ("Call back: Web form: 3 windows", team["anna"].id)
    assert callback.due_at == clock.now() + timedelta(hours=1)

    # -- qualification: one is not a target, with a reason
    with pytest.raises(ValidationError, match="needs a reason"):
        anna.leads.reject(spam.id)
    rejected = anna.leads.reject(spam.id, reason="not_a_target_customer")
    assert (rejected.status, rejected.stage) == ("rejected", "not_target")
    anna.leads.move(web.id, "qualifying")

    # -- convert a person: contact + deal, no company
    person = anna.leads.convert(web.id, deal={"amount": "1200.00"})
    assert person.company is None
    assert (person.contact.first_name, person.contact.last_name, person.contact.phones) == ("Ann", "Lee", ("+12125550100",))
    deal = person.deal
    assert (deal.pipeline, deal.stage, deal.lead_id, deal.source) == ("sales", "collecting_data", web.id, "web_form")
    assert deal.utm == {"source": "google", "campaign": "spring"}
    assert deal.custom["customer_kind"] == "person"
    assert (person.lead.status, person.lead.stage) == ("converted", "converted")
    with pytest.raises(ConflictError, match="already converted"):
        anna.leads.convert(web.id)
    # the deal's timeline carries the lead's history
    assert [e.type for e in crm.timeline.of("deal", deal.id)][:2] == ["lead.created", "lead.stage_changed"]

    # -- convert a legal entity: the company is created and the contact belongs to it
    legal = anna.leads.convert(mail.id)
    assert legal.company is not None and legal.company.name == "Glass & Frame LLC"
    assert legal.contact.company_id == legal.company.id and legal.contact.emails == ("bob@glass.example",)
    assert legal.deal.company_id == legal.company.id
    # the repeat caller's conversion reuses the known contact
    assert anna.leads.convert(call.id).contact.id == known.id

    # -- walk the Sales stages; automatic tasks appear for the right people
    deal = anna.deals.move(deal.id, "proposal_sent")
    [follow_up] = open_tasks(crm, "deal", deal.id)
    assert follow_up.assignee_id == deal.responsible_id == team["anna"].id
    assert follow_up.due_at == datetime(2026, 1, 7, 9, 0, tzinfo=UTC)  # Monday + 2 business days

    with pytest.raises(ValidationError, match="cannot enter stage 'measurement_scheduled' without measurement_date") as err:
        anna.deals.move(deal.id, "measurement_scheduled")
    assert err.value.field == "measurement_date"
    assert crm.deals.get(deal.id).stage == "proposal_sent"  # refused: nothing moved

    anna.deals.update(deal.id, {"custom": {"measurement_date": "2026-01-09T10:00:00+00:00"}})
    anna.deals.move(deal.id, "measurement_scheduled")
    assign = [t for t in open_tasks(crm, "deal", deal.id) if t.title.startswith("Assign a measurer")]
    assert [t.assignee_id for t in assign] == [team["hank"].id]
    assert assign[0].due_at == clock.now() + timedelta(hours=4)

    hank = crm.as_user(team["hank"].id)
    hank.deals.update(deal.id, {"custom": {"measurer_id": team["mike"].id}})
    hank.tasks.complete(assign[0].id)
    hank.deals.move(deal.id, "measurer_assigned")
    [measure] = [t for t in open_tasks(crm, "deal", deal.id) if t.title.startswith("Measure")]
    assert measure.assignee_id == team["mike"].id
    assert measure.title == "Measure: Web form: 3 windows, Ann Lee"
    assert measure.due_at == datetime(2026, 1, 9, 10, 0, tzinfo=UTC)
    assert [t.id for t in crm.tasks.list(assignee_id=team["mike"].id, status="open")] == [measure.id]

    mike = crm.as_user(team["mike"].id)
    assert mike.deals.get(deal.id).id == deal.id  # the measurer reads the deal while measuring
    mike.notes.add("deal", deal.id, "Measured: 3 windows, 120x140 cm")
    with pytest.raises(PermissionDeniedError, match="may read it but not change it"):
        mike.deals.move(deal.id, "measurement_done")  # a task is a read-only grant
    mike.tasks.complete(measure.id)
    with pytest.raises(NotFoundError, match="does not exist"):
        mike.deals.get(deal.id)  # ... that ends with the task
    anna.deals.move(deal.id, "measurement_done")
    anna.deals.move(deal.id, "contract_signed")
    won = anna.deals.win(deal.id)
    assert won.status == "won"
    stages = [m.to_stage for m in crm.deals.history(deal.id)]
    assert stages == ["collecting_data", "proposal_sent", "measurement_scheduled", "measurer_assigned",
                      "measurement_done", "contract_signed", "won"]


def test_required_field_unknown_user_is_refused(crm, team):
    deal = crm.deals.create(title="x")
    with pytest.raises(ValidationError, match="measurer_id: user 999 does not exist"):
        crm.deals.update(deal.id, {"custom": {"measurer_id": 999}})


def test_deferred_deal_gets_its_task_on_the_date(crm, team, clock):
    anna = crm.as_user(team["anna"].id)
    deal = anna.deals.create(title="Not ready until spring", responsible_id=team["anna"].id)
    deal = anna.deals.move(deal.id, "waiting", pipeline="deferred")
    anna.deals.update(deal.id, {"custom": {"next_contact_date": "2026-03-02"}})
    [task] = open_tasks(crm, "deal", deal.id)
    assert (task.title, task.assignee_id, task.due_at) == (
        "Contact again: Not ready until spring", team["anna"].id, datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    # a new date replaces the task; the old one is cancelled, not left behind
    anna.deals.update(deal.id, {"custom": {"next_contact_date": "2026-03-16"}})
    [task2] = open_tasks(crm, "deal", deal.id)
    assert task2.due_at == datetime(2026, 3, 16, 9, 0, tzinfo=UTC) and crm.tasks.get(task.id).status == "cancelled"
    # on the date the worker reports it overdue once the day has passed; then the deal goes back to Sales
    clock.set(datetime(2026, 3, 16, 10, 0, tzinfo=UTC))
    Worker(crm).run_once()
    assert [e.entity_id for e in crm.timeline.all(type="task.overdue")] == [task2.id]
    back = anna.deals.move(deal.id, "collecting_data", pipeline="sales")
    assert (back.pipeline, back.stage) == ("sales", "collecting_data")


def test_timezone_business_days_and_dates(make_crm, clock):
    crm = make_crm(timezone="Europe/Berlin")
    user = crm.users.create(email="a@x.example", name="A")
    deal = crm.deals.create(title="x", responsible_id=user.id)
    crm.deals.update(deal.id, {"custom": {"next_contact_date": "2026-07-01"}})
    [task] = open_tasks(crm, "deal", deal.id)
    assert task.due_at == datetime(2026, 7, 1, 7, 0, tzinfo=UTC)  # 9:00 in Berlin, summer time


def test_copy_rule_on_winning_links_the_origin(make_crm):
    from tests.conftest import _template

    data = _template()
    sales = next(p for p in data["pipelines"] if p["key"] == "sales")
    won = next(s for s in sales["stages"] if s["key"] == "won")
    won["copy_to"] = {"pipeline": "control", "if_field": "installments"}
    data["pipelines"].append({"key": "control", "name": "Installment control",
                              "stages": ["waiting", {"key": "paid", "kind": "won"}]})
    crm = make_crm(pipelines=data["pipelines"])
    plain = crm.deals.win(crm.deals.create(title="Cash sale").id)
    credit = crm.deals.create(title="Sale on installments", amount="900.00", custom={"installments": True})
    crm.deals.win(credit.id)
    copies = crm.deals.list(pipeline="control").items
    assert [(c.origin_deal_id, c.title, c.stage, str(c.amount)) for c in copies] == [
        (credit.id, "Sale on installments", "waiting", "900.00 USD")]
    assert crm.deals.list(origin_deal_id=plain.id).items == []
    assert "deal.copied" in [e.type for e in crm.timeline.of("deal", credit.id)]


def test_bad_rules_fail_at_start(make_crm):
    from crmkit import ConfigError

    bad = [{"key": "p", "stages": [{"key": "a", "requires": ["colour"]}]}]
    with pytest.raises(ConfigError, match="requires unknown deal field 'colour'"):
        make_crm(pipelines=bad, lead_pipeline="none", sales_pipeline="p")
    bad = [{"key": "p", "stages": [{"key": "a", "tasks": [{"title": "Call {nmae}"}]}]}]
    with pytest.raises(ConfigError, match="unknown field {nmae}"):
        make_crm(pipelines=bad, lead_pipeline="none", sales_pipeline="p")
    bad = [{"key": "p", "stages": [{"key": "a", "copy_to": {"pipeline": "nowhere"}}]}]
    with pytest.raises(ConfigError, match="unknown pipeline 'nowhere'"):
        make_crm(pipelines=bad, lead_pipeline="none", sales_pipeline="p")


def test_stage_map_moves_deals_of_a_retired_stage(make_crm):
    from tests.conftest import _template

    crm = make_crm()
    deal = crm.deals.create(title="In a stage that goes away", stage="measurement_done")
    data = _template()
    sales = next(p for p in data["pipelines"] if p["key"] == "sales")
    sales["stages"] = [s for s in sales["stages"] if s["key"] != "measurement_done"]
    sales["stage_map"] = {"measurement_done": "contract_signed"}
    crm2 = make_crm(pipelines=data["pipelines"])
    assert crm2.deals.get(deal.id).stage == "contract_signed"
    assert crm2.deals.history(deal.id)[-1].from_stage == "measurement_done"
