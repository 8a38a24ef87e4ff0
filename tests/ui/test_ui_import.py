"""The import pages in Chromium: upload a CSV, map its columns, a dry run, the import with its progress,
the counts, the rejects file, undo -- on a desktop and on a 360 px phone, checked by axe-core; the
screenshots docs/screenshots/import-mapping.png and import-phone.png are written here."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from conftest import UiServer, axe_violations, shot

Open = Callable[..., Any]
CSV = ("Vorname,Nachname,Telefon,E-Mail,Notiz\n"
       "Eva,Klein,+49 30 901820,eva@example.de,VIP\n"
       "Jon,Berg,12,jon@example.de,\n"
       "Uli,Stein,+49 30 901821,uli@example.de,\n")


def upload(page: Any, ui_server: UiServer, path: Path) -> None:
    page.goto(ui_server.url + "/imports")
    page.select_option("#im-entity", "contact")
    page.set_input_files("#im-file", str(path))
    page.click("form[action='/imports/new'] button")
    page.locator("#im-map").wait_for()


def test_upload_map_dry_run_import_and_undo(page_for: Open, ui_server: UiServer, tmp_path: Path) -> None:
    path = tmp_path / "kunden.csv"
    path.write_text(CSV, encoding="utf-8")
    page = page_for("olivia")
    page.goto(ui_server.url + "/imports")
    assert axe_violations(page) == []
    upload(page, ui_server, path)
    assert page.input_value("#col-0") == "first_name" and page.input_value("#col-2") == "phones"
    assert page.input_value("#col-4") == ""  # Notiz: no field of a contact
    assert "eva@example.de" in page.inner_text("#im-map ~ table, form.panel")
    assert axe_violations(page) == []
    shot(page, "import-mapping.png")
    page.select_option("#col-3", "")  # the e-mails are not imported this time
    page.click("button[value=dry_run]")
    page.get_by_text("3 rows: 2 would be created").wait_for(timeout=20000)
    assert "phones[0]" in page.inner_text("#im-dry ~ table")
    assert ui_server.crm.system.contacts.find_by_phone("+4930901820") == []
    page.click("button[value=start]")
    page.get_by_text("3 of 3 rows: 2 created, 0 updated, 1 rejected").wait_for(timeout=20000)
    eva = ui_server.crm.system.contacts.find_by_phone("+4930901820")[0]
    assert (eva.first_name, eva.emails) == ("Eva", ())
    assert page.get_attribute("#im-progress", "value") == "3"
    with page.expect_download() as download:
        page.click("text=Download the rejected rows (CSV)")
    rejects = Path(download.value.path()).read_text(encoding="utf-8-sig").splitlines()
    assert rejects[0] == "line,field,reason,Vorname,Nachname,Telefon,E-Mail,Notiz" and rejects[1].startswith("3,phones[0],")
    assert axe_violations(page) == []
    page.click("text=Undo this import")
    page.get_by_role("heading", name="Undone").wait_for()
    assert ui_server.crm.system.contacts.get(eva.id).archived_at is not None


def test_the_mapping_step_on_a_phone(page_for: Open, ui_server: UiServer, tmp_path: Path) -> None:
    path = tmp_path / "phone.csv"
    path.write_text(CSV, encoding="utf-8")
    page = page_for("anna", width=360, height=740)
    upload(page, ui_server, path)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page scrolls sideways ({width} px)"
    assert axe_violations(page) == []
    shot(page, "import-phone.png")


def test_an_upload_without_the_csrf_token_keeps_nothing(page_for: Open, ui_server: UiServer) -> None:
    folder = ui_server.crm.settings.base_dir / "files" / "imports"
    before = sorted(p.name for p in folder.iterdir()) if folder.exists() else []
    page = page_for("tom")
    page.goto(ui_server.url + "/imports")
    response = page.request.post(ui_server.url + "/imports/new", multipart={
        "entity": "contact", "file": {"name": "x.csv", "mimeType": "text/csv", "buffer": b"name\nX\n"}})
    assert response.status == 403  # no CSRF token: the page refuses, the stored file is dropped
    assert (sorted(p.name for p in folder.iterdir()) if folder.exists() else []) == before
    anonymous = page_for(None).request.post(ui_server.url + "/imports/new", multipart={
        "entity": "contact", "file": {"name": "x.csv", "mimeType": "text/csv", "buffer": b"name\nX\n"}})
    assert anonymous.status in (401, 403)
    assert (sorted(p.name for p in folder.iterdir()) if folder.exists() else []) == before
