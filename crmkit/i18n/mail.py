"""The texts of the e-mails the core writes itself (task reminders, the daily digest) in a language.

English gives exactly the texts the messages module always sent (times in UTC as
``YYYY-MM-DD HH:MM``); another language translates them through ``crmkit/i18n/locale`` and writes
times in that locale's short format (still UTC, as the text says). Stored templates (``task.due``
...) replace these texts; their language variant is picked with the same language.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Sequence

from babel.dates import format_datetime

from .languages import pick
from .translate import N_, translator

if TYPE_CHECKING:  # pragma: no cover
    from ..core.app import Crm

SUBJECTS = {"due": N_("Task due %(when)s: %(title)s"), "overdue": N_("Task overdue: %(title)s")}
BODIES = {"due": N_("The task \"%(title)s\" is due %(when)s (UTC)."),
          "overdue": N_("The task \"%(title)s\" was due %(when)s (UTC) and is not done yet.")}
ON_CARD = N_("On %(entity)s %(id)s.")
DIGEST_SUBJECT = N_("Your tasks for %(date)s: %(n)s")
OVERDUE = N_("OVERDUE")
NOW = N_("now")


def deployment_language(crm: "Crm") -> str:
    """The deployment's language: ``[ui] locale`` in crmkit.toml (``en`` when not set)."""
    table = getattr(crm.settings, "ui", None) or {}
    return pick(table.get("locale") if isinstance(table, dict) else None)


def user_language(crm: "Crm", user_id: int | None) -> str:
    """The language to write to a user in: theirs, else the deployment's. crmkit stores no language
    per user yet (the web UI keeps the user's choice in a cookie), so this is the deployment's."""
    return deployment_language(crm)


def when(value: datetime | None, lang: str) -> str:
    if value is None:
        return translator(lang).gettext(NOW)
    if lang == "en":
        return f"{value:%Y-%m-%d %H:%M}"
    return format_datetime(value, "short", tzinfo=timezone.utc, locale=lang)


def reminder(kind: str, title: str, due_at: datetime | None, entity_type: str | None, entity_id: Any,
             lang: str) -> tuple[str, str]:
    """(subject, body) of a ``due`` or ``overdue`` task reminder."""
    t = translator(lang)
    values = {"title": title, "when": when(due_at, lang)}
    body = t.gettext(BODIES[kind]) % values + "\n"
    if entity_type:
        body += t.gettext(ON_CARD) % {"entity": t.gettext(entity_type), "id": entity_id} + "\n"
    return (t.gettext(SUBJECTS[kind]) % values)[:300], body


def digest(tasks: Sequence[Any], date: str, lang: str) -> tuple[str, str]:
    """(subject, body) of the daily digest: one line per task (``due_at``, ``title``, ``overdue_at``)."""
    t = translator(lang)
    flag = t.gettext(OVERDUE) + " "
    lines = [f"- {flag if r.overdue_at else ''}{when(r.due_at, lang)} {r.title}" for r in tasks]
    return t.gettext(DIGEST_SUBJECT) % {"date": date, "n": len(tasks)}, "\n".join(lines) + "\n"
