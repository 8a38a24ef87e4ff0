"""Companies, leads and deals from spreadsheets; mappings guessed in five languages, saved by name."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from crmkit import Crm, ValidationError
from crmkit.transfer import Importer, runs
from crmkit.transfer.mapping import guess

from .conftest import write


@pytest.mark.parametrize(("header", "expected"), [
    (["First name", "Last name", "Mobile", "E-Mail", "Company", "Owner"],
     ["first_name", "last_name", "phones", "emails", "company", "responsible"]),
    (["Vorname", "Nachname", "Telefon", "E-Mail-Adresse", "Firma", "Geburtsdatum"],
     ["first_name", "last_name", "phones", "emails", "company", "birthday"]),
    (["Имя", "Фамилия", "Телефон", "Эл. почта", "Компания", "Ответственный"],
     ["first_name", "last_name", "phones", "emails", "company", "responsible"]),
    (["姓名", "手机", "邮箱", "公司", "生日"], ["name", "phones", "emails", "company", "birthday"]),
    (["Ime", "Priimek", "Telefon", "E-pošta", "Podjetje", "Preferred channel"],
     ["first_name", "last_name", "phones", "emails", "company", "custom.preferred_channel"]),
    (["Phone", "Work phone", "Notes"], ["phones", "phones", ""]),
])
def test_mapping_guess(crm: Crm, header: list[str], expected: list[str]) -> None:
    assert list(guess(crm, "contact", header).values()) == expected


def test_companies_then_deals_linked_by_the_imports(ru: Crm, admin: Any, tmp_path: Path) -> None:
    companies = write(tmp_path, "co.csv", "ID;Firma;Adresse\nK1;Acme GmbH;Hauptstr. 1\nK2;Beta AG;\nK3;acme gmbh;\n")
    assert _counts(Importer(admin).start(companies, "company")) == (3, 2, 0, 0, 1)  # K3: the same name
    contacts = write(tmp_path, "c.csv", "id,name,email,company\nP1,Ann Lee,ann@x.example,Beta AG\n"
                                        "P2,Cy Day,cy@x.example,Gamma Ltd\n")
    assert _counts(Importer(admin).start(contacts, "contact")) == (2, 2, 0, 0, 0)
    gamma = ru.companies.list(name="Gamma Ltd").items[0]  # made by the contact's row: nothing lost
    assert ru.contacts.find_by_email("cy@x.example")[0].company_id == gamma.id
    deals = write(tmp_path, "d.csv", (
        "Deal,Pipeline,Stage,Amount,Currency,Contact,Company,Responsible,Number of windows\n"
        "Windows for Ann,Sales,Proposal sent,1200.50,EUR,P1,K1,ada@w.example,3\n"
        "Nobody's deal,sales,collecting_data,10,,P9,,,\n"
        "Bad stage,Sales,Nowhere,,,,,,\n"
        "Bad amount,Sales,,12.345.6,,,,,\n"
        "Unknown owner,Sales,,,,,,nobody@w.example,\n"))
    run = Importer(admin).start(deals, "deal")
    assert _counts(run) == (5, 1, 0, 4, 0)
    assert [(r["line"], r["field"]) for r in runs.rejects(admin, run.id)] == [
        (3, "contact"), (4, "stage"), (5, "amount"), (6, "responsible_id")]
    deal = ru.deals.list().items[0]
    acme = ru.companies.list(name="Acme GmbH").items[0]
    ann = ru.contacts.find_by_email("ann@x.example")[0]
    assert (deal.title, deal.stage, deal.amount.amount, deal.amount.currency, deal.contact_id, deal.company_id,
            deal.custom) == ("Windows for Ann", "proposal_sent", Decimal("1200.50"), "EUR", ann.id, acme.id,
                             {"window_count": 3})


def test_leads_with_a_saved_mapping(ru: Crm, admin: Any, tmp_path: Path) -> None:
    path = write(tmp_path, "l.csv", "Wer,Tel,Mail,Wo\nJane,8 916 123 45 67,JANE@x.example,web\n"
                                    "Jane again,,jane@x.example,\n,,,\nMax,+7 916 000 11 22,,\n")
    mapping = {"Wer": "title", "Tel": "phone", "Mail": "email", "Wo": "source"}
    runs.save_mapping(admin, "old crm leads", "lead", mapping)
    assert runs.mappings(admin) == [{"name": "old crm leads", "entity": "lead", "mapping": mapping}]
    run = Importer(admin).start(path, "lead", mapping_name="old crm leads")
    assert _counts(run) == (3, 2, 0, 0, 1)
    assert sorted((lead.title, lead.phone, lead.email, lead.source) for lead in ru.leads.list().items) == [
        ("Jane", "+79161234567", "jane@x.example", "web"), ("Max", "+79160001122", None, "import")]
    with pytest.raises(ValidationError, match="a mapping for leads"):
        Importer(admin).start(path, "contact", mapping_name="old crm leads")
    with pytest.raises(ValidationError, match="no column 'Nope'"):
        Importer(admin).start(path, "lead", mapping={"Nope": "title"})


def test_a_manager_imports_under_their_record_rules(ru: Crm, admin: Any, tmp_path: Path) -> None:
    mia = ru.users.create(email="mia@w.example", name="Mia", role="manager")
    other = ru.users.create(email="olga@w.example", name="Olga", role="manager")
    theirs = ru.as_user(other.id).contacts.create(first_name="Hidden", emails=["hid@x.example"])
    path = write(tmp_path, "m.csv", "name,email\nHidden Again,hid@x.example\nMine,mine@x.example\n")
    run = Importer(ru.as_user(mia.id)).start(path, "contact", mode="upsert")
    assert _counts(run) == (2, 1, 0, 1, 0)  # Olga's contact: not Mia's to change
    assert ru.contacts.get(theirs.id).first_name == "Hidden"
    assert ru.as_user(mia.id).contacts.list().items[0].responsible_id == mia.id


def _counts(run: Any) -> tuple[int, int, int, int, int]:
    assert run.total == run.created + run.updated + run.rejected + run.skipped
    return run.total, run.created, run.updated, run.rejected, run.skipped
