"""The web UI's catalogs: extract, update, check (``make i18n`` = ``scripts/ui-i18n.sh``).

Two kinds of catalog, one mechanism:

* the core UI: the strings of ``crmkit/ui`` (Python and templates, ``crmkit/ui/babel.cfg``)
  in ``crmkit/ui/locale/messages.pot`` and ``crmkit/ui/locale/<lang>/LC_MESSAGES/messages.po``;
* the core's other text (error messages, e-mails, CLI lines: ``crmkit/i18n``) in ``crmkit/i18n/locale``;
* each plugin package with UI strings (``plugins/*/crmkit_*``): the strings of its Python modules
  and its ``templates/`` in ``<package>/locale/messages.pot`` and ``<package>/locale/<lang>/...``.

``extract`` (the default) writes each ``messages.pot`` and updates (or creates) every language's
``messages.po`` without fuzzy matching; new entries come out untranslated (``msgstr ""``) and
``check`` -- the same test as ``tests/i18n`` -- fails until they are translated.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from babel.messages.frontend import CommandLineInterface

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crmkit.i18n.catalogs import LANGUAGES, problems  # noqa: E402

KEYWORDS = ["-k", "N_", "-k", "ngettext:1,2"]
PLUGIN_MAPPING = "[python: **.py]\n[jinja2: templates/**.html]\n"


def domains() -> list[tuple[Path, Path, Path]]:
    """(directory to extract from, mapping file, locale folder) of the core UI, the core's other text and each plugin."""
    out = [(ROOT, ROOT / "crmkit/ui/babel.cfg", ROOT / "crmkit/ui/locale"),
           (ROOT, ROOT / "crmkit/i18n/babel.cfg", ROOT / "crmkit/i18n/locale")]
    for package in sorted(ROOT.glob("plugins/*/crmkit_*")):
        if package.is_dir() and not package.name.endswith(".egg-info") and has_strings(package):
            out.append((package, Path(), package / "locale"))
    return out


def has_strings(package: Path) -> bool:
    """Whether a plugin package shows text in the UI (a ``ui*.py`` module or templates)."""
    return any(package.glob("ui*.py")) or (package / "templates").is_dir()


def extract(source: Path, mapping: Path, out: Path) -> None:
    cli = CommandLineInterface()
    with tempfile.TemporaryDirectory() as tmp:
        if mapping == Path():
            mapping = Path(tmp) / "babel.cfg"
            mapping.write_text(PLUGIN_MAPPING)
        cli.run(["pybabel", "-q", "extract", "-F", str(mapping), *KEYWORDS, "--no-location", "--sort-output",
                 "--no-wrap", "--project", "crmkit", "--copyright-holder", "crmkit", "-o", str(out / "messages.pot"), str(source)])
    for lang in LANGUAGES:
        if lang == "en":
            continue
        po = out / lang / "LC_MESSAGES" / "messages.po"
        verb = ["update", "--no-fuzzy-matching", "--ignore-obsolete", "--no-wrap"] if po.is_file() else ["init"]
        cli.run(["pybabel", "-q", *verb, "-i", str(out / "messages.pot"), "-d", str(out), "-l", lang])


def main(argv: list[str]) -> int:
    check_only = argv[:1] == ["check"]
    failed = 0
    for source, mapping, out in domains():
        if not check_only:
            extract(source, mapping, out)
        for line in problems(out):
            print(line)
            failed += 1
    print("catalogs: complete" if not failed else f"catalogs: {failed} problem(s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
