"""CSV imports of contacts: encodings, delimiters, quoting, phones, e-mails, counts (SQLite, PostgreSQL)."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from crmkit import Crm, ValidationError
from crmkit.core import schema
from crmkit.transfer import Importer, runs

from .conftest import write


def counts(run: Any) -> tuple[int, int, int, int, int]:
    assert run.total == run.created + run.updated + run.rejected + run.skipped
    return run.total, run.created, run.updated, run.rejected, run.skipped


def contacts(crm: Crm) -> list[tuple[str, str, tuple[str, ...], tuple[str, ...]]]:
    items = crm.contacts.list(limit=500).items
    return sorted((c.first_name, c.last_name, c.phones, c.emails) for c in items)


def test_utf8_bom_semicolons_crlf_quoted_newlines(ru: Crm, admin: Any, tmp_path: Path) -> None:
    text = ("\ufeffИмя;Фамилия;Телефон;E-mail;Адрес заметки\r\n"
            "Иван;Петров;8 (916) 123-45-67;Ivan@Example.RU;\"строка 1\r\nстрока 2\"\r\n"
            "Анна;Смирнова;+7 916 1234568;anna@example.ru;\r\n")
    path = write(tmp_path, "c.csv", text)
    run = Importer(admin).start(path, "contact")
    assert counts(run) == (2, 2, 0, 0, 0)
    assert run.options["encoding"] == "utf-8-sig" and run.options["delimiter"] == ";"
    assert contacts(ru) == [("Анна", "Смирнова", ("+79161234568",), ("anna@example.ru",)),
                            ("Иван", "Петров", ("+79161234567",), ("ivan@example.ru",))]


@pytest.mark.parametrize("encoding", ["cp1251", "latin-1"])
def test_legacy_encodings_are_detected(ru: Crm, admin: Any, tmp_path: Path, encoding: str) -> None:
    name = "Пётр" if encoding == "cp1251" else "Jürgen"
    text = f"first name\tlast name\temail\n{name}\tMüller\tj@example.de\n" if encoding == "latin-1" else \
        f"имя\tфамилия\temail\n{name}\tСидоров\tp@example.ru\n"
    path = write(tmp_path, "c.tsv", text, encoding)
    run = Importer(admin).start(path, "contact")
    assert counts(run) == (1, 1, 0, 0, 0)
    assert run.options["encoding"] == encoding and run.options["delimiter"] == "\t"
    assert [c.first_name for c in ru.contacts.list().items] == [name]


def test_torture_file_counts_exactly(ru: Crm, admin: Any, tmp_path: Path) -> None:
    rows = [
        b"Name,Phone,Email,Preferred channel",
        b"Ann Lee,8 (916) 123-45-67,ann@example.com,phone",        # 1 created
        b"Ann Again,+7 916 1234567,,",                              # 2 duplicate of 1 by phone: skipped
        b"Bob Stone,,BOB@example.com,",                            # 3 created
        b"Bobby,,bob@EXAMPLE.com,",                                # 4 duplicate by e-mail (case): skipped
        b"Carl,not a phone,,",                                     # 5 rejected: phones
        b"Dora,,dora@example,",                                    # 6 rejected: e-mail
        b"Eve,,eve@example.com,fax",                               # 7 rejected: choice
        b"Fay,,fay@example.com,,extra",                            # 8 rejected: ragged (more cells)
        b"Gil,,gil@example.com",                                   # 9 short row: created
        b"Hal\xff\xfe,,hal@example.com,",                          # 10 invalid UTF-8: rejected
        b"=cmd|' /C calc'!A0,,formula@example.com,",               # 11 created, the text kept as text
        b"",                                                       # a blank line is not a row
        b",,,",                                                    # nor is an empty one
        "\"Ünïcödé, Jr.\",,uni@example.com,".encode(),             # 12 created (quoted comma)
    ]
    path = tmp_path / "t.csv"
    path.write_bytes(b"\r\n".join(rows) + b"\r\n")
    run = Importer(admin, batch_size=3).start(path, "contact")
    assert counts(run) == (12, 5, 0, 5, 2)
    assert run.status == "done"
    rejected = list(runs.rejects(admin, run.id))
    assert [(r["record"], r["line"], r["field"]) for r in rejected] == [
        (5, 6, "phones[0]"), (6, 7, "emails[0]"), (7, 8, "preferred_channel"), (8, 9, "row"), (10, 11, "row")]
    assert rejected[0]["cells"] == ["Carl", "not a phone", "", ""]
    assert "invalid bytes" in rejected[4]["reason"]
    names = {c.first_name for c in ru.contacts.list(limit=100).items}
    assert names == {"Ann", "Bob", "Gil", "=cmd|' /C", "Ünïcödé,"}  # a name splits at its last space
    assert len(ru.contacts.find_by_email("bob@example.com")) == 1


def test_empty_file_and_header_only(ru: Crm, admin: Any, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="empty"):
        Importer(admin).start(write(tmp_path, "e.csv", ""), "contact")
    run = Importer(admin).start(write(tmp_path, "h.csv", "first name,email\r\n"), "contact")
    assert counts(run) == (0, 0, 0, 0, 0) and run.status == "done"


def test_dry_run_writes_nothing_and_counts_the_same(ru: Crm, admin: Any, tmp_path: Path) -> None:
    text = "name,phone\nA B,+79161234567\nC D,89161234567\nE F,bad\nG H,+79161234569\n"
    path = write(tmp_path, "d.csv", text)
    dry = Importer(admin, batch_size=2).start(path, "contact", dry_run=True)
    assert counts(dry) == (4, 2, 0, 1, 1) and dry.id is None
    assert ru.contacts.count() == 0
    with ru.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(schema.events)) == 1  # the admin's creation only
    real = Importer(admin, batch_size=2).start(path, "contact")
    assert counts(real) == counts(dry)


def test_modes_and_reimport(ru: Crm, admin: Any, tmp_path: Path) -> None:
    first = write(tmp_path, "1.csv", "id,first name,last name,email\nC1,Ann,Lee,ann@x.example\nC2,Bob,Ray,bob@x.example\n")
    assert counts(Importer(admin).start(first, "contact")) == (2, 2, 0, 0, 0)
    assert counts(Importer(admin).start(first, "contact")) == (2, 0, 0, 0, 2)  # the same file again: nothing new
    second = write(tmp_path, "2.csv", "id,first name,phone\nC1,Anna,+79161112233\nC3,Cy,+79161112234\n")
    assert counts(Importer(admin).start(second, "contact", mode="update")) == (2, 0, 1, 1, 0)
    ann = ru.contacts.find_by_email("ann@x.example")[0]
    assert (ann.first_name, ann.last_name, ann.phones) == ("Anna", "Lee", ("+79161112233",))
    upsert = Importer(admin).start(second, "contact", mode="upsert")
    assert counts(upsert) == (2, 1, 1, 0, 0)  # C1 unchanged but matched: an update of nothing
    assert ru.contacts.count() == 3


def test_undo_archives_created_cards_and_restores_updated_fields(ru: Crm, admin: Any, tmp_path: Path) -> None:
    ann = admin.contacts.create(first_name="Ann", emails=["ann@x.example"])
    path = write(tmp_path, "u.csv", "first name,email\nAnnie,ann@x.example\nBob,bob@x.example\n")
    run = Importer(admin).start(path, "contact", mode="upsert")
    assert counts(run) == (2, 1, 1, 0, 0)
    assert runs.undo(admin, run.id) == {"archived": 1, "restored": 1}
    assert [c.first_name for c in ru.contacts.list().items] == ["Ann"]
    assert ru.contacts.get(ann.id).first_name == "Ann"
    assert runs.get(admin, run.id).status == "undone"
    with pytest.raises(ValidationError, match="already undone"):
        runs.undo(admin, run.id)


def test_each_card_has_an_import_entry_in_its_timeline(ru: Crm, admin: Any, tmp_path: Path) -> None:
    run = Importer(admin).start(write(tmp_path, "tl.csv", "name,email\n\nAnn Lee,ann@x.example\n"), "contact")
    ann = ru.contacts.list().items[0]
    entries = [(e.type, dict(e.data)) for e in ru.timeline.of("contact", ann.id).items]
    assert entries == [("contact.created", {"source": "import", "import_id": run.id, "file": "tl.csv", "line": 3,
                                            "action": "created"})]  # one event per card
    again = Importer(admin).start(write(tmp_path, "tl2.csv", "name,email,phone\nAnn Lee,ann@x.example,+12125550100\n"),
                                  "contact", mode="upsert")
    entries = [(e.type, dict(e.data)) for e in ru.timeline.of("contact", ann.id).items]
    assert [t for t, _ in entries].count("contact.updated") == 1 and ("contact.imported", {
        "source": "import", "import_id": again.id, "file": "tl2.csv", "line": 2, "action": "updated"}) in entries
    company = Importer(admin).start(write(tmp_path, "co.csv", "name\nAcme\n"), "company")
    acme = ru.companies.list().items[0]
    assert [(e.type, e.data.get("line"), e.data.get("import_id")) for e in ru.timeline.of("company", acme.id).items] == [
        ("company.created", 2, company.id)]  # the service's own event, with the import's origin


def test_a_utf16_bom_is_not_guessed(ru: Crm, admin: Any, tmp_path: Path) -> None:
    path = tmp_path / "bom16.csv"
    path.write_bytes(codecs.BOM_UTF8 + "name\nÅsa Berg\n".encode())
    assert counts(Importer(admin).start(path, "contact")) == (1, 1, 0, 0, 0)
