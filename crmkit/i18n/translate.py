"""The catalog of crmkit's text outside the web UI: error messages, CLI lines and e-mails.

Its strings are marked with :func:`N_` in ``crmkit/i18n`` (the error templates of
:mod:`crmkit.i18n.errors`, the e-mails of :mod:`crmkit.i18n.mail`) and kept in
``crmkit/i18n/locale/<lang>/LC_MESSAGES/messages.po``, checked complete like the UI's.
"""

from __future__ import annotations

import gettext
from pathlib import Path

from .catalogs import merged

LOCALE_DIR = Path(__file__).parent / "locale"


def N_(message: str) -> str:
    """Mark ``message`` for the catalog; it is translated where it is shown."""
    return message


def translator(lang: str) -> gettext.NullTranslations:
    """The catalog of ``lang`` (English and unknown languages: the source strings)."""
    return merged(lang, (LOCALE_DIR,))
