"""Error messages in the reader's language, without touching the code that raises them.

Services raise :class:`crmkit.CrmError` with an English message; its ``code`` (``validation_error``,
``not_found``, ``conflict``, ``forbidden``, ...) and ``field`` never change with the language. At
the edge (the API's error body, the CLI's ``Error:`` line, the UI's error page) :func:`localize`
matches the message against the templates below -- each one a catalog entry of
``crmkit/i18n/locale`` -- and fills the translated template with the parts it captured. A message
no template matches stays English. Captured card types (``deal``, ``contact``, ...) are translated
too; field names, ids and values are quoted as they are.
"""

from __future__ import annotations

import functools
import re
from typing import Callable

from .translate import N_, translator

ENTITIES = (N_("lead"), N_("contact"), N_("company"), N_("deal"), N_("task"), N_("user"), N_("pipeline"),
            N_("stage"), N_("file"), N_("token"), N_("note"), N_("template"), N_("import"))
"""Card and object types a message may name (translated where a template captures ``entity``)."""

TEMPLATES = (
    # validation: the core's field checks
    N_("%(field)s: is required"),
    N_("%(field)s: longer than %(n)s characters"),
    N_("%(field)s: shorter than %(n)s characters"),
    N_("%(field)s: at least %(n)s characters"),
    N_("%(field)s: must be at least %(n)s"),
    N_("%(field)s: must be at most %(n)s"),
    N_("%(field)s: must be from %(lo)s to %(hi)s"),
    N_("%(field)s: must be an integer from %(lo)s to %(hi)s"),
    N_("%(field)s: %(value)s is not a valid e-mail address"),
    N_("%(field)s: %(value)s is not a date (YYYY-MM-DD)"),
    N_("%(field)s: %(value)s is not an ISO datetime"),
    N_("%(field)s: %(value)s is not an ISO 8601 date-time"),
    N_("%(field)s: %(value)s has no timezone (add Z or +hh:mm)"),
    N_("%(field)s: %(value)s is not a decimal number"),
    N_("%(field)s: %(value)s is not a finite number"),
    N_("%(field)s: %(value)s is not an integer"),
    N_("%(field)s: %(value)s is not a boolean"),
    N_("%(field)s: %(value)s is not an ISO 4217 currency code"),
    N_("%(field)s: %(value)s is not one of %(allowed)s"),
    N_("%(field)s: %(value)s is not a valid id (1 to %(n)s)"),
    N_("%(field)s: expected true or false"),
    N_("%(field)s: expected text, got %(type)s"),
    N_("%(field)s: expected an id (integer), got %(value)s"),
    N_("%(field)s: expected a list of values"),
    N_("%(field)s: a phone number is required"),
    N_("%(field)s: unknown field (known: %(known)s)"),
    N_("%(field)s: unknown custom field for %(entity)s (known: %(known)s)"),
    N_("%(field)s: the amounts are in different currencies"),
    N_("%(field)s: %(value)s has more than %(n)s decimal places"),
    N_("reason: %(value)s is not a lost reason of this deployment (known: %(known)s)"),
    N_("stage: no stage %(value)s (stages: %(known)s)"),
    N_("stage: %(value)s is not a stage of %(pipeline)s (stages: %(known)s)"),
    N_("stage: change the stage with move, win or lose"),
    N_("password: at least %(n)s characters"),
    N_("body: a JSON object is required"),
    # not found
    N_("%(field)s: %(entity)s %(id)s does not exist"),
    N_("%(field)s: user %(id)s is deactivated"),
    N_("%(entity)s %(id)s does not exist"),
    N_("no such resource: %(path)s"),
    # conflict
    N_("%(entity)s %(id)s was changed by someone else (you have version %(mine)s, it is at %(theirs)s); "
       "reload it and try again"),
    N_("%(entity)s %(id)s was changed concurrently; reload it and try again"),
    N_("%(entity)s %(id)s is already %(state)s"),
    N_("%(entity)s %(id)s is already converted"),
    # permission denied, authentication
    N_("%(entity)s %(id)s: you may read it but not change it"),
    N_("your role (%(role)s) may not %(what)s"),
    N_("only an admin may create or change users"),
    N_("only an admin may %(what)s"),
    N_("authentication required: send Authorization: Bearer <token>"),
    N_("the token is not valid (unknown, revoked, or its user is deactivated)"),
    N_("internal server error"),
)
"""The messages translated, most specific first (the first template matching the whole message wins)."""

_GROUPS = {"field": r"[\w.\[\]-]+", "entity": r"[a-z_]+", "id": r"\S+", "n": r"-?\d+", "lo": r"-?\d+",
           "hi": r"-?\d+", "role": r"[^)]+", "type": r"\w+"}
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _pattern(template: str) -> re.Pattern[str]:
    parts, pos = [], 0
    for m in _PLACEHOLDER.finditer(template):
        parts.append(re.escape(template[pos:m.start()]))
        parts.append(f"(?P<{m.group(1)}>{_GROUPS.get(m.group(1), '.+?')})")
        pos = m.end()
    parts.append(re.escape(template[pos:]))
    return re.compile("".join(parts), re.DOTALL)


@functools.lru_cache(maxsize=1)
def _compiled() -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((t, _pattern(t)) for t in TEMPLATES)


def localize(message: str, lang: str | None) -> str:
    """``message`` (an error's English text) in ``lang``; unchanged for English, None, or no template."""
    if not lang or lang == "en" or not message:
        return message
    t = translator(lang)
    for template, pattern in _compiled():
        m = pattern.fullmatch(message)
        if m is None:
            continue
        values = m.groupdict()
        if "entity" in values:
            values["entity"] = t.gettext(values["entity"])
        return t.gettext(template) % values
    return message


def localizer(lang: str | None) -> Callable[[str], str]:
    """A one-argument :func:`localize` for ``lang``."""
    return functools.partial(localize, lang=lang)
