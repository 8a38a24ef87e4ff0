"""Exports, duplicates and merges over the HTTP API; duplicates returned with created and changed
cards; a merged-away id answering 410 with ``merged_into``; on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import load_workbook
from starlette.testclient import TestClient

from crmkit import Crm
from crmkit.testing import MakeCrm, auth_headers
from crmkit.web import create_app


def test_exports_stream_with_the_list_filters_and_record_rules(ru: Crm, admin: Any) -> None:
    mia = ru.users.create(email="mia@w.example", name="Mia", role="manager")
    hu = ru.users.create(email="hu@w.example", name="Hu", role="head")
    ru.contacts.create(first_name="=cmd()", last_name="Lee", phones=["+79161234567"], responsible_id=mia.id)
    ru.contacts.create(first_name="Bo", last_name="Lee", emails=["bo@x.example"], responsible_id=hu.id)
    ru.contacts.create(first_name="Cy", last_name="Day", responsible_id=hu.id)
    with TestClient(create_app(ru), headers=auth_headers(ru, admin.actor_id)) as client:
        r = client.get("/api/v1/exports/contacts?last_name=Lee")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        assert r.headers["x-total-count"] == "2" and 'filename="contacts.csv"' in r.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert [(x["first_name"], x["phones"], x["responsible"]) for x in rows] == [
            ("'=cmd()", "'+79161234567", "mia@w.example"), ("Bo", "", "hu@w.example")]
        r = client.get("/api/v1/exports/contacts?format=xlsx&first_name__ne=Bo")
        assert r.status_code == 200
        sheet = load_workbook(io.BytesIO(r.content), read_only=True).active
        values = [list(row) for row in sheet.iter_rows(values_only=True)]
        assert values[0][:3] == ["id", "first_name", "last_name"] and [v[1] for v in values[1:]] == ["=cmd()", "Cy"]
        r = client.get("/api/v1/exports/contacts?format=vcf&email=BO@x.example")  # the list's own `email` filter
        assert r.text.count("BEGIN:VCARD") == 1 and "EMAIL:bo@x.example" in r.text
        r = client.get("/api/v1/exports/contacts?format=vcf&last_name=Day")
        assert r.headers["content-type"].startswith("text/vcard") and r.text.count("BEGIN:VCARD") == 1
        assert "FN:Cy Day" in r.text
        assert client.get("/api/v1/exports/deals?format=vcf").json()["error"]["field"] == "format"
        assert client.get("/api/v1/exports/contacts?nope=1").json()["error"]["field"] == "nope"
        r = client.get("/api/v1/exports/contacts?last_name=Lee", headers=auth_headers(ru, mia.id))
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"  # no cards.export
        r = client.get("/api/v1/exports/contacts", headers=auth_headers(ru, hu.id))  # the head's team rules
        assert r.headers["x-total-count"] == str(ru.as_user(hu.id).contacts.count())
        assert client.get("/api/v1/exports/deals").text.startswith("\ufeffid,title,")


def test_duplicates_come_back_with_created_and_changed_cards(make_crm: MakeCrm) -> None:
    crm = make_crm()
    ada = crm.users.create(email="ada@w.example", name="Ada", role="admin")
    with TestClient(create_app(crm), headers=auth_headers(crm, ada.id)) as client:
        r = client.post("/api/v1/contacts", json={"first_name": "Ann", "phones": ["+12125550100"]})
        a = r.json()
        assert "likely-duplicates" not in r.headers
        r = client.post("/api/v1/contacts", json={"first_name": "Other", "phones": ["(212) 555-0100"]})
        assert r.status_code == 201 and r.headers["likely-duplicates"] == str(a["id"]) and r.headers["etag"] == '"1"'
        b = r.json()
        assert client.get(f"/api/v1/contacts/{b['id']}").json() == b  # the card, as a read gives it
        c = client.post("/api/v1/contacts", json={"first_name": "Cy", "emails": ["cy@x.example"]}).json()
        r = client.patch(f"/api/v1/contacts/{c['id']}", json={"emails": ["cy@x.example"], "phones": ["+12125550100"]})
        assert r.status_code == 200 and r.headers["likely-duplicates"] == f"{a['id']}, {b['id']}"
        r = client.patch(f"/api/v1/contacts/{c['id']}", json={"first_name": "Cyril"})
        assert r.headers["likely-duplicates"] == f"{a['id']}, {b['id']}"  # a name changed: checked again
        r = client.patch(f"/api/v1/contacts/{c['id']}", json={"birthday": "1990-01-02"})
        assert r.status_code == 200 and "likely-duplicates" not in r.headers  # no phone, e-mail or name changed
        assert client.get(f"/api/v1/contacts/{a['id']}/duplicates").json() == {"items": [b["id"], c["id"]]}
        groups = client.get("/api/v1/duplicates/contacts").json()["items"]
        assert groups == [{"by": "phone", "value": "+12125550100", "ids": [a["id"], b["id"], c["id"]]}]
        co = client.post("/api/v1/companies", json={"name": "Acme"}).json()
        assert client.post("/api/v1/companies", json={"name": "ACME"}).headers["likely-duplicates"] == str(co["id"])
        lead = client.post("/api/v1/leads", json={"title": "Call", "email": "x@y.example"}).json()
        r = client.post("/api/v1/leads", json={"title": "Again", "email": "X@y.example"})
        assert r.headers["likely-duplicates"] == str(lead["id"])
    strict = make_crm(settings={"duplicates": {"strict": True}})  # the same database, strict now
    with TestClient(create_app(strict), headers=auth_headers(strict, ada.id)) as client:
        r = client.post("/api/v1/contacts", json={"first_name": "Other", "phones": ["+1 212 555 0100"]})
        assert r.status_code == 409 and r.json()["error"]["field"] == "duplicates"
        assert strict.contacts.count() == 3


def test_merge_over_http_and_the_pointer_from_a_merged_away_id(make_crm: MakeCrm) -> None:
    crm = make_crm()
    ada = crm.users.create(email="ada@w.example", name="Ada", role="admin")
    with TestClient(create_app(crm), headers=auth_headers(crm, ada.id)) as client:
        keep = client.post("/api/v1/contacts", json={"first_name": "Ann", "phones": ["+12125550100"]}).json()
        gone = client.post("/api/v1/contacts", json={"first_name": "Anna", "last_name": "Lee",
                                                     "emails": ["ann@x.example"]}).json()
        deal = client.post("/api/v1/deals", json={"title": "Windows", "contact_id": gone["id"]}).json()
        r = client.post(f"/api/v1/contacts/{keep['id']}/merge", json={"ids": [gone["id"]],
                                                                       "fields": {"first_name": gone["id"]}})
        assert r.status_code == 200, r.text
        assert (r.json()["first_name"], r.json()["last_name"], r.json()["emails"]) == ("Anna", "Lee", ["ann@x.example"])
        assert client.get(f"/api/v1/deals/{deal['id']}").json()["contact_id"] == keep["id"]
        r = client.get(f"/api/v1/contacts/{gone['id']}")
        assert r.status_code == 410 and r.headers["location"] == f"/api/v1/contacts/{keep['id']}"
        assert r.json()["error"] == {"code": "merged", "message": f"contact {gone['id']} was merged into contact "
                                     f"{keep['id']}", "field": "id", "merged_into": keep["id"]}
        r = client.patch(f"/api/v1/contacts/{gone['id']}", json={"first_name": "X"})
        assert r.status_code == 410 and r.json()["error"]["merged_into"] == keep["id"]
        assert client.get(f"/api/v1/contacts/{keep['id']}").status_code == 200
        r = client.post(f"/api/v1/contacts/{keep['id']}/merge", json={"ids": [keep["id"]]})
        assert r.status_code == 422 and r.json()["error"]["field"] == "ids"
        r = client.post(f"/api/v1/contacts/{keep['id']}/merge", json={"ids": [gone["id"]]})
        assert r.status_code == 422  # archived (merged) already: nothing merged twice
        a = client.post("/api/v1/companies", json={"name": "Acme"}).json()
        b = client.post("/api/v1/companies", json={"name": "Acme Inc", "address": "1 Main St"}).json()
        r = client.post(f"/api/v1/companies/{a['id']}/merge", json={"ids": [b["id"]]})
        assert r.json()["address"] == "1 Main St"
        assert client.get(f"/api/v1/companies/{b['id']}").json()["error"]["merged_into"] == a["id"]
        doc = client.get("/api/v1/openapi.json").json()
        assert "410" in doc["paths"]["/api/v1/contacts/{id}"]["get"]["responses"]
        assert "Likely-Duplicates" in doc["paths"]["/api/v1/contacts"]["post"]["responses"]["201"]["headers"]
