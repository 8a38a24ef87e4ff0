"""Personal data: a contact's export, and an erasure that leaves their name, phones and e-mail
nowhere in the database (every text and JSON column of every table, core and plugins, reflected).

The person is touched everywhere first: created through the API with an Idempotency-Key (the
stored response holds them), their old phone changed (it lives on in the event log), a lead
matched by phone and converted, notes and tasks mentioning them, a missed and an answered call
(telephony: numbers, a recording, call-back tasks), an installment plan with a payment whose
reference names them, and another customer's note naming them.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest
from sqlalchemy import JSON, Engine, MetaData, String, select
from sqlalchemy.types import NullType
from starlette.testclient import TestClient

import crmkit
from crmkit import Crm, FrozenClock, PermissionDeniedError, Settings, hookimpl
from crmkit.core import auth
from crmkit.core.errors import ConflictError, NotFoundError
from crmkit.core.services.privacy import PrivacyService
from crmkit.testing import MakeCrm, template
from crmkit.web import create_app
from crmkit_installments.service import Installments
from crmkit_telephony import CallEvent
from crmkit_telephony.ingest import ingest

START = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
FIRST, LAST = "Zebulon", "Quackenbush"
PHONE, OLD_PHONE = "+12025550187", "+12025550143"
EMAIL = "zebulon.q@example.org"
RECORDING = "https://recordings.example/2026/zq-answered.mp3"
OTHER_PHONE = "+12025550111"
NEEDLES = [FIRST, LAST, EMAIL, PHONE, PHONE[1:], PHONE[2:], "(202) 555-0187", "202-555-0187",
           OLD_PHONE, OLD_PHONE[1:], OLD_PHONE[2:], RECORDING]
SETTINGS = {"telephony": {"extensions": {"101": "admin@windows.example"}}}


def deployment(make_crm: MakeCrm, clock: FrozenClock) -> Crm:
    clock.set(START)
    fields = template()["custom_fields"]
    crm = make_crm(plugins=["telephony", "installments"], settings=SETTINGS, custom_fields={
        **fields, "lead": {"referrer": {"type": "text"}},
        "contact": {**fields["contact"], "nickname": {"type": "text"}, "mobile": {"type": "phone"}}})
    crm.users.create(email="admin@windows.example", name="Ada Admin", role="admin")
    return crm


def admin_client(crm: Crm) -> TestClient:
    admin = crm.users.by_email("admin@windows.example")
    assert admin is not None
    _, secret = auth.create_token(crm, admin.id, "tests")
    return TestClient(create_app(crm), headers={"Authorization": f"Bearer {secret}"})


def call(crm: Crm, clock: FrozenClock, call_id: str, *, answer: bool, recording: str | None = None) -> Any:
    ingest(crm, CallEvent(provider="generic", call_id=call_id, status="ringing", occurred_at=clock.now(),
                          direction="inbound", from_number="+1 (202) 555-0187", to_number="+12025550100"))
    clock.advance(seconds=20)
    if answer:
        ingest(crm, CallEvent(provider="generic", call_id=call_id, status="answered", occurred_at=clock.now(),
                              extension="101"))
        clock.advance(seconds=90)
    return ingest(crm, CallEvent(provider="generic", call_id=call_id, status="ended", occurred_at=clock.now(),
                                 recording_url=recording, hangup_cause="Zebulon hung up")).call


def touch_everywhere(crm: Crm, clock: FrozenClock, client: TestClient) -> dict[str, Any]:
    """The person in every place the CRM keeps something; returns the ids of what was made."""
    missed = call(crm, clock, "missed-1", answer=False)  # before they are a contact: a lead "Call from ..."
    assert missed.lead_id is not None
    response = client.post("/api/v1/contacts", headers={"Idempotency-Key": "create-zq"}, json={
        "first_name": FIRST, "last_name": LAST, "phones": ["+1 202 555 0143"], "emails": ["Zebulon.Q@Example.org"],
        "birthday": "1981-02-03", "custom": {"preferred_channel": "sms", "nickname": "Zeb Quackenbush",
                                             "mobile": "202-555-0187"}})
    assert response.status_code == 201, response.text
    contact = response.json()
    crm.contacts.update(contact["id"], {"phones": ["(202) 555-0187"]})  # the old number lives on in the log
    lead = crm.leads.create(title=f"{FIRST} {LAST}: windows for the cabin", name=f"{FIRST} {LAST}", email=EMAIL,
                            custom={"referrer": f"neighbour of {LAST}"})
    assert lead.contact_id == contact["id"]
    done = crm.leads.convert(lead.id, deal={"title": f"{LAST}: 5 windows", "amount": "1200.00"})
    deal = done.deal
    crm.notes.add("contact", contact["id"], f"{FIRST} prefers calls after 5pm on (202) 555-0187")
    crm.notes.add("deal", deal.id, f"{LAST.upper()} asked for a discount; write to {EMAIL}")
    crm.notes.add("lead", missed.lead_id, "Probably the Quackenbush family")
    crm.tasks.add(title=f"Send {FIRST} the measurement report", description=f"to {EMAIL}",
                  entity_type="deal", entity_id=deal.id)
    clock.advance(minutes=5)
    answered = call(crm, clock, "answered-1", answer=True, recording=RECORDING)
    assert answered.contact_id == contact["id"] and answered.deal_id == deal.id
    plans = Installments(crm, None)
    plans.create_plan(deal.id, down_payment="200.00", payments=2, start="2026-02-01")
    crm.deals.win(deal.id)
    payment = plans.record_payment(deal.id, "500.00", method="transfer", reference=f"Transfer from {FIRST} {LAST}")
    plans.reverse_payment(payment.id, reason=f"bounced; {FIRST} pays by card, {EMAIL}")
    passport = crm.system.files.add("contact", contact["id"], b"%PDF-1.4 passport scan",
                                    name=f"{FIRST} {LAST} passport.pdf")
    contract = crm.system.files.add("deal", deal.id, b"%PDF-1.4 the contract", name=f"{LAST.lower()}-contract.pdf")
    other = crm.contacts.create(first_name="Olga", last_name="Other", phones=[OTHER_PHONE], emails=["olga@example.org"])
    other_deal = crm.deals.create(title="Olga's kitchen", amount="300.00", contact_id=other.id)
    crm.notes.add("deal", other_deal.id, f"Referred by {FIRST} {LAST}, call him at 202-555-0187")
    return {"contact": contact["id"], "lead": lead.id, "deal": deal.id, "call_lead": missed.lead_id,
            "calls": (missed.id, answered.id), "other": other.id, "other_deal": other_deal.id,
            "plan_deal": deal.id, "passport": passport.id, "contract": contract.id}


# -- scanning the whole database ------------------------------------------------------------------


def text_of(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def scan(engine: Engine, needles: list[str]) -> tuple[list[str], set[str]]:
    """Every hit of ``needles`` in every text and JSON column of every table (reflected from the
    database itself), and the columns scanned, as ``table.column``."""
    metadata = MetaData()
    metadata.reflect(bind=engine)
    forms = {n.lower() for n in needles} | {json.dumps(n)[1:-1].lower() for n in needles}
    hits, scanned = [], set()
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            columns = [c for c in table.c if isinstance(c.type, (String, JSON, NullType))]
            scanned |= {f"{table.name}.{c.name}" for c in columns}
            if not columns:
                continue
            for row in conn.execute(select(*columns)):
                for col, value in zip(columns, row):
                    if value is None:
                        continue
                    text = text_of(value).lower()
                    hits += [f"{table.name}.{col.name}: {needle!r} in {text[:200]!r}" for needle in forms
                             if needle in text]
    return hits, scanned


def test_erasure_leaves_the_person_nowhere_in_the_database(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = deployment(make_crm, clock)
    with admin_client(crm) as client:
        made = touch_everywhere(crm, clock, client)
        hits, _ = scan(crm.engine, NEEDLES)
        assert len(hits) > 40  # they really are everywhere
        deal_before = crm.deals.get(made["deal"])
        response = client.post(f"/api/v1/contacts/{made['contact']}/erase",
                               json={"reason": f"Request 42 from {EMAIL} ({FIRST})"})
        assert response.status_code == 200, response.text
    erasure = response.json()

    hits, scanned = scan(crm.engine, NEEDLES)
    assert hits == []
    assert {"crm_events.payload", "crm_notes.body", "crm_tasks.rule", "crm_idempotency_keys.response", "crm_files.name",
            "telephony_calls.recording_url", "telephony_calls.from_number", "installments_payments.reference",
            "crm_contacts.custom", "crm_leads.name"} <= scanned
    # the erasure is logged, without the data
    logged = crm.timeline.all(type="contact.erased").items
    assert [(e.entity_type, e.entity_id) for e in logged] == [("contact", made["contact"])]
    assert logged[0].data["reason"] == "Request 42 from [erased] ([erased])" == erasure["reason"]
    assert logged[0].data["rows"] == erasure["rows"]
    assert {"crm_contacts", "crm_leads", "crm_deals", "crm_notes", "crm_tasks", "crm_events", "telephony_calls",
            "installments_payments", "crm_idempotency_keys"} <= set(erasure["rows"])
    # business records stay: the deal's amount, stage and links; the calls as facts; the plan's money
    contact = crm.contacts.get(made["contact"])
    assert (contact.name, contact.phones, contact.emails, contact.birthday, contact.custom) == ("[erased]", (), (),
                                                                                               None, {})
    deal = crm.deals.get(made["deal"])
    assert (deal.amount, deal.stage, deal.status, deal.contact_id) == (deal_before.amount, "won", "won",
                                                                      made["contact"])
    assert deal.title == "[erased]: 5 windows" and deal.version > deal_before.version
    lead = crm.leads.get(made["lead"])
    assert (lead.name, lead.phone, lead.email, lead.status) == ("[erased]", None, None, "converted")
    from crmkit_telephony.calls import list_calls

    logged_calls = {c.id: c for c in list_calls(crm.system, limit=10)}
    answered = logged_calls[made["calls"][1]]
    assert (answered.phone, answered.recording_url, answered.from_number) == (None, None, "[erased]")
    assert (answered.result, answered.duration, answered.contact_id) == ("answered", 90, made["contact"])
    plan = Installments(crm, None).plan(made["plan_deal"])
    assert str(plan.total.amount) == "1200.00"
    assert [p.reference for p in Installments(crm, None).payments(made["plan_deal"])] == ["Transfer from [erased]"]
    # another customer keeps their own data; the mention of the person in their deal's note is gone
    other = crm.contacts.get(made["other"])
    assert (other.name, other.phones, other.emails) == ("Olga Other", (OTHER_PHONE,), ("olga@example.org",))
    note = crm.notes.list(entity_type="deal", entity_id=made["other_deal"]).items[0]
    assert note.body == "Referred by [erased], call him at [erased]"
    assert crm.contacts.find_by_phone(PHONE) == [] and crm.contacts.find_by_email(EMAIL) == []
    # the documents on the contact card are gone, contents too; the deal's contract stays, renamed
    with pytest.raises(NotFoundError):
        crm.system.files.get(made["passport"])
    contract = crm.system.files.get(made["contract"])
    assert contract.name == "[erased]-contract.pdf" and crm.system.files.read(contract.id) == b"%PDF-1.4 the contract"
    stored = [p for p in Path(crm.settings.base_dir).rglob("*") if p.is_file() and p.read_bytes().startswith(b"%PDF")]
    assert [p.read_bytes() for p in stored] == [b"%PDF-1.4 the contract"]


def test_export_holds_everything_about_the_person(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = deployment(make_crm, clock)
    with admin_client(crm) as client:
        made = touch_everywhere(crm, clock, client)
        response = client.get(f"/api/v1/contacts/{made['contact']}/export")
    assert response.status_code == 200, response.text
    doc = response.json()
    assert doc["format"] == "crmkit.personal_data/1"
    assert doc["contact"]["phones"] == [PHONE] and doc["contact"]["emails"] == [EMAIL]
    assert doc["custom_fields"]["nickname"] == {"label": "nickname", "type": "text", "value": "Zeb Quackenbush"}
    assert set(doc["known_as"]["phones"]) == {PHONE, OLD_PHONE}
    assert {made["lead"], made["call_lead"]} == {lead["id"] for lead in doc["leads"]}
    deal_ids = {d["id"] for d in doc["deals"]}
    assert made["deal"] in deal_ids and len(deal_ids) == 2  # the deal and its installment-control copy
    assert made["other_deal"] not in deal_ids
    assert any(t["title"] == f"Send {FIRST} the measurement report" for t in doc["tasks"])
    assert {n["body"] for n in doc["notes"]} >= {f"{FIRST} prefers calls after 5pm on (202) 555-0187",
                                                 "Probably the Quackenbush family"}
    assert not any("Referred by" in n["body"] for n in doc["notes"])  # another customer's card
    types = {e["type"] for e in doc["events"]}
    assert {"contact.created", "contact.updated", "lead.converted", "note.added", "telephony.call_finished",
            "installments.payment_recorded"} <= types
    calls = doc["plugins"]["telephony"]["calls"]
    assert {c["id"] for c in calls} == set(made["calls"]) and RECORDING in {c["recording_url"] for c in calls}
    assert {f["id"] for f in doc["files"]} == {made["passport"], made["contract"]}
    plans = doc["plugins"]["installments"]["plans"]
    assert [p["payments"][0]["reference"] for p in plans] == [f"Transfer from {FIRST} {LAST}"]
    assert crm.timeline.all(type="contact.exported").items[0].data == {"format": "crmkit.personal_data/1"}


# -- who may, and what is refused ---------------------------------------------------------------------


class GrantsPersonalData:
    """Gives heads the personal_data.manage permission (admins have every permission)."""

    plugin_info = crmkit.PluginInfo(name="grants_personal_data", version="0.1.0")

    @hookimpl
    def crm_register_permissions(self, crm: Crm) -> list[crmkit.Permission]:
        return [crmkit.Permission("personal_data.manage", roles=("admin", "head"))]


class RefusesErasure:
    """A plugin whose erasure fails, after the other plugins erased theirs."""

    plugin_info = crmkit.PluginInfo(name="refuses_erasure", version="0.1.0", requires=("telephony",))

    @hookimpl(trylast=True)
    def crm_personal_data_erase(self, tx: crmkit.Tx, subject: Any) -> None:
        raise RuntimeError("the archive is offline")


@pytest.fixture
def crm_with(db_url: str, clock: FrozenClock, tmp_path: Path) -> Iterator[Any]:
    made: list[Crm] = []

    def make(*plugins: Any) -> Crm:
        clock.set(START)
        data = {**template(), "database": db_url, "plugins": ["telephony"], "settings": SETTINGS}
        crm = Crm(Settings.from_dict(data, base_dir=tmp_path, environ={}), plugins=list(plugins), clock=clock)
        made.append(crm)
        return crm

    yield make
    for crm in made:
        crm.close()


def test_only_admins_and_granted_roles_export_or_erase(crm_with: Any) -> None:
    crm = crm_with(GrantsPersonalData())
    manager = crm.users.create(email="mia@windows.example", name="Mia", role="manager")
    head = crm.users.create(email="hal@windows.example", name="Hal", role="head")
    person = crm.contacts.create(first_name="Petra", last_name="Privat", responsible_id=manager.id)
    with pytest.raises(PermissionDeniedError, match="personal data"):
        PrivacyService(crm, manager.id).export_contact(person.id)  # even for a contact she is responsible for
    with pytest.raises(PermissionDeniedError):
        PrivacyService(crm, manager.id).erase_contact(person.id)
    assert PrivacyService(crm, head.id).export_contact(person.id)["contact"]["last_name"] == "Privat"
    PrivacyService(crm, head.id).erase_contact(person.id, reason="asked in the shop")
    assert crm.contacts.get(person.id).name == "[erased]"
    with pytest.raises(ConflictError, match="erased already"):
        PrivacyService(crm, head.id).erase_contact(person.id)
    with pytest.raises(NotFoundError):
        PrivacyService(crm, head.id).erase_contact(person.id + 100)


def test_an_erasure_that_fails_changes_nothing(crm_with: Any, clock: FrozenClock) -> None:
    crm = crm_with(RefusesErasure())
    person = crm.contacts.create(first_name="Petra", last_name="Privat", phones=["202-555-0187"])
    deal = crm.deals.create(title="Privat: 2 windows", contact_id=person.id)
    call(crm, clock, "c1", answer=True, recording=RECORDING)
    tables = ("crm_contacts", "crm_deals", "crm_events", "telephony_calls", "crm_contact_phones")
    before = {t: dump(crm, t) for t in tables}
    with pytest.raises(RuntimeError, match="archive is offline"):
        PrivacyService(crm, None).erase_contact(person.id)
    assert {t: dump(crm, t) for t in tables} == before  # telephony erased its calls, then all rolled back
    assert crm.deals.get(deal.id).title == "Privat: 2 windows"
    assert crm.timeline.all(type="contact.erased").items == []


def dump(crm: Crm, name: str) -> list[Any]:
    table = crm.tables[name]
    with crm.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(table).order_by(*table.primary_key.columns))]


def test_names_alone_are_erased_on_their_cards_only(crm: Crm) -> None:
    """'Anna' in the person's own deal is them; in somebody else's card it is somebody else."""
    person = crm.contacts.create(first_name="Anna", last_name="Quist", emails=["anna.q@example.org"])
    mine = crm.deals.create(title="Anna: porch windows", contact_id=person.id)
    theirs = crm.deals.create(title="Anna Lee's kitchen (not Anna Quist)")
    crm.notes.add("deal", mine.id, "anna called; QUIST, Anna is fine with Friday")
    PrivacyService(crm, None).erase_contact(person.id)
    assert crm.deals.get(mine.id).title == "[erased]: porch windows"
    assert crm.deals.get(theirs.id).title == "Anna Lee's kitchen (not [erased])"
    assert crm.notes.list(entity_type="deal", entity_id=mine.id).items[0].body == \
        "[erased] called; [erased] is fine with Friday"


def test_non_ascii_names_are_erased_from_json_and_text(crm: Crm) -> None:
    person = crm.contacts.create(first_name="Żaneta", last_name="Głąbińska", phones=["+48 601 234 567"])
    other = crm.deals.create(title="Other customer")
    crm.notes.add("deal", other.id, "Poleciła nas ŻANETA GŁĄBIŃSKA, tel. 601-234-567")
    PrivacyService(crm, None).erase_contact(person.id)
    hits, _ = scan(crm.engine, ["Żaneta", "Głąbińska", "+48601234567", "601234567", "601-234-567"])
    assert hits == []
    note = crm.notes.list(entity_type="deal", entity_id=other.id).items[0]
    assert note.body == "Poleciła nas [erased], tel. [erased]"


def test_data_put_back_on_an_erased_card_can_be_erased_again(crm: Crm) -> None:
    person = crm.contacts.create(first_name="Petra", last_name="Privat", phones=["202-555-0187"])
    PrivacyService(crm, None).erase_contact(person.id)
    with pytest.raises(ConflictError, match="erased already"):
        PrivacyService(crm, None).erase_contact(person.id)
    crm.contacts.update(person.id, {"first_name": "Petra", "last_name": "Privat", "emails": ["pp@example.org"]})
    types = [e.type for e in crm.timeline.all(limit=100)]
    PrivacyService(crm, None).erase_contact(person.id)
    hits, _ = scan(crm.engine, ["Petra", "Privat", "pp@example.org", "2025550187"])
    assert hits == []
    assert [e.type for e in crm.timeline.all(limit=100)] == [*types, "contact.erased"]  # the log keeps its shape
    assert len(crm.timeline.all(type="contact.erased").items) == 2


def test_a_name_that_is_also_a_word_leaves_stages_and_statuses_alone(crm: Crm) -> None:
    """The surname Won, on the person's own won deal: the title loses it, the deal stays won."""
    person = crm.contacts.create(first_name="Min-jun", last_name="Won", phones=["202-555-0187"])
    deal = crm.deals.create(title="Won: terrace door", amount="800.00", contact_id=person.id)
    crm.deals.win(deal.id)
    before = [(e.type, e.changes.get("stage"), e.changes.get("status")) for e in crm.timeline.of("deal", deal.id)]
    PrivacyService(crm, None).erase_contact(person.id)
    after = crm.deals.get(deal.id)
    assert (after.title, after.stage, after.status) == ("[erased]: terrace door", "won", "won")
    assert [(e.type, e.changes.get("stage"), e.changes.get("status")) for e in crm.timeline.of("deal", deal.id)] \
        == before
