"""The import job over the HTTP API: upload, the mapping step, a dry run, the import in the background
with its progress, the counts, the rejects CSV, undo -- and every refusal a 4xx naming the field; on
SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import Any, Callable

import pytest
from starlette.testclient import TestClient

from crmkit import Crm
from crmkit.testing import MakeCrm, auth_headers
from crmkit.transfer.jobs import upload_folder
from crmkit.web import create_app

CSV = ("Имя;Фамилия;Телефон;E-Mail;Notes\r\n"
       "Анна;Ли;8 (916) 123-45-67;ANN@x.example;vip\r\n"
       "Борис;Дей;+7 916 1234568;bo@x.example;\r\n"
       "Bad;Phone;12;;\r\n"
       "Анна Б;Ли;+7 916 123-45-67;;same phone as row 1\r\n")


def wait(client: TestClient, ident: int, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        body = client.get(f"/api/v1/imports/{ident}").json()
        if done(body):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


@pytest.fixture
def client(ru: Crm, admin: Any) -> Any:
    with TestClient(create_app(ru), headers=auth_headers(ru, admin.actor_id)) as c:
        yield c


def test_upload_map_dry_run_import_rejects_undo(ru: Crm, client: TestClient) -> None:
    r = client.post("/api/v1/imports?entity=contact&name=people.csv", content=CSV.encode("utf-8-sig"),
                    headers={"Content-Type": "text/csv"})
    assert r.status_code == 201, r.text
    up = r.json()
    ident = up["id"]
    assert r.headers["location"] == f"/api/v1/imports/{ident}"
    assert (up["status"], up["file_name"], up["file"], up["progress"]["rows"]) == (
        "uploaded", "people.csv", {"format": "csv", "encoding": "utf-8-sig", "delimiter": ";"}, 4)
    assert up["header"] == ["Имя", "Фамилия", "Телефон", "E-Mail", "Notes"]
    assert up["mapping"] == {"Имя": "first_name", "Фамилия": "last_name", "Телефон": "phones", "E-Mail": "emails",
                             "Notes": ""}
    assert up["sample"][0] == ["Анна", "Ли", "8 (916) 123-45-67", "ANN@x.example", "vip"] and "phones" in up["fields"]

    r = client.patch(f"/api/v1/imports/{ident}", json={"mapping": {"Notes": "nonsense"}})
    assert r.status_code == 422 and r.json()["error"]["field"] == "mapping"
    r = client.patch(f"/api/v1/imports/{ident}", json={"mapping": {**up["mapping"], "E-Mail": ""}, "mode": "upsert",
                                                       "save_as": "people"})
    assert r.status_code == 200 and r.json()["mapping"]["E-Mail"] == "" and r.json()["mode"] == "upsert"
    assert client.get("/api/v1/imports/mappings").json()["items"][0]["name"] == "people"
    r = client.patch(f"/api/v1/imports/{ident}", json={"mapping": up["mapping"], "mode": "create-only"})

    assert client.post(f"/api/v1/imports/{ident}/dry-run").status_code == 202
    dry = wait(client, ident, lambda b: (b["dry_run_result"] or {}).get("status") == "done")["dry_run_result"]
    assert {k: dry[k] for k in ("total", "created", "updated", "rejected", "skipped")} == {
        "total": 4, "created": 2, "updated": 0, "rejected": 1, "skipped": 1}
    assert [(x["line"], x["field"]) for x in dry["rejects"]] == [(4, "phones[0]")]
    assert ru.contacts.count() == 0  # a dry run writes no card

    r = client.post(f"/api/v1/imports/{ident}/start")
    assert r.status_code == 202 and r.json()["status"] in ("running", "done")
    assert client.patch(f"/api/v1/imports/{ident}", json={"mode": "upsert"}).status_code == 409
    assert client.post(f"/api/v1/imports/{ident}/start").status_code == 409
    done = wait(client, ident, lambda b: b["status"] != "running" and not b["progress"]["running_here"])
    assert (done["status"], done["total"], done["accepted"], done["rejected"], done["skipped"]) == ("done", 4, 2, 1, 1)
    assert done["progress"] == {"done": 4, "rows": 4, "percent": 100.0, "running_here": False}
    assert done["accepted"] + done["rejected"] + done["skipped"] == done["total"]
    assert ru.contacts.find_by_email("ann@x.example")[0].phones == ("+79161234567",)
    assert list(upload_folder(ru).iterdir()) == []  # the upload goes once its import is done

    r = client.get(f"/api/v1/imports/{ident}/rejects")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == ["line", "field", "reason", "Имя", "Фамилия", "Телефон", "E-Mail", "Notes"]
    assert rows[1][:2] == ["4", "phones[0]"] and rows[1][3:] == ["Bad", "Phone", "12", "", ""] and len(rows) == 2

    assert [i["id"] for i in client.get("/api/v1/imports").json()["items"]] == [ident]
    r = client.post(f"/api/v1/imports/{ident}/undo")
    assert r.status_code == 200 and r.json()["undone"] == {"archived": 2, "restored": 0}
    assert r.json()["status"] == "undone" and ru.contacts.count() == 0
    assert client.post(f"/api/v1/imports/{ident}/undo").status_code == 422


def test_multipart_upload_of_an_xlsx(ru: Crm, client: TestClient, tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Company", "Address"])
    sheet.append(["Acme", "1 Main St"])
    sheet.append(["Beta", None])
    book.save(tmp_path / "co.xlsx")
    r = client.post("/api/v1/imports?entity=company", files={"file": ("co.xlsx", (tmp_path / "co.xlsx").read_bytes())})
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["file_name"], body["file"]["format"], body["mapping"]) == ("co.xlsx", "xlsx",
                                                                           {"Company": "name", "Address": "address"})
    client.post(f"/api/v1/imports/{body['id']}/start")
    done = wait(client, body["id"], lambda b: b["status"] != "running")
    assert (done["status"], done["created"]) == ("done", 2)
    assert ru.companies.list(name="Acme").items[0].address == "1 Main St"


def test_refusals_are_4xx_naming_the_field(make_crm: MakeCrm, tmp_path: Path) -> None:
    crm = make_crm(settings={"files": {"max_bytes": 2000}})
    ada = crm.users.create(email="ada@w.example", name="Ada", role="admin")
    mia = crm.users.create(email="mia@w.example", name="Mia", role="manager")
    with TestClient(create_app(crm), headers=auth_headers(crm, ada.id)) as client:
        def post(data: bytes, query: str = "?entity=contact", **kw: Any) -> Any:
            return client.post(f"/api/v1/imports{query}", content=data, headers={"Content-Type": "text/csv"}, **kw)

        assert post(b"a,b\n1,2\n", query="").json()["error"]["field"] == "entity"
        assert post(b"a,b\n1,2\n", query="?entity=deal_x").json()["error"]["field"] == "entity"
        assert post(b"").json()["error"] == {"code": "validation_error", "message": "file: is empty (no header row)",
                                              "field": "file"}
        assert post(b"x" * 3000).status_code == 413
        r = client.post("/api/v1/imports?entity=contact", json={"file": "a,b"})
        assert r.status_code == 422 and r.json()["error"]["field"] == "file"
        assert client.post("/api/v1/imports?entity=contact", content=b"a\n1\n",
                           headers={"Content-Type": "text/csv", "Authorization": "Bearer nope"}).status_code == 401
        ident = post(b"Name,Phone\nAnn,+12125550100\n").json()["id"]
        r = client.patch(f"/api/v1/imports/{ident}", json={"mapping": {"Name": "", "Phone": ""}})
        assert r.status_code == 200
        r = client.post(f"/api/v1/imports/{ident}/start")
        assert r.status_code == 422 and r.json()["error"]["field"] == "mapping"
        assert client.get("/api/v1/imports/99999").status_code == 404
        assert client.get(f"/api/v1/imports/{ident}/rejects", headers=auth_headers(crm, mia.id)).status_code == 404
        assert client.get(f"/api/v1/imports/{ident}", headers=auth_headers(crm, mia.id)).status_code == 404
        assert client.post(f"/api/v1/imports/{ident}/resume").status_code == 409
    assert sorted(p.name for p in upload_folder(crm).iterdir()) == [
        sorted(p.name for p in upload_folder(crm).iterdir())[0]]  # only the one recorded upload is kept


def test_an_import_whose_process_died_resumes_from_its_checkpoint(ru: Crm, admin: Any, client: TestClient) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from crmkit.transfer.importer import Importer
    from crmkit.transfer.tables import imports

    rows = "".join(f"P{i},+7 916 123-{i // 100:02d}-{i % 100:02d}\n" for i in range(30))
    ident = client.post("/api/v1/imports?entity=contact", content=f"Name,Phone\n{rows}".encode(),
                        headers={"Content-Type": "text/csv"}).json()["id"]

    def die(done: int) -> None:
        raise KeyboardInterrupt  # the process stops after its first batch, as a kill would

    importer = Importer(admin, batch_size=10, progress=die)
    with pytest.raises(KeyboardInterrupt):
        importer.run_claimed(importer.claim(ident), _stored(ru, ident))
    body = client.get(f"/api/v1/imports/{ident}").json()
    assert (body["status"], body["progress"]["done"], body["created"]) == ("running", 10, 10)
    r = client.post(f"/api/v1/imports/{ident}/resume")
    assert r.status_code == 409 and "120 s" in r.json()["error"]["message"]  # it might still be running
    with ru.engine.begin() as conn:  # two minutes without a batch: its process is gone
        conn.execute(update(imports).where(imports.c.id == ident).values(
            updated_at=ru.clock.now() - timedelta(minutes=5)))
    assert client.post(f"/api/v1/imports/{ident}/resume").status_code == 202
    done = wait(client, ident, lambda b: b["status"] != "running")
    assert (done["status"], done["created"], done["total"]) == ("done", 30, 30) and ru.contacts.count() == 30
    assert client.post(f"/api/v1/imports/{ident}/resume").status_code == 409  # done: nothing to resume


def _stored(crm: Crm, ident: int) -> Path:
    from sqlalchemy import select

    from crmkit.transfer.tables import imports

    with crm.engine.connect() as conn:
        options = conn.scalar(select(imports.c.options).where(imports.c.id == ident))
    return upload_folder(crm) / options["stored"]
