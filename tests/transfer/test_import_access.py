"""An import obeys the importing user's record rules: a contact row naming a company links only to
a company that user may see (the bulk path included); ``[settings.duplicates]`` is the core's."""

from __future__ import annotations

from pathlib import Path

import attrs

from crmkit import Crm
from crmkit.core.checks import problems
from crmkit.core.plugin_settings import parse
from crmkit.transfer import Importer

from .conftest import write


def test_a_row_never_links_to_a_company_its_user_cannot_see(ru: Crm, tmp_path: Path) -> None:
    mia = ru.users.create(email="mia@w.example", name="Mia", role="manager")
    max_ = ru.users.create(email="max@w.example", name="Max", role="manager")
    theirs = ru.as_user(max_.id).companies.create(name="Acme")
    mine = ru.as_user(mia.id).companies.create(name="Beta")
    path = write(tmp_path, "c.csv", "name,phone,company\nAnn Lee,+79161234567,acme\nBo Day,+79161234568,BETA\n")
    run = Importer(ru.as_user(mia.id)).start(path, "contact")
    assert (run.created, run.rejected) == (2, 0)
    ann = ru.contacts.find_by_phone("+79161234567")[0]
    bo = ru.contacts.find_by_phone("+79161234568")[0]
    assert ann.company_id != theirs.id and bo.company_id == mine.id
    made = ru.companies.get(ann.company_id)  # a company of Mia's own, not a link to Max's card
    assert (made.name, made.responsible_id) == ("acme", mia.id)
    assert ru.as_user(mia.id).contacts.get(ann.id).company_id == made.id
    run = Importer(ru.as_user(max_.id)).start(
        write(tmp_path, "d.csv", "name,phone,company\nCy Ray,+79161234569,ACME\n"), "contact")
    assert ru.contacts.find_by_phone("+79161234569")[0].company_id == theirs.id  # Max sees his own


def test_the_duplicates_section_is_the_cores(ru: Crm) -> None:
    settings = attrs.evolve(ru.settings, plugin_settings={"duplicates": {"strict": True}})
    assert problems(settings) == []  # read by crmkit, not an unknown section
    value, found = parse("duplicates", None, {}, settings)  # and no plugin may take the name
    assert value is None and "core settings section" in found[0]
