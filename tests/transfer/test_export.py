"""Exports: CSV and XLSX (formula cells neutralised), vCard 4.0, filters and record rules, the
``cards.export`` permission, XLSX imports and a round trip into an empty deployment."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from crmkit import Crm, PermissionDeniedError, ValidationError
from crmkit.testing import MakeCrm
from crmkit.transfer import Importer
from crmkit.transfer.exporting import csv_chunks, export, vcard_chunks, write_xlsx
from crmkit.transfer.sources import XLSX_MAX_ROWS


def _seed(admin: Any) -> None:
    acme = admin.companies.create(name="=HYPERLINK(\"http://evil\")", address="-1 Main St")
    admin.contacts.create(first_name="Ann", last_name="Lee", phones=["+79161234567", "+79161234568"],
                          emails=["ann@x.example"], company_id=acme.id, birthday="1990-02-03",
                          custom={"preferred_channel": "sms"})
    admin.contacts.create(first_name="@SUM(1)", last_name="-2+3", emails=["b@x.example"])
    admin.contacts.create(first_name="Tab", last_name="Ström, Jr.; \"Q\"")


def test_csv_neutralises_formulas_and_keeps_the_text(ru: Crm, admin: Any) -> None:
    _seed(admin)
    text = b"".join(csv_chunks(admin, "contact")).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:8] == ["id", "first_name", "last_name", "phones", "emails", "company", "birthday", "responsible"]
    assert rows[1][1:7] == ["Ann", "Lee", "'+79161234567, +79161234568", "ann@x.example",
                            "'=HYPERLINK(\"http://evil\")", "1990-02-03"]
    assert rows[2][1:3] == ["'@SUM(1)", "'-2+3"]
    assert rows[3][1:3] == ["Tab", "Ström, Jr.; \"Q\""]
    companies = list(csv.reader(io.StringIO(b"".join(csv_chunks(admin, "company")).decode("utf-8-sig"))))
    assert companies[1][1:3] == ["'=HYPERLINK(\"http://evil\")", "'-1 Main St"]
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row)


def test_filters_record_rules_and_the_export_permission(ru: Crm, admin: Any) -> None:
    _seed(admin)
    head = ru.users.create(email="hu@w.example", name="Hu", role="head", team="north")
    mia = ru.users.create(email="mia@w.example", name="Mia", role="manager", team="north")
    ru.as_user(mia.id).contacts.create(first_name="Mias")
    rows = list(csv.reader(io.StringIO(b"".join(csv_chunks(ru.as_user(head.id), "contact")).decode("utf-8-sig"))))
    assert [r[1] for r in rows[1:]] == ["Mias"]  # the head's team only
    filtered = b"".join(csv_chunks(admin, "contact", {"last_name": "Lee"})).decode("utf-8-sig")
    assert [r[1] for r in list(csv.reader(io.StringIO(filtered)))[1:]] == ["Ann"]
    with pytest.raises(PermissionDeniedError, match="export contacts"):
        next(csv_chunks(ru.as_user(mia.id), "contact"))
        list(csv_chunks(ru.as_user(mia.id), "contact"))
    with pytest.raises(ValidationError, match="cannot filter"):
        list(csv_chunks(admin, "contact", {"nope": 1}))


def test_xlsx_cells_are_typed_strings_and_the_row_limit_holds(ru: Crm, admin: Any, tmp_path: Path) -> None:
    _seed(admin)
    path = tmp_path / "c.xlsx"
    assert write_xlsx(admin, "contact", path) == 4
    sheet = openpyxl.load_workbook(path).active
    cells = {c.value: c.data_type for row in sheet.iter_rows() for c in row if isinstance(c.value, str)}
    assert cells["=HYPERLINK(\"http://evil\")"] == "s" and cells["@SUM(1)"] == "s"
    with pytest.raises(ValidationError, match="more than 3 rows"):
        write_xlsx(admin, "contact", tmp_path / "small.xlsx", max_rows=3)
    assert XLSX_MAX_ROWS == 1_048_576


def test_vcard_4(ru: Crm, admin: Any) -> None:
    _seed(admin)
    text = b"".join(vcard_chunks(admin, {"last_name": "Lee"})).decode()
    assert text.startswith("BEGIN:VCARD\r\nVERSION:4.0\r\n") and text.endswith("END:VCARD\r\n")
    assert "N:Lee;Ann;;;\r\n" in text and "TEL;VALUE=uri:tel:+79161234568\r\n" in text
    assert "BDAY:19900203\r\n" in text and 'ORG:=HYPERLINK(\\"http://evil\\")' not in text
    assert "ORG:=HYPERLINK(\"http://evil\")\r\n" in text
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    tricky = b"".join(vcard_chunks(admin, {"first_name": "Tab"})).decode()
    assert "N:Ström\\, Jr.\\; \"Q\";Tab;;;" in tricky


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_round_trip_into_an_empty_deployment(ru: Crm, admin: Any, make_crm: MakeCrm, tmp_path: Path,
                                             fmt: str) -> None:
    _seed(admin)
    for i in range(3):
        admin.companies.create(name=f"Company {i}", address=f"Street {i}\nCity")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    companies, contacts = out_dir / f"companies.{fmt}", out_dir / f"contacts.{fmt}"
    assert export(admin, "company", fmt, companies) == 4
    assert export(admin, "contact", fmt, contacts) == 3
    ru.close()

    fresh = make_crm(default_region="RU", database=f"sqlite:///{tmp_path / 'fresh.db'}")
    new_admin = fresh.as_user(fresh.users.create(email="ada@w.example", name="Ada", role="admin").id)
    assert Importer(new_admin).start(companies, "company").created == 4
    run = Importer(new_admin).start(contacts, "contact")
    assert (run.created, run.rejected, run.skipped) == (3, 0, 0)

    def cards(services: Any) -> list[Any]:
        names = {c.id: (c.name, c.address) for c in services.companies.list().items}
        return sorted((c.first_name, c.last_name, c.phones, c.emails, c.birthday, dict(c.custom),
                       names.get(c.company_id)) for c in services.contacts.list().items)

    assert sorted((c.name, c.address) for c in fresh.companies.list().items) == sorted(
        [("=HYPERLINK(\"http://evil\")", "-1 Main St")] + [(f"Company {i}", f"Street {i}\nCity") for i in range(3)])
    assert cards(fresh.system) == cards(_reopen(make_crm, ru))
    assert Importer(new_admin).start(contacts, "contact").skipped == 3  # the ids are the external ids now


def _reopen(make_crm: MakeCrm, crm: Crm) -> Any:
    return make_crm(default_region="RU").system
