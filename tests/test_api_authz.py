"""The authorization matrix through HTTP: role x resource x action.

One deployment per role (the ``example`` plugin adds the ``measurer`` role), the
same cards in each:

=========  ======================================================================
user       who
=========  ======================================================================
admin      sees and changes everything, manages users
head_a     head of team A (m_a1, m_a2 are in team A; m_b in team B)
m_a1       manager in team A; lead ld_b (of m_b) is shared with m_a1
m_a2       manager in team A
m_b        manager in team B
measurer   plugin role, scope ``assigned_tasks``: tk_meas on dl_a2 is assigned to them
=========  ======================================================================

Cards (suffix = responsible user): leads ld_a1, ld_a2, ld_b, ld_free (unassigned);
contacts ct_*, companies co_*, deals dl_* (dl_a1 -> ct_a1, co_a1, ...); tasks tk_*
(assigned to the deal's manager, on that deal) and tk_meas (on dl_a2, assigned to
the measurer by head_a); notes nt_* (by the deal's manager, on that deal).

:data:`LISTS` says exactly which cards each role's lists return (walked page by
page); :data:`MATRIX` gives the status of every (request, role) cell, run in
order as that role. After each write the audit log (``GET /events``, read as the
admin) must hold new events, all by the acting user; after a refused write, none.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Iterator

import attrs
import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from crmkit import Crm, schema
from crmkit.core import auth
from crmkit.testing import template
from crmkit.web import create_app

ROLES = ("admin", "head_a", "m_a1", "m_a2", "m_b", "measurer")
USERS = {  # name: (role, team)
    "admin": ("admin", None), "head_a": ("head", "A"), "m_a1": ("manager", "A"), "m_a2": ("manager", "A"),
    "m_b": ("manager", "B"), "measurer": ("measurer", None),
}

# -- what each role's lists return, exactly (names of the world's cards) -------------------------
#                        admin                          head_a                m_a1               m_a2                m_b           measurer
LISTS: dict[str, tuple[str, ...]] = {
    "/leads":       ("ld_a1 ld_a2 ld_b ld_free",    "ld_a1 ld_a2 ld_free", "ld_a1 ld_b ld_free", "ld_a2 ld_free", "ld_b ld_free", ""),
    "/contacts":    ("ct_a1 ct_a2 ct_b",            "ct_a1 ct_a2",         "ct_a1",              "ct_a2",         "ct_b",         "ct_a2"),
    "/companies":   ("co_a1 co_a2 co_b",            "co_a1 co_a2",         "co_a1",              "co_a2",         "co_b",         ""),
    "/deals":       ("dl_a1 dl_a2 dl_b",            "dl_a1 dl_a2",         "dl_a1",              "dl_a2",         "dl_b",         "dl_a2"),
    "/tasks":       ("tk_a1 tk_a2 tk_b tk_meas tk_x", "tk_a1 tk_a2 tk_meas", "tk_a1",              "tk_a2 tk_meas", "tk_b",         "tk_meas"),
    "/notes":       ("nt_a1 nt_a2 nt_b",            "nt_a1 nt_a2",         "nt_a1",              "nt_a2",         "nt_b",         "nt_a2"),
    # filters never widen what a role sees
    "/deals?responsible_id={m_a2}":               ("dl_a2", "dl_a2", "", "dl_a2", "", "dl_a2"),
    "/deals?stage=collecting_data&order=-title":  ("dl_a1 dl_a2 dl_b", "dl_a1 dl_a2", "dl_a1", "dl_a2", "dl_b", "dl_a2"),
    "/contacts?first_name__ne=x":                 ("ct_a1 ct_a2 ct_b", "ct_a1 ct_a2", "ct_a1", "ct_a2", "ct_b", "ct_a2"),
    "/tasks?entity_type=deal&entity_id={dl_a2}":  ("tk_a2 tk_meas", "tk_a2 tk_meas", "", "tk_a2 tk_meas", "", "tk_meas"),
    "/tasks?assignee_id={m_b}":                   ("tk_b", "", "", "", "tk_b", ""),
    "/notes?entity_type=deal&entity_id={dl_b}":   ("nt_b", "", "", "", "nt_b", ""),
    "/leads?responsible_id={m_b}":                ("ld_b", "", "ld_b", "", "ld_b", ""),
    # everybody sees their colleagues; tokens are one's own
    "/users":       ("admin head_a m_a1 m_a2 m_b measurer",) * 6,
    "/tokens":      ("main old spare",) * 6,
}

# -- every cell: (method, path, body) -> status per role, run in this order ------------------------
# Reads first, then writes in an order valid for whoever may make them (move, lose, then win
# reopens; convert last). Statuses: the role's column. "{name}" is the id of that card or user.
PASSWORD = "the world's password"
R = "200"  # (column layout:)                                      admin head_a m_a1 m_a2 m_b  measurer
# A card one may not see answers exactly like a missing one (404; 422 when it is linked in a
# body): no existence oracle. 403 is for a card one sees but may not change.
DL_A1, DL_A2, DL_B = "200 200 200 404 404 404", "200 200 404 200 404 200", "200 404 404 404 200 404"
# the measurer reads dl_a2 through the task assigned to them: a read-only grant
DL_A2_W = CT_A2_W = "200 200 404 200 404 403"
LD_A1, LD_A2, LD_B = "200 200 200 404 404 404", "200 200 404 200 404 404", "200 404 200 404 200 404"
CT_A1, CT_A2, CT_B = DL_A1, DL_A2, DL_B  # contacts follow their deals
CO_A1, CO_A2, CO_B = DL_A1, "200 200 404 200 404 404", DL_B  # the measurer sees no companies
NT_A1, NT_A2, NT_B = DL_A1, DL_A2, DL_B  # notes follow the cards they are on
TK_A1, TK_A2, TK_B = DL_A1, "200 200 404 200 404 404", DL_B
TK_MEAS = "200 200 404 200 404 200"
# losing a deal cancels its open tasks (issue 13): where the role lost the task's deal above, completing is 409
DONE = {"tk_a1": "409 409 409 404 404 404", "tk_a2": "409 409 404 409 404 404", "tk_b": "409 404 404 404 409 404",
        "tk_meas": "409 409 404 409 404 200"}
ALL, ADMIN_ONLY = "200 200 200 200 200 200", "200 403 403 403 403 403"


def created(row: str) -> str:
    """A row for a POST that creates: 201 where the role may (200 in ``row``)."""
    return row.replace("200", "201")


def linked(row: str) -> str:
    """A row for a POST creating something linked to the card of ``row``: 201 where the role may
    see the card, 422 (as for an id that does not exist) where it may not."""
    return created(row).replace("404", "422")


MATRIX: list[tuple[str, str, Any, str]] = [
    # ---- deals: read, export-like reads (history, timeline, notes, tasks), write, actions
    *[(m, p.format(d="{%s}" % d), b, row) for d, row in (("dl_a1", DL_A1), ("dl_a2", DL_A2), ("dl_b", DL_B))
      for m, p, b in (
          ("GET", "/deals/{d}", None),
          ("GET", "/deals/{d}/history", None),
          ("GET", "/timeline/deal/{d}", None),
      )],
    ("GET", "/deals/2000000", None, "404 404 404 404 404 404"),
    ("GET", "/timeline/deal/2000000", None, "404 404 404 404 404 404"),
    ("POST", "/deals", {"title": "New deal"}, created(ALL)),
    *[(m, p.format(d="{%s}" % d), b, row if m != "POST" or not p.endswith("/notes") else created(row))
      for d, row in (("dl_a1", DL_A1), ("dl_a2", DL_A2_W), ("dl_b", DL_B))
      for m, p, b in (
          ("PATCH", "/deals/{d}", {"title": "Renamed", "amount": "100.00"}),
          ("POST", "/deals/{d}/move", {"stage": "proposal_sent"}),
          ("POST", "/deals/{d}/lose", {"reason_text": "went quiet"}),
          ("POST", "/deals/{d}/win", {}),
      )],
    # notes and tasks on a card: only on cards one sees
    ("POST", "/notes", {"entity_type": "deal", "entity_id": "{dl_a1}", "body": "hi"}, linked(DL_A1)),
    ("POST", "/notes", {"entity_type": "deal", "entity_id": "{dl_b}", "body": "hi"}, linked(DL_B)),
    ("POST", "/notes", {"entity_type": "lead", "entity_id": "{ld_a2}", "body": "hi"}, linked(LD_A2)),
    ("POST", "/tasks", {"title": "Call", "entity_type": "deal", "entity_id": "{dl_a2}"}, linked(DL_A2_W)),
    ("POST", "/tasks", {"title": "Call", "entity_type": "company", "entity_id": "{co_b}"}, linked(CO_B)),
    ("POST", "/notes", {"entity_type": "deal", "entity_id": 2000000, "body": "hi"}, "422 422 422 422 422 422"),
    # ---- links to cards one may not see are refused: they would open the linked card
    ("POST", "/deals", {"title": "Link", "contact_id": "{ct_b}"}, linked(CT_B)),
    ("POST", "/deals", {"title": "Link", "company_id": "{co_a2}"}, linked(CO_A2)),
    ("POST", "/deals", {"title": "Link", "lead_id": "{ld_b}"}, linked(LD_B)),
    ("POST", "/contacts", {"first_name": "Link", "company_id": "{co_b}"}, linked(CO_B)),
    ("POST", "/leads", {"title": "Link", "contact_id": "{ct_a1}"}, linked(CT_A1)),
    ("PATCH", "/leads/{ld_free}", {"contact_id": "{ct_b}"}, "200 422 422 422 200 404"),
    ("PATCH", "/deals/{dl_a2}", {"contact_id": "{ct_a1}"}, "200 200 404 422 404 403"),
    # ---- leads
    *[(m, p.format(d="{%s}" % d), b, row) for d, row in (("ld_a1", LD_A1), ("ld_a2", LD_A2), ("ld_b", LD_B))
      for m, p, b in (
          ("GET", "/leads/{d}", None),
          ("GET", "/timeline/lead/{d}", None),
          ("PATCH", "/leads/{d}", {"company_name": "Acme"}),
          ("POST", "/leads/{d}/move", {"stage": "qualifying"}),
          ("POST", "/leads/{d}/convert", {}),
      )],
    ("POST", "/leads", {"title": "Walk-in"}, created(ALL)),
    ("POST", "/leads/{ld_free}/reject", {"reason_text": "spam"}, "200 200 200 200 200 404"),
    # ---- contacts and companies
    *[(m, p.format(d="{%s}" % d), b, row if m == "GET" or d != "ct_a2" else CT_A2_W)
      for d, row, kind in (("ct_a1", CT_A1, "contact"), ("ct_a2", CT_A2, "contact"), ("ct_b", CT_B, "contact"),
                           ("co_a1", CO_A1, "company"), ("co_a2", CO_A2, "company"), ("co_b", CO_B, "company"))
      for m, p, b in (
          ("GET", f"/{'contacts' if kind == 'contact' else 'companies'}/{{d}}", None),
          ("GET", f"/timeline/{kind}/{{d}}", None),
          ("PATCH", f"/{'contacts' if kind == 'contact' else 'companies'}/{{d}}",
           {"last_name": "Changed"} if kind == "contact" else {"address": "2 Main St"}),
      )],
    ("POST", "/contacts", {"first_name": "New"}, created(ALL)),
    ("POST", "/companies", {"name": "NewCo"}, created(ALL)),
    # ---- notes
    ("GET", "/notes/{nt_a1}", None, NT_A1),
    ("GET", "/notes/{nt_a2}", None, NT_A2),
    ("GET", "/notes/{nt_b}", None, NT_B),
    # ---- tasks
    *[(m, p.format(d="{%s}" % d), b, DONE[d] if p.endswith("/complete") else row)
      for d, row in (("tk_a1", TK_A1), ("tk_a2", TK_A2), ("tk_b", TK_B), ("tk_meas", TK_MEAS))
      for m, p, b in (
          ("GET", "/tasks/{d}", None),
          ("GET", "/timeline/task/{d}", None),
          ("PATCH", "/tasks/{d}", {"description": "bring the ladder"}),
          ("POST", "/tasks/{d}/complete", None),
      )],
    ("POST", "/tasks/{tk_x}/reassign", {"assignee_id": "{m_b}"}, "200 404 404 404 404 404"),
    ("POST", "/tasks/{tk_x}/cancel", None, "200 404 404 404 404 404"),  # the creator still sees it
    ("POST", "/tasks", {"title": "Mine"}, created(ALL)),
    # ---- the audit log and users
    ("GET", "/events", None, ADMIN_ONLY),
    ("GET", "/timeline/user/{m_b}", None, ADMIN_ONLY),
    ("GET", "/users/{m_b}", None, ALL),
    ("GET", "/users/me", None, ALL),
    ("POST", "/users", {"email": "new@x.example", "name": "New"}, "201 403 403 403 403 403"),
    ("PATCH", "/users/{m_b}", {"name": "Bea"}, ADMIN_ONLY),
    ("PATCH", "/users/{m_b}", {"role": "admin"}, ADMIN_ONLY),
    # ---- tokens: one's own only (another user's token is not found); making one takes the password
    ("POST", "/tokens", {"name": "extra"}, "422 422 422 422 422 422"),
    ("POST", "/tokens", {"name": "extra", "password": PASSWORD}, created(ALL)),
    ("DELETE", "/tokens/{old_of_m_a2}", None, "404 404 404 200 404 404"),
    ("DELETE", "/tokens/{spare}", None, ALL),
    # one's own password with the current one (after the tokens: they take it); an admin sets another's without it
    ("POST", "/users/{m_b}/password", {"password": "correct horse battery", "current_password": PASSWORD},
     "200 403 403 403 200 403"),
    # ---- plugin routes: behind the token (any role), public ones open
    ("GET", "/example/hello", None, ALL),
    ("POST", "/example/webhook", {}, ALL),
]


@attrs.define
class World:
    crm: Crm
    client: TestClient
    ids: dict[str, int]  # card, user and token names -> ids
    names: dict[tuple[str, int], str]  # (resource, id) -> name
    headers: dict[str, dict[str, str]]  # user name -> Authorization header

    def resolve(self, value: Any, role: str) -> Any:
        """``"{name}"`` -> the id of ``name`` (``{spare}``: the acting user's spare token)."""
        if isinstance(value, dict):
            return {k: self.resolve(v, role) for k, v in value.items()}
        if isinstance(value, str):
            ids = {**self.ids, "spare": self.ids[f"spare_of_{role}"]}
            whole = re.fullmatch(r"\{(\w+)\}", value)
            if whole:
                return ids[whole.group(1)]
            return re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), value)
        return value


def _no_automatic_tasks() -> list[dict[str, Any]]:
    """The template's pipelines without automatic tasks (so the task lists hold only the world's)."""
    pipelines = copy.deepcopy(template()["pipelines"])
    for p in pipelines:
        for stage in p["stages"]:
            stage.pop("tasks", None)
    return pipelines


def build_world(crm: Crm) -> World:
    ids: dict[str, int] = {}
    names: dict[tuple[str, int], str] = {}

    def keep(resource: str, name: str, card: Any) -> None:
        ids[name] = card.id
        names[(resource, card.id)] = name

    for name, (role, team) in USERS.items():
        keep("users", name, crm.users.create(email=f"{name}@x.example", name=name, role=role, team=team))
        auth.set_password(crm, ids[name], PASSWORD)
    headers = {}
    for name in USERS:
        token, secret = auth.create_token(crm, ids[name], "main")
        for extra in ("old", "spare"):
            other, _ = auth.create_token(crm, ids[name], extra)
            names[("tokens", other.id)] = extra
            ids[f"{extra}_of_{name}"] = other.id
        names[("tokens", token.id)] = "main"
        headers[name] = {"Authorization": f"Bearer {secret}"}
    for owner in ("a1", "a2", "b"):
        me = crm.as_user(ids[f"m_{owner}"])
        keep("leads", f"ld_{owner}", me.leads.create(title=f"lead {owner}", responsible_id=ids[f"m_{owner}"]))
        keep("companies", f"co_{owner}", me.companies.create(name=f"company {owner}"))
        keep("contacts", f"ct_{owner}", me.contacts.create(first_name=f"contact {owner}", company_id=ids[f"co_{owner}"]))
        keep("deals", f"dl_{owner}", me.deals.create(title=f"deal {owner}", contact_id=ids[f"ct_{owner}"],
                                                      company_id=ids[f"co_{owner}"]))
        keep("tasks", f"tk_{owner}", me.tasks.add(title=f"task {owner}", assignee_id=ids[f"m_{owner}"],
                                                   entity_type="deal", entity_id=ids[f"dl_{owner}"]))
        keep("notes", f"nt_{owner}", me.notes.add("deal", ids[f"dl_{owner}"], f"note {owner}"))
    keep("leads", "ld_free", crm.leads.create(title="web request", source="web_form"))
    keep("tasks", "tk_meas", crm.as_user(ids["head_a"]).tasks.add(
        title="measure", assignee_id=ids["measurer"], entity_type="deal", entity_id=ids["dl_a2"]))
    crm.as_user(ids["m_b"]).leads.share(ids["ld_b"], ids["m_a1"])
    # a task of the admin's, not on a card: only the admin sees it (then reassigns it to m_b)
    keep("tasks", "tk_x", crm.as_user(ids["admin"]).tasks.add(title="admin's own", assignee_id=ids["admin"]))
    client = TestClient(create_app(crm))
    return World(crm, client, ids, names, headers)


@pytest.fixture
def world(make_crm: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setattr(auth, "password_cost", auth.TEST_COST)  # 6 passwords per world
    crm = make_crm(plugins=["example"], pipelines=_no_automatic_tasks())
    built = build_world(crm)
    with built.client:
        yield built


def _walk(world: World, role: str, url: str) -> list[str]:
    """Every item of a list, two per page, as names (an item outside the world shows as-is)."""
    path, _, query = url.partition("?")
    resource = path.strip("/").split("/")[0]
    names: list[str] = []
    cursor = None
    for _ in range(50):
        params = dict(p.split("=", 1) for p in query.split("&") if p)
        if resource != "tokens":
            params["limit"] = "2"
        if cursor:
            params["cursor"] = cursor
        r = world.client.get(f"/api/v1{path}", params=params, headers=world.headers[role])
        assert r.status_code == 200, (role, url, r.text)
        page = r.json()
        names += [world.names.get((resource, item["id"]), f"#{item['id']}") for item in page["items"]]
        cursor = page.get("next_cursor")
        if not cursor:
            return names
    raise AssertionError(f"{url}: more than 50 pages")


def _last_event_id(crm: Crm) -> int:
    with crm.engine.connect() as conn:
        return int(conn.scalar(select(func.max(schema.events.c.id))) or 0)


def _events_since(world: World, after: int) -> list[dict[str, Any]]:
    """The audit log after event ``after``, read through the API as the admin."""
    r = world.client.get("/api/v1/events", params={"cursor": str(after), "limit": "500"},
                         headers=world.headers["admin"])
    assert r.status_code == 200, r.text
    return r.json()["items"]  # type: ignore[no-any-return]


def test_matrix_is_well_formed() -> None:
    for url, row in LISTS.items():
        assert len(row) == len(ROLES), url
    for method, path, _, row in MATRIX:
        statuses = row.split()
        assert len(statuses) == len(ROLES) and all(s in {"200", "201", "403", "404", "409", "422"} for s in statuses), \
            (method, path, row)


@pytest.mark.parametrize("role", ROLES)
def test_authorization_matrix(world: World, role: str) -> None:
    uid = world.ids[role]
    # lists: exactly the visible cards, across pages
    wrong = []
    for url, row in LISTS.items():
        expected = sorted(row[ROLES.index(role)].split())
        got = _walk(world, role, world.resolve(url, role))
        if sorted(got) != expected or len(set(got)) != len(got):
            wrong.append(f"GET {url}: expected {expected}, got {got}")
    # every cell, in order; writes leave events by the acting user, refused ones leave none
    for method, path, body, row in MATRIX:
        expected_status = int(row.split()[ROLES.index(role)])
        url = "/api/v1" + world.resolve(path, role)
        payload = world.resolve(body, role)
        before = _last_event_id(world.crm)
        headers = {} if path.endswith("/webhook") else world.headers[role]
        r = world.client.request(method, url, json=payload, headers=headers)
        cell = f"{method} {path} {body or ''}"
        if r.status_code != expected_status:
            wrong.append(f"{cell}: expected {expected_status}, got {r.status_code} {r.text[:200]}")
            continue
        if r.status_code >= 400:
            assert r.json()["error"]["code"], cell
        if method == "GET" or path.startswith("/example/"):
            continue
        events = _events_since(world, before)
        if r.status_code < 300:
            if not events:
                wrong.append(f"{cell}: no event recorded")
            elif {e["actor_id"] for e in events} != {uid}:
                wrong.append(f"{cell}: events attributed to {[(e['type'], e['actor_id']) for e in events]}, not {uid}")
        elif events:
            wrong.append(f"{cell}: refused ({r.status_code}) but wrote {[e['type'] for e in events]}")
    assert not wrong, f"{role}:\n" + "\n".join(wrong)


def test_plugin_route_sees_the_tokens_user_and_needs_a_token(world: World) -> None:
    for role in ROLES:
        r = world.client.get("/api/v1/example/hello", headers=world.headers[role])
        assert r.json()["user_id"] == world.ids[role]
    r = world.client.get("/api/v1/example/hello")
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"


def test_timeline_shows_who_did_what(world: World) -> None:
    """Every write is attributed to its user in the card's timeline."""
    c, ids, h = world.client, world.ids, world.headers
    assert c.patch(f"/api/v1/deals/{ids['dl_a2']}", json={"title": "Bay"}, headers=h["m_a2"]).status_code == 200
    assert c.post(f"/api/v1/deals/{ids['dl_a2']}/move", json={"stage": "proposal_sent"},
                  headers=h["head_a"]).status_code == 200
    assert c.post("/api/v1/notes", json={"entity_type": "deal", "entity_id": ids["dl_a2"], "body": "measured"},
                  headers=h["measurer"]).status_code == 201
    assert c.post(f"/api/v1/tasks/{ids['tk_meas']}/complete", headers=h["measurer"]).status_code == 200
    timeline = c.get(f"/api/v1/timeline/deal/{ids['dl_a2']}", headers=h["m_a2"]).json()["items"]
    by_type = [(e["type"], e["actor_id"]) for e in timeline]
    assert by_type == [("deal.created", ids["m_a2"]), ("task.created", ids["m_a2"]), ("note.added", ids["m_a2"]),
                       ("task.created", ids["head_a"]), ("deal.updated", ids["m_a2"]),
                       ("deal.stage_changed", ids["head_a"]), ("note.added", ids["measurer"]),
                       ("task.completed", ids["measurer"])]  # its tasks' activity too (issue 13)
    task = c.get(f"/api/v1/timeline/task/{ids['tk_meas']}", headers=h["measurer"]).json()["items"]
    assert [(e["type"], e["actor_id"]) for e in task] == [("task.created", ids["head_a"]),
                                                          ("task.completed", ids["measurer"])]


def test_converting_a_lead_cannot_reach_invisible_cards(world: World) -> None:
    """The conversion's nested deal and contact are links too."""
    c, ids, h = world.client, world.ids, world.headers
    for body, field in (({"deal": {"contact_id": ids["ct_b"]}}, "deal.contact_id"),
                        ({"deal": {"lead_id": ids["ld_a2"]}}, "deal.lead_id"),
                        ({"contact": {"first_name": "X", "company_id": ids["co_b"]}}, "contact.company_id")):
        r = c.post(f"/api/v1/leads/{ids['ld_free']}/convert", json=body, headers=h["m_a1"])
        assert r.status_code == 422 and r.json()["error"]["field"] == field, r.text
        assert r.json()["error"]["message"].endswith("does not exist")  # as for an id that does not exist
    r = c.post(f"/api/v1/leads/{ids['ld_free']}/convert", json={"deal": {"company_id": ids["co_a1"]}},
               headers=h["m_a1"])
    assert r.status_code == 200, r.text


def test_unchanged_link_may_be_sent_back(world: World) -> None:
    """A lead linked to a colleague's contact (by that colleague) can still be edited with its record sent back."""
    crm, c, ids, h = world.crm, world.client, world.ids, world.headers
    crm.as_user(ids["m_b"]).contacts.update(ids["ct_b"], {"phones": ["+12025550123"]})
    lead = crm.as_user(ids["m_b"]).leads.create(title="repeat request", contact_id=ids["ct_b"],
                                               responsible_id=ids["m_a1"], source="call")
    r = c.patch(f"/api/v1/leads/{lead.id}", json={"contact_id": ids["ct_b"], "title": "repeat"}, headers=h["m_a1"])
    assert r.status_code == 200, r.text


def test_notes_on_tasks_follow_the_task(world: World) -> None:
    """A note on a task is read by whoever sees the task; an author always reads their own note."""
    c, ids, h = world.client, world.ids, world.headers
    r = c.post("/api/v1/notes", json={"entity_type": "task", "entity_id": ids["tk_meas"], "body": "ladder needed"},
               headers=h["measurer"])
    assert r.status_code == 201, r.text
    note = r.json()["id"]
    for role, status in zip(ROLES, (200, 200, 404, 200, 404, 200)):
        assert c.get(f"/api/v1/notes/{note}", headers=h[role]).status_code == status, role
    listed = c.get("/api/v1/notes", params={"entity_type": "task"}, headers=h["m_a2"]).json()["items"]
    assert [n["id"] for n in listed] == [note]
