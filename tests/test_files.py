"""Documents on cards (issue 13): the SDK, the API (streaming upload, safe download) and the CLI,
on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

import anyio
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from test_api_helpers import build_api
from test_cli import CLEAN_ENV

from crmkit import Crm, hookimpl
from crmkit.cli import cli
from crmkit.cli.deployment import render
from crmkit.core import schema
from crmkit.core.errors import NotFoundError, PermissionDeniedError, ValidationError
from crmkit.core.files import content_disposition, safe_name, sniff
from crmkit.core.files.sniff import DOCX, OCTET, TEXT, XLSX
from crmkit.web import create_app

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 20


def _zip(*names: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name in names:
            archive.writestr(name, "x")
    return out.getvalue()


@pytest.fixture
def people(crm: Crm) -> dict[str, int]:
    return {"admin": crm.users.create(email="ada@w.example", name="Ada", role="admin").id,
            "anna": crm.users.create(email="anna@w.example", name="Anna", role="manager").id,
            "tom": crm.users.create(email="tom@w.example", name="Tom", role="manager").id}


def _stored(crm: Crm) -> list[Path]:
    root = crm.settings.base_dir / "files"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


# -- what a document is ------------------------------------------------------------------------


@pytest.mark.parametrize(("content", "kind"), [
    (PDF, "application/pdf"), (PNG, "image/png"), (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
    (b"GIF89a\x01\x00", "image/gif"), (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image/webp"),
    (_zip("a.txt"), "application/zip"), (_zip("[Content_Types].xml", "word/document.xml"), DOCX),
    (_zip("[Content_Types].xml", "xl/workbook.xml"), XLSX), (b"PK\x03\x04 not really a zip", OCTET),
    ("Measured: 3 windows, 120×140 cm\n".encode(), TEXT), (b"<html><script>alert(1)</script></html>", TEXT),
    (b"\xef\xbb\xbfwith a BOM", TEXT), (b"\x00\x01\x02binary", OCTET), (b"\xc3\x28 bad utf-8", OCTET),
    (b"MZ\x90\x00", OCTET),
])
def test_the_type_comes_from_the_content(content: bytes, kind: str) -> None:
    assert sniff(content[:65536], io.BytesIO(content)) == kind


def test_a_text_sample_cut_inside_a_character_is_still_text() -> None:
    text = ("a" + "é" * 40000).encode()  # the 64 KiB sample ends in the middle of an "é"
    assert sniff(text[:65536], io.BytesIO(text)) == TEXT
    assert sniff(text[:65535] + b"\xff", io.BytesIO(text)) == OCTET


@pytest.mark.parametrize(("given", "kept"), [
    ("../../etc/passwd", "passwd"), ("C:\\Users\\ann\\scan.pdf", "scan.pdf"), ("..", "file"), ("", "file"),
    (None, "file"), ("a\x00b\r\n.pdf", "a_b__.pdf"), ("report\u202egpj.exe", "report_gpj.exe"),
    ("x" * 300 + ".pdf", "x" * 251 + ".pdf"), ('inv"oice;.pdf', "inv_oice;.pdf"),
])
def test_names_are_metadata_made_safe(given: Any, kept: str) -> None:
    assert safe_name(given) == kept


def test_the_download_name_cannot_break_the_header() -> None:
    header = content_disposition('a"b\\c;%.pdf')
    assert header == "attachment; filename=\"a_b_c__.pdf\"; filename*=UTF-8''a%22b%5Cc%3B%25.pdf"
    assert "\r" not in content_disposition(safe_name("x\r\nSet-Cookie: y"))


# -- the SDK ---------------------------------------------------------------------------------


def test_add_list_read_remove_with_timeline_events(crm: Crm, people: dict[str, int]) -> None:
    anna = crm.as_user(people["anna"])
    deal = anna.deals.create(title="3 windows")
    info = anna.files.add("deal", deal.id, PDF, name="../measurement.pdf")
    assert (info.name, info.content_type, info.size) == ("measurement.pdf", "application/pdf", len(PDF))
    assert info.sha256 == hashlib.sha256(PDF).hexdigest() and info.uploaded_by == people["anna"]
    assert anna.files.read(info.id) == PDF
    assert [f.id for f in anna.files.of("deal", deal.id)] == [info.id]
    [stored] = _stored(crm)
    assert stored.name != "measurement.pdf" and "measurement" not in str(stored)  # a random key, not the name
    assert stored.stat().st_mode & 0o077 == 0

    removed = anna.files.remove(info.id)
    assert removed.id == info.id and _stored(crm) == []
    events = [(e.type, e.data.get("file_id")) for e in crm.timeline.of("deal", deal.id)]
    assert events[-2:] == [("file.added", info.id), ("file.removed", info.id)]
    with pytest.raises(NotFoundError):
        anna.files.get(info.id)


def test_files_on_every_kind_of_card(crm: Crm, people: dict[str, int]) -> None:
    anna = crm.as_user(people["anna"])
    cards = {"lead": anna.leads.create(title="Request").id, "contact": anna.contacts.create(first_name="Jo").id,
             "company": anna.companies.create(name="Acme").id, "deal": anna.deals.create(title="W").id,
             "task": anna.tasks.add(title="Measure", assignee_id=people["anna"]).id}
    for kind, ident in cards.items():
        info = anna.files.add(kind, ident, f"on the {kind}".encode(), name=f"{kind}.txt")
        assert [f.name for f in anna.files.of(kind, ident)] == [f"{kind}.txt"]
        assert [e.type for e in crm.timeline.of(kind, ident)][-1] == "file.added", info


def test_a_file_on_a_card_one_may_not_see_is_missing(crm: Crm, people: dict[str, int]) -> None:
    anna, tom = crm.as_user(people["anna"]), crm.as_user(people["tom"])
    deal = anna.deals.create(title="Anna's")
    info = anna.files.add("deal", deal.id, PDF)
    for call in (lambda: tom.files.get(info.id), lambda: tom.files.open(info.id), lambda: tom.files.remove(info.id),
                 lambda: tom.files.of("deal", deal.id), lambda: tom.files.add("deal", deal.id, PDF)):
        with pytest.raises(NotFoundError) as invisible:
            call()
        assert "does not exist" in invisible.value.message
    with pytest.raises(NotFoundError) as missing:
        tom.files.get(info.id + 100)
    assert missing.value.message.replace(str(info.id + 100), "N") == invisible_message(tom, info.id)
    # a measurer with an open task on the deal reads it and may attach the measurement to it
    anna.tasks.add(title="Measure", assignee_id=people["tom"], entity_type="deal", entity_id=deal.id)
    assert tom.files.read(info.id) == PDF
    added = tom.files.add("deal", deal.id, b"3 windows, 120 x 140", name="measured.txt")
    with pytest.raises(PermissionDeniedError):  # may read the deal, not change it: not Anna's file
        tom.files.remove(info.id)
    tom.files.remove(added.id)  # but their own upload


def invisible_message(services: Any, ident: int) -> str:
    try:
        services.files.get(ident)
    except NotFoundError as exc:
        return exc.message.replace(str(ident), "N")
    raise AssertionError("visible")


def test_the_size_limit_and_empty_files(make_crm: Any) -> None:
    crm = make_crm(settings={"files": {"max_bytes": 10}})
    deal = crm.deals.create(title="W")
    with pytest.raises(ValidationError, match="larger than 10 bytes") as too_large:
        crm.system.files.add("deal", deal.id, b"x" * 11)
    assert too_large.value.status == 413 and too_large.value.field == "file"
    with pytest.raises(ValidationError, match="empty"):
        crm.system.files.add("deal", deal.id, b"")
    assert crm.system.files.add("deal", deal.id, b"x" * 10).size == 10
    with pytest.raises(ValidationError, match="not a file"):
        crm.system.files.add("deal", deal.id, crm.settings.base_dir)


class Veto:
    """A plugin refusing documents named ``secret.txt`` in the command's transaction."""

    @hookimpl
    def crm_validate(self, tx: Any, events: Any) -> None:
        for event in events:
            if event.type == "file.added" and event.data.get("name") == "secret.txt":
                raise ValidationError("name: not this one", field="name")


def test_a_failed_upload_leaves_no_row_and_no_content(crm: Crm) -> None:
    crm.pm.register(Veto(), name="veto")
    crm._impl_cache.clear()
    deal = crm.deals.create(title="W")
    with pytest.raises(ValidationError, match="not this one"):
        crm.system.files.add("deal", deal.id, b"top secret", name="secret.txt")
    with crm.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(schema.files)) == 0
    assert _stored(crm) == []
    assert [e.type for e in crm.timeline.of("deal", deal.id)] == ["deal.created"]


class MemoryStorage:
    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def put(self, key: str, source: BinaryIO) -> None:
        self.blobs[key] = source.read()

    def get(self, key: str) -> BinaryIO:
        if key not in self.blobs:
            raise FileNotFoundError(key)
        return io.BytesIO(self.blobs[key])

    def delete(self, key: str) -> None:
        self.blobs.pop(key, None)


class StoragePlugin:
    def __init__(self) -> None:
        self.storage = MemoryStorage()

    @hookimpl
    def crm_register_file_storage(self, crm: Any) -> MemoryStorage:
        return self.storage


def test_a_plugin_keeps_the_contents_elsewhere(crm: Crm) -> None:
    plugin = StoragePlugin()
    crm.pm.register(plugin, name="store")
    deal = crm.deals.create(title="W")
    info = crm.system.files.add("deal", deal.id, PNG, name="photo.png")
    assert list(plugin.storage.blobs.values()) == [PNG] and _stored(crm) == []
    assert crm.system.files.read(info.id) == PNG
    crm.system.files.remove(info.id)
    assert plugin.storage.blobs == {}


def test_deleting_a_card_removes_its_files(crm: Crm, people: dict[str, int]) -> None:
    admin = crm.as_user(people["admin"])
    deal = admin.deals.create(title="W")
    info = admin.files.add("deal", deal.id, PDF)
    assert admin.deals.delete(deal.id)["removed"]["files"] == 1
    assert _stored(crm) == []
    with pytest.raises(NotFoundError):
        admin.files.get(info.id)


# -- the API -----------------------------------------------------------------------------------


def test_upload_and_download_through_the_api(make_crm: Any) -> None:
    crm = make_crm(settings={"files": {"max_bytes": 5000}})
    api = build_api(crm)
    anna = crm.users.create(email="anna@w.example", name="Anna", role="manager")
    tom = crm.users.create(email="tom@w.example", name="Tom", role="manager")
    as_anna, as_tom = api.token_for(anna.id), api.token_for(tom.id)
    deal = api.ok(api.post("/api/v1/deals", {"title": "W"}, headers=as_anna), 201)
    url = f"/api/v1/deals/{deal['id']}/files"
    page = b"<html><script>alert(document.cookie)</script></html>"
    created = api.ok(api.client.post(url, files={"file": ('x"\r\n.html', page, "text/html")}, headers=as_anna), 201)
    assert created["content_type"] == "text/plain; charset=utf-8" and created["name"] == "x___.html"
    assert created["sha256"] == hashlib.sha256(page).hexdigest()

    got = api.client.get(f"/api/v1/files/{created['id']}", headers=as_anna)
    assert got.status_code == 200 and got.content == page
    assert got.headers["content-type"] == "text/plain; charset=utf-8"  # never text/html
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-disposition"].startswith('attachment; filename="x___.html"')
    assert got.headers["content-length"] == str(len(page))

    listed = api.ok(api.get(url, headers=as_anna))["items"]
    assert [f["id"] for f in listed] == [created["id"]]
    invisible = api.client.get(f"/api/v1/files/{created['id']}", headers=as_tom)
    missing = api.client.get(f"/api/v1/files/{created['id'] + 1}", headers=as_tom)
    assert (invisible.status_code, missing.status_code) == (404, 404)
    assert invisible.json()["error"]["message"].replace(str(created["id"]), "N") == \
        missing.json()["error"]["message"].replace(str(created["id"] + 1), "N")
    api.error(api.client.post(url, files={"file": ("a.txt", b"hi")}, headers=as_tom), 404)
    api.error(api.get(f"/api/v1/deals/{deal['id']}/files", headers=as_tom), 404)
    api.error(api.client.delete(f"/api/v1/files/{created['id']}", headers=as_tom), 404)

    named = api.ok(api.client.post(url, files={"file": ("scan", PDF)}, data={"name": "Measurement.pdf"},
                                   headers=as_anna), 201)
    assert (named["name"], named["content_type"]) == ("Measurement.pdf", "application/pdf")
    assert api.ok(api.client.delete(f"/api/v1/files/{named['id']}", headers=as_anna))["id"] == named["id"]
    api.error(api.client.get(f"/api/v1/files/{named['id']}", headers=as_anna), 404)
    events = [e["type"] for e in api.ok(api.get(f"/api/v1/timeline/deal/{deal['id']}", headers=as_anna))["items"]]
    assert events == ["deal.created", "file.added", "file.added", "file.removed"]


def test_bad_uploads_are_clear_errors_and_leave_nothing(make_crm: Any) -> None:
    crm = make_crm(settings={"files": {"max_bytes": 1000}})
    api = build_api(crm)
    deal = api.ok(api.post("/api/v1/deals", {"title": "W"}), 201)
    url = f"/api/v1/deals/{deal['id']}/files"
    too_large = api.client.post(url, files={"file": ("big.bin", b"x" * 1001)})
    api.error(too_large, 413, "file")
    announced = api.client.post(url, content=b"--b--", headers={
        "Content-Type": "multipart/form-data; boundary=b", "Content-Length": str(10**9)})
    api.error(announced, 413)
    assert announced.headers["connection"] == "close"

    def chunks() -> Any:  # no Content-Length: counted while it streams
        yield b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\n\r\n"
        for _ in range(100):
            yield b"y" * 1000
        yield b"\r\n--b--\r\n"

    api.error(api.client.post(url, content=chunks(), headers={"Content-Type": "multipart/form-data; boundary=b"}),
              413)
    api.error(api.client.post(url, json={"file": "x"}), 415)
    api.error(api.client.post(url, files={"other": ("a.txt", b"hi")}), 422, "other")
    api.error(api.client.post(url, data={"name": "x"}, files={}), 415)
    two = api.client.post(url, files=[("file", ("a.txt", b"a")), ("file", ("b.txt", b"b"))])
    api.error(two, 400)
    api.error(api.client.post(url, files={"file": ("a.txt", b"hi")}, headers={"Authorization": "Bearer nope"}), 401)
    api.error(api.client.post("/api/v1/deals/999/files", files={"file": ("a.txt", b"hi")}), 404)
    api.error(api.client.post(url, files={"file": ("empty.txt", b"")}), 422, "file")
    with crm.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(schema.files)) == 0
    assert _stored(crm) == []
    assert api.ok(api.post("/api/v1/deals", {"title": "a JSON body still works"}), 201)["id"]


def test_an_upload_that_does_not_arrive_in_time_is_408(make_crm: Any) -> None:
    crm = make_crm(settings={"files": {"upload_timeout_seconds": 0.2}})
    api = build_api(crm)
    deal = api.ok(api.post("/api/v1/deals", {"title": "W"}), 201)
    app = create_app(crm)
    sent: list[Any] = []

    async def receive() -> Any:
        if not sent:
            sent.append(True)
            return {"type": "http.request", "body": b"--b\r\n", "more_body": True}
        await anyio.sleep(5)
        return {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": f"/api/v1/deals/{deal['id']}/files", "raw_path": b"",
             "query_string": b"", "root_path": "", "scheme": "http", "server": ("t", 80), "client": ("c", 1),
             "http_version": "1.1", "headers": [(b"content-type", b"multipart/form-data; boundary=b"),
                                               (b"authorization", f"Bearer {api.secret}".encode())]}

    async def call() -> None:
        with anyio.fail_after(3):
            await app(scope, receive, send)

    anyio.run(call)
    start = next(m for m in sent if isinstance(m, dict) and m.get("type") == "http.response.start")
    assert start["status"] == 408 and (b"connection", b"close") in start["headers"]


def test_the_document_describes_uploads_and_downloads(crm: Crm) -> None:
    api = build_api(crm)
    doc = api.ok(api.get("/api/v1/openapi.json"))
    post = doc["paths"]["/api/v1/deals/{id}/files"]["post"]
    assert post["requestBody"]["content"]["multipart/form-data"]["schema"]["required"] == ["file"]
    assert {"401", "404", "413", "415", "422"} <= set(post["responses"])
    download = doc["paths"]["/api/v1/files/{id}"]["get"]["responses"]["200"]["content"]
    assert "application/pdf" in download and "text/html" not in download


# -- the CLI -----------------------------------------------------------------------------------


def test_files_through_the_cli(crm: Crm, people: dict[str, int], tmp_path: Path) -> None:
    config = tmp_path / "crmkit.toml"
    config.write_text(render(database=crm.settings.database))

    def run(*args: str) -> Any:
        return CliRunner().invoke(cli, ["--config", str(config), *args], env=CLEAN_ENV, catch_exceptions=False)

    deal = crm.as_user(people["anna"]).deals.create(title="W")
    source = tmp_path / "measurement.pdf"
    source.write_bytes(PDF)
    added = run("--as", "anna@w.example", "--json", "files", "add", "deal", str(deal.id), str(source))
    assert added.exit_code == 0, added.output
    info = json.loads(added.stdout)
    assert info["content_type"] == "application/pdf" and info["name"] == "measurement.pdf"
    listed = run("files", "list", "deal", str(deal.id))
    assert "measurement.pdf" in listed.stdout and "Anna" in listed.stdout
    target = tmp_path / "copy.pdf"
    assert run("files", "get", str(info["id"]), "-o", str(target)).exit_code == 0
    assert target.read_bytes() == PDF and target.stat().st_mode & 0o077 == 0
    again = run("files", "get", str(info["id"]), "-o", str(target))
    assert again.exit_code == 1 and "already exists" in again.stderr
    hidden = run("--as", "tom@w.example", "files", "get", str(info["id"]))
    assert hidden.exit_code == 1 and "does not exist" in hidden.stderr and "Traceback" not in hidden.output
    removed = run("--as", "anna@w.example", "files", "remove", str(info["id"]))
    assert removed.exit_code == 0 and f"Removed file {info['id']}" in removed.stdout
