"""The web UI's catalog template (crmkit/ui/locale/messages.pot) holds exactly the strings that
``make i18n`` extracts from the code and the templates: a string the extraction cannot see (a call
inside an f-string, say) would silently drop out of the catalogs and show untranslated."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from crmkit.ui.i18n import LOCALE_DIR

ROOT = Path(__file__).resolve().parents[1]


def test_the_pot_is_what_the_extraction_finds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "messages.pot"
    monkeypatch.chdir(ROOT)  # the same command as scripts/ui-i18n.sh, from the repository's root
    CommandLineInterface().run(["pybabel", "-q", "extract", "-F", "crmkit/ui/babel.cfg", "-k", "N_",
                                "-k", "ngettext:1,2", "--no-location", "--sort-output", "-o", str(out), "."])
    with out.open("rb") as f:
        found = {m.id if isinstance(m.id, str) else tuple(m.id) for m in read_po(f) if m.id}
    with (LOCALE_DIR / "messages.pot").open("rb") as f:
        kept = {m.id if isinstance(m.id, str) else tuple(m.id) for m in read_po(f) if m.id}
    assert sorted(map(str, kept - found)) == [], "in messages.pot but no longer extracted"
    assert sorted(map(str, found - kept)) == [], "extracted but missing from messages.pot (run make i18n)"
