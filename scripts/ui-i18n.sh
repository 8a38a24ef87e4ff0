#!/usr/bin/env bash
# The web UI's catalogs: extract every string of crmkit/ui (Python and templates) and of the
# plugins' ui.py into crmkit/ui/locale/messages.pot, then update each language's messages.po.
# Translate the new entries (msgstr ""), then `scripts/ui-i18n.sh check` must pass (CI runs
# the same check as a test). Nothing to compile: the UI compiles the .po files when it starts.
set -euo pipefail
cd "$(dirname "$0")/.."
PYBABEL="${PYBABEL:-.venv/bin/pybabel}"
LOCALES=crmkit/ui/locale
if [ "${1:-}" != "check" ]; then
  "$PYBABEL" extract -F crmkit/ui/babel.cfg -k N_ -k ngettext:1,2 --no-location --sort-output \
    --project crmkit --copyright-holder "crmkit" -o "$LOCALES/messages.pot" . >/dev/null
  for lang in ru; do
    if [ -f "$LOCALES/$lang/LC_MESSAGES/messages.po" ]; then
      "$PYBABEL" update --no-fuzzy-matching -i "$LOCALES/messages.pot" -d "$LOCALES" -l "$lang" --omit-header >/dev/null
    else
      "$PYBABEL" init -i "$LOCALES/messages.pot" -d "$LOCALES" -l "$lang" >/dev/null
    fi
  done
fi
"$PYBABEL" compile --statistics -d "$LOCALES" -o /dev/null -i "$LOCALES/ru/LC_MESSAGES/messages.po" -l ru 2>&1
