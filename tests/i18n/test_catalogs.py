"""Every catalog is complete: each string the extraction finds in the source (the core UI and every
plugin with UI text) is translated in every language, not fuzzy, with the right number of plural
forms and the same placeholders; and the check itself catches each kind of gap."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from crmkit.i18n.catalogs import problems
from crmkit.i18n.languages import LANGUAGES

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import ui_i18n  # noqa: E402  (the tool behind `make i18n`)

DOMAINS = ui_i18n.domains()
IDS = [str(out.relative_to(ROOT)) for _, _, out in DOMAINS]


def _ids(pot: Path) -> set[object]:
    with pot.open("rb") as f:
        return {m.id if isinstance(m.id, str) else tuple(m.id) for m in read_po(f) if m.id}


def test_the_core_ui_and_every_plugin_with_ui_text_have_catalogs() -> None:
    assert IDS[0] == "crmkit/ui/locale"
    assert {"fitness", "installments", "inventory", "telephony"} <= {Path(i).parts[1] for i in IDS[1:]}
    assert set(LANGUAGES) == {"en", "de", "ru", "sl", "zh_Hans"}


@pytest.mark.parametrize(("source", "mapping", "out"), DOMAINS, ids=IDS)
def test_each_pot_is_what_the_extraction_finds(source: Path, mapping: Path, out: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = tmp_path / "locale"
    fresh.mkdir()
    monkeypatch.setattr(ui_i18n, "LANGUAGES", {"en": "English"})  # extract only, write no .po
    monkeypatch.chdir(ROOT)
    ui_i18n.extract(source, mapping, fresh)
    found, kept = _ids(fresh / "messages.pot"), _ids(out / "messages.pot")
    assert sorted(map(str, found - kept)) == [], "extracted but missing from messages.pot (run make i18n)"
    assert sorted(map(str, kept - found)) == [], "in messages.pot but no longer extracted (run make i18n)"


@pytest.mark.parametrize("out", [d[2] for d in DOMAINS], ids=IDS)
def test_every_catalog_is_complete(out: Path) -> None:
    assert problems(out) == []


def _catalog(folder: Path, lang: str, entries: dict[object, object], fuzzy: set[object] = frozenset()) -> None:
    cat = Catalog(locale=lang)
    for msgid, string in entries.items():
        cat.add(msgid, string, flags=("fuzzy",) if msgid in fuzzy else ())
    po = folder / lang / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True, exist_ok=True)
    with po.open("wb") as f:
        write_po(f, cat)


def test_the_check_names_each_kind_of_gap(tmp_path: Path) -> None:
    source = Catalog()
    for msgid in ("Save", "Hello, %(name)s", "Cancel", "Done", ("%(num)s day", "%(num)s days")):
        source.add(msgid)
    with (tmp_path / "messages.pot").open("wb") as f:
        write_po(f, source)
    _catalog(tmp_path, "sl", {"Save": "Shrani", "Hello, %(name)s": "Pozdravljeni",  # placeholder lost
                              "Cancel": "Prekliči", "Done": "",                       # untranslated
                              ("%(num)s day", "%(num)s days"): ("%(num)s dan", "%(num)s dni")})  # 2 forms of 4
    _catalog(tmp_path, "de", {"Save": "Speichern", "Hello, %(name)s": "Hallo, %(name)s", "Done": "Erledigt",
                              ("%(num)s day", "%(num)s days"): ("%(num)s Tag", "%(num)s Tage"), "Cancel": "Abbr."},
             fuzzy={"Cancel"})
    found = "\n".join(problems(tmp_path, ("en", "de", "sl", "ru")))
    assert "placeholders differ: Hello" in found and "untranslated: Done" in found
    assert "2 plural forms instead of 4: %(num)s day" in found
    assert "fuzzy: Cancel" in found
    assert "ru/LC_MESSAGES/messages.po: missing" in found
    assert "sl/LC_MESSAGES/messages.po: 'missing" not in found  # every source string is there, if badly
    assert len(found.splitlines()) == 5


def test_a_string_added_to_the_source_fails_the_check_until_translated(tmp_path: Path) -> None:
    """The loop `make i18n` runs: a new string reaches every catalog untranslated, and the check fails."""
    plugin = tmp_path / "crmkit_demo"
    shutil.copytree(ROOT / "plugins/installments/crmkit_installments/locale", plugin / "locale")
    (plugin / "ui.py").write_text('from crmkit.ui import N_\nLABELS = (N_("Record payment"), N_("A brand-new label"))\n')
    ui_i18n.extract(plugin, Path(), plugin / "locale")
    found = problems(plugin / "locale")
    assert sorted(p.split("/")[-3] for p in found) == ["de", "ru", "sl", "zh_Hans"]
    assert all(p.endswith("'untranslated: A brand-new label'") for p in found)
