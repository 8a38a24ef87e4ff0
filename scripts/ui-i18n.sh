#!/usr/bin/env bash
# The web UI's catalogs (the core UI's and each plugin's): extract the strings into each
# messages.pot and update every language's messages.po (`scripts/ui-i18n.sh`), or only check
# that every catalog is complete (`scripts/ui-i18n.sh check`; tests/i18n runs the same check).
# Translate the new entries (msgstr ""), nothing to compile: the UI compiles the .po files itself.
# See docs/languages.md and scripts/ui_i18n.py.
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-.venv/bin/python}" scripts/ui_i18n.py "$@"
