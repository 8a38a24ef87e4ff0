"""Every resource and action of the HTTP API, through Starlette's TestClient."""

from __future__ import annotations

from typing import Any

from test_api_helpers import Api, api  # noqa: F401  (fixture)

from crmkit import FrozenClock


def test_leads_create_get_list_update_move_reject(api: Api) -> None:
    lead = api.ok(api.post("/api/v1/leads", {"title": "Windows for a flat", "name": "Bob", "phone": "+1 202 555 0101",
                                             "utm": {"source": "google"}}), 201)
    assert lead["phone"] == "+12025550101" and lead["status"] == "new" and lead["utm"] == {"source": "google"}
    got = api.get(f"/api/v1/leads/{lead['id']}")
    assert api.ok(got) == lead and got.headers["etag"] == '"1"'
    api.ok(api.post("/api/v1/leads", {"title": "Other", "source": "call"}), 201)
    page = api.ok(api.get("/api/v1/leads", params={"source": "call"}))
    assert [x["title"] for x in page["items"]] == ["Other"] and page["next_cursor"] is None
    assert len(api.ok(api.get("/api/v1/leads", params={"status__in": "new,in_progress"}))["items"]) == 2
    changed = api.ok(api.patch(f"/api/v1/leads/{lead['id']}", {"company_name": "Smith Ltd"}, headers={"If-Match": '"1"'}))
    assert changed["company_name"] == "Smith Ltd" and changed["version"] == 2
    moved = api.ok(api.post(f"/api/v1/leads/{lead['id']}/move", {"stage": "qualifying"}))
    assert moved["status"] == "in_progress"
    api.error(api.post(f"/api/v1/leads/{lead['id']}/reject", {}), 422, "reason")
    rejected = api.ok(api.post(f"/api/v1/leads/{lead['id']}/reject", {"reason": "not_a_target_customer"}))
    assert rejected["status"] == "rejected" and rejected["lost_reason"] == "Not a target customer"
    api.error(api.post(f"/api/v1/leads/{lead['id']}/reject", {"reason_text": "again"}), 409)


def test_lead_conversion_creates_contact_company_and_deal(api: Api) -> None:
    lead = api.ok(api.post("/api/v1/leads", {"title": "Office windows", "name": "Carol", "company_name": "Acme",
                                             "email": "carol@acme.example"}), 201)
    done = api.ok(api.post(f"/api/v1/leads/{lead['id']}/convert",
                           {"customer_kind": "legal_entity", "deal": {"title": "Acme office", "amount": "900.00"}}))
    assert done["lead"]["status"] == "converted"
    assert done["company"]["name"] == "Acme" and done["contact"]["company_id"] == done["company"]["id"]
    assert done["deal"]["lead_id"] == lead["id"] and done["deal"]["amount"] == {"amount": "900.00", "currency": "USD"}
    api.error(api.post(f"/api/v1/leads/{lead['id']}/convert", {}), 409)


def test_contacts_and_companies(api: Api) -> None:
    company = api.ok(api.post("/api/v1/companies", {"name": "Acme", "address": "1 Main St"}), 201)
    contact = api.ok(api.post("/api/v1/contacts", {
        "first_name": "Dan", "phones": ["(202) 555-0199"], "emails": ["DAN@Example.com"], "company_id": company["id"],
        "birthday": "1990-04-01", "custom": {"preferred_channel": "sms"},
    }), 201)
    assert contact["phones"] == ["+12025550199"] and contact["emails"] == ["dan@example.com"]
    assert api.ok(api.get("/api/v1/contacts", params={"phone": "202-555-0199"}))["items"][0]["id"] == contact["id"]
    assert api.ok(api.get("/api/v1/contacts", params={"preferred_channel": "sms"}))["items"][0]["id"] == contact["id"]
    assert api.ok(api.get("/api/v1/contacts", params={"birthday__lt": "2000-01-01"}))["items"]
    assert api.ok(api.get("/api/v1/companies", params={"name": "Acme"}))["items"][0]["id"] == company["id"]
    renamed = api.ok(api.patch(f"/api/v1/companies/{company['id']}", {"name": "Acme Inc"}))
    assert renamed["name"] == "Acme Inc" and renamed["version"] == 2
    api.error(api.patch(f"/api/v1/contacts/{contact['id']}", {"custom": {"preferred_channel": "fax"}}), 422,
              "custom.preferred_channel")
    cleared = api.ok(api.patch(f"/api/v1/contacts/{contact['id']}", {"custom": {"preferred_channel": None}}))
    assert cleared["custom"] == {}


def test_deals_lifecycle_custom_fields_and_history(api: Api) -> None:
    deal = api.ok(api.post("/api/v1/deals", {"title": "Smith windows", "amount": "1200.50",
                                             "custom": {"window_count": 4, "customer_kind": "person"}}), 201)
    assert deal["stage"] == "collecting_data" and deal["custom"] == {"window_count": 4, "customer_kind": "person"}
    api.ok(api.post("/api/v1/deals", {"title": "Small", "custom": {"window_count": 1}}), 201)
    big = api.ok(api.get("/api/v1/deals", params={"window_count__gte": "2"}))["items"]
    assert [d["id"] for d in big] == [deal["id"]]
    moved = api.ok(api.post(f"/api/v1/deals/{deal['id']}/move", {"stage": "proposal_sent"}))
    assert moved["stage"] == "proposal_sent" and moved["version"] == 2
    assert [d["id"] for d in api.ok(api.get("/api/v1/deals", params={"stage": "proposal_sent"}))["items"]] == [deal["id"]]
    assert len(api.ok(api.get("/api/v1/deals", params={"pipeline": "sales"}))["items"]) == 2
    api.error(api.post(f"/api/v1/deals/{deal['id']}/lose", {}), 422, "reason")
    won = api.ok(api.post(f"/api/v1/deals/{deal['id']}/win", None))
    assert won["status"] == "won" and won["closed_at"]
    history = api.ok(api.get(f"/api/v1/deals/{deal['id']}/history"))["items"]
    assert [(h["from_stage"], h["to_stage"]) for h in history] == [
        (None, "collecting_data"), ("collecting_data", "proposal_sent"), ("proposal_sent", "won")]
    other = api.ok(api.get("/api/v1/deals", params={"status": "open"}))["items"][0]
    lost = api.ok(api.post(f"/api/v1/deals/{other['id']}/lose", {"reason_text": "went silent"}))
    assert lost["status"] == "lost" and lost["lost_reason"] == "went silent"


def test_cursor_pagination_is_stable_and_bounded(api: Api) -> None:
    for i in range(5):
        api.ok(api.post("/api/v1/companies", {"name": f"C{i}"}), 201)
    seen, cursor = [], None
    while True:
        page = api.ok(api.get("/api/v1/companies", params={"limit": 2, **({"cursor": cursor} if cursor else {})}))
        seen += [c["name"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"C{i}" for i in range(5)]
    api.error(api.get("/api/v1/companies", params={"limit": 501}), 422, "limit")
    api.error(api.get("/api/v1/companies", params={"limit": 0}), 422, "limit")
    api.error(api.get("/api/v1/companies", params={"cursor": "9" * 40}), 422, "cursor")


def test_tasks_actions_and_overdue(api: Api, clock: FrozenClock) -> None:
    user = api.crm.users.create(email="m@windows.example", name="Measurer", role="manager")
    deal = api.ok(api.post("/api/v1/deals", {"title": "D"}), 201)
    task = api.ok(api.post("/api/v1/tasks", {"title": "Measure", "due_at": "2026-01-06T10:00:00Z",
                                             "entity_type": "deal", "entity_id": deal["id"]}), 201)
    assert task["status"] == "open" and task["due_at"].startswith("2026-01-06T10:00:00")
    assert api.ok(api.get("/api/v1/tasks", params={"overdue": "true"}))["items"] == []
    clock.advance(days=2)
    assert [t["id"] for t in api.ok(api.get("/api/v1/tasks", params={"overdue": "true"}))["items"]] == [task["id"]]
    reassigned = api.ok(api.post(f"/api/v1/tasks/{task['id']}/reassign", {"assignee_id": user.id}))
    assert reassigned["assignee_id"] == user.id
    assert api.ok(api.get("/api/v1/tasks", params={"assignee_id": user.id}))["items"][0]["id"] == task["id"]
    edited = api.ok(api.patch(f"/api/v1/tasks/{task['id']}", {"description": "bring the laser"}))
    assert edited["description"] == "bring the laser"
    done = api.ok(api.post(f"/api/v1/tasks/{task['id']}/complete"))
    assert done["status"] == "done"
    api.error(api.post(f"/api/v1/tasks/{task['id']}/complete"), 409, "status")
    other = api.ok(api.post("/api/v1/tasks", {"title": "Call back"}), 201)
    assert api.ok(api.post(f"/api/v1/tasks/{other['id']}/cancel"))["status"] == "cancelled"
    api.error(api.post("/api/v1/tasks", {"title": "x", "due_at": "2026-01-06T10:00:00"}), 422, "due_at")


def test_notes_and_timeline(api: Api) -> None:
    deal = api.ok(api.post("/api/v1/deals", {"title": "D"}), 201)
    note = api.ok(api.post("/api/v1/notes", {"entity_type": "deal", "entity_id": deal["id"], "body": "Called."}), 201)
    assert api.ok(api.get(f"/api/v1/notes/{note['id']}"))["body"] == "Called."
    listed = api.ok(api.get("/api/v1/notes", params={"entity_type": "deal", "entity_id": deal["id"]}))
    assert [n["id"] for n in listed["items"]] == [note["id"]]
    api.error(api.post("/api/v1/notes", {"entity_type": "deal", "entity_id": 999, "body": "x"}), 422, "entity_id")
    events = api.ok(api.get(f"/api/v1/timeline/deal/{deal['id']}"))["items"]
    assert [e["type"] for e in events] == ["deal.created", "note.added"]
    assert events[0]["actor_id"] == api.admin_id
    api.error(api.get("/api/v1/timeline/deal/999"), 404)
    api.error(api.get("/api/v1/timeline/spaceship/1"), 404)
    audit = api.ok(api.get("/api/v1/events", params={"type": "deal.created", "limit": 1}))
    assert audit["items"][0]["entity_id"] == deal["id"]


def test_pipelines_and_lost_reasons(api: Api) -> None:
    pipelines = api.ok(api.get("/api/v1/pipelines"))["items"]
    assert {"leads", "sales", "deferred"} <= {p["key"] for p in pipelines}
    sales = api.ok(api.get("/api/v1/pipelines/sales"))
    assert sales["stages"][0]["key"] == "collecting_data"
    stages = api.ok(api.get("/api/v1/pipelines/sales/stages"))["items"]
    assert [s["kind"] for s in stages][-2:] == ["won", "lost"]
    api.error(api.get("/api/v1/pipelines/nope"), 404)
    reasons = api.ok(api.get("/api/v1/lost-reasons"))["items"]
    assert "too_expensive" in {r["key"] for r in reasons}


def test_users_me_admin_only_writes_and_passwords(api: Api) -> None:
    me = api.ok(api.get("/api/v1/users/me"))
    assert me["id"] == api.admin_id and me["role"] == "admin"
    made = api.ok(api.post("/api/v1/users", {"email": "Mia@Windows.example", "name": "Mia", "role": "manager",
                                             "password": "correct horse"}), 201)
    assert made["email"] == "mia@windows.example" and "password" not in made
    from crmkit.core import auth

    assert auth.check_password(api.crm, "mia@windows.example", "correct horse") is not None
    api.error(api.post("/api/v1/users", {"email": "mia@windows.example", "name": "Again"}), 409, "email")
    manager = api.token_for(made["id"])
    api.error(api.client.post("/api/v1/users", json={"email": "x@y.example", "name": "X"}, headers=manager), 403)
    api.error(api.client.patch(f"/api/v1/users/{made['id']}", json={"role": "admin"}, headers=manager), 403)
    api.error(api.client.post(f"/api/v1/users/{made['id']}/password", json={"password": "new password!"},
                              headers=manager), 422, "current_password")
    api.ok(api.client.post(f"/api/v1/users/{made['id']}/password",
                           json={"password": "new password!", "current_password": "correct horse"}, headers=manager))
    assert auth.check_password(api.crm, "mia@windows.example", "new password!") is not None
    api.error(api.client.post(f"/api/v1/users/{api.admin_id}/password", json={"password": "hijacked!!"},
                              headers=manager), 403)
    api.error(api.client.post(f"/api/v1/users/{made['id']}/password", json={"password": "short"}, headers=manager),
              422, "password")
    promoted = api.ok(api.patch(f"/api/v1/users/{made['id']}", {"role": "head", "team": "north"}))
    assert promoted["role"] == "head" and promoted["team"] == "north"
    assert [u["email"] for u in api.ok(api.get("/api/v1/users", params={"role": "head"}))["items"]] == [made["email"]]


def test_tokens_create_list_revoke(api: Api) -> None:
    from crmkit.core import auth

    api.error(api.post("/api/v1/tokens", {"name": "zapier"}), 422, "password")
    auth.set_password(api.crm, api.admin_id, "admin password")
    created = api.ok(api.post("/api/v1/tokens", {"name": "zapier", "password": "admin password"}), 201)
    secret = created["secret"]
    assert secret.startswith("crmk_") and created["token"]["prefix"] == secret[:12]
    listed = api.ok(api.get("/api/v1/tokens"))["items"]
    assert created["token"]["id"] in {t["id"] for t in listed} and all("secret" not in t for t in listed)
    other = {"Authorization": f"Bearer {secret}"}
    assert api.ok(api.client.get("/api/v1/users/me", headers=other))["id"] == api.admin_id
    api.ok(api.client.delete(f"/api/v1/tokens/{created['token']['id']}"))
    api.error(api.client.get("/api/v1/users/me", headers=other), 401)
    api.error(api.client.delete("/api/v1/tokens/9999"), 404)
