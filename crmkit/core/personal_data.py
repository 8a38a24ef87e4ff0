"""Who a personal-data export or erasure is about, and finding them in text.

A :class:`DataSubject` is one contact with the cards that are about them and every name,
phone number and e-mail address they are known by (present and past). Plugins get it in
``crm_personal_data_export`` and ``crm_personal_data_erase``; ``subject.scrub(value)``
replaces every mention of the person in text or JSON with :data:`PLACEHOLDER`.

What counts as a mention:

* an e-mail address, case-insensitively, anywhere in the text;
* a phone number in any common format: ``+14155550134``, ``14155550134``,
  ``(415) 555-0134``, ``+1 415 555 0134``, ``0049 30 ...``, ``030/...`` (its national number
  with or without the country code or trunk prefix; spaces, dots, dashes, slashes, brackets);
* a full name (first and last, either order, any spacing or a comma between them), as
  whole words, case-insensitively;
* on the cards about the person only (their leads, deals, tasks, notes, events), also the
  first name and the last name alone (two characters or more), as whole words -- except in a
  value that is one of the deployment's keys or statuses (a stage ``won``, a source ``call``);
* in JSON, a record of the person (an object with their ``first_name``/``last_name``, or a
  lead-like object with their ``name``, ``phone`` or ``email``): its personal fields are
  emptied as on the card itself (a stored API response keeps its shape).
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Iterable

import attrs
import phonenumbers

PLACEHOLDER = "[erased]"
"""What erased text is replaced with."""

_SEP = r"[\s.\-/()]*"  # what may stand between the digits of a written phone number
MIN_WORD = 2  # a first or last name alone shorter than this is not looked for


def _parts(e164: str) -> tuple[str, str]:
    """(country code, national significant number) of an E.164 number (digits only if it is none)."""
    try:
        parsed = phonenumbers.parse(e164, None)
        return str(parsed.country_code), phonenumbers.national_significant_number(parsed)
    except phonenumbers.NumberParseException:
        return "", re.sub(r"\D", "", e164)


def national_number(e164: str) -> str | None:
    """The digits every written form of ``e164`` contains in a row once separators are removed
    (``2025550187`` of ``+12025550187``); ``None`` for text that is not a phone number."""
    national = _parts(e164)[1]
    return national if len(national) >= 3 else None


def phone_pattern(e164: str) -> str | None:
    """A regular expression for ``e164`` written in any common way (see the module doc); ``None``
    for text that is not a phone number."""
    country, national = _parts(e164)
    if len(national) < 3:
        return None
    body = _SEP.join(national)
    prefix = rf"(?:(?:(?:\+|00){_SEP})?{country}{_SEP}|0{_SEP})?" if country else ""
    return rf"(?<!\d){prefix}\(?{body}(?!\d)"


def name_pattern(name: str) -> str:
    """A regular expression for ``name`` as whole words, any spacing (or a comma) between its words."""
    return r"(?<!\w)" + r"[\s,]+".join(re.escape(w) for w in name.split()) + r"(?!\w)"


class Matcher:
    """Finds and replaces mentions of a person in text and JSON-like data.

    ``emails``, ``texts``, ``phones`` and ``names`` (full names) are looked for everywhere;
    ``words`` (a first or last name alone) in any text except the values in ``keep`` (the
    deployment's keys and statuses), so that the surname Won leaves a deal's ``won`` stage alone."""

    def __init__(self, *, names: Iterable[str] = (), phones: Iterable[str] = (), emails: Iterable[str] = (),
                 texts: Iterable[str] = (), words: Iterable[str] = (), keep: Iterable[str] = (),
                 record: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> None:
        self._record = record
        self._keep = frozenset(keep)
        exact = sorted({t for t in (*emails, *texts) if t and t.strip()}, key=len, reverse=True)
        parts = [re.escape(t) for t in exact]
        parts += [p for p in (phone_pattern(n) for n in sorted(set(phones))) if p is not None]
        parts += [name_pattern(n) for n in _longest_first(names)]
        self._strong = re.compile("|".join(parts), re.IGNORECASE) if parts else None
        singles = _longest_first(words)
        self._weak = re.compile("|".join(name_pattern(w) for w in singles), re.IGNORECASE) if singles else None

    def text(self, value: str) -> str:
        """``value`` with every mention replaced by :data:`PLACEHOLDER`."""
        if not value:
            return value
        if self._strong is not None:
            value = self._strong.sub(PLACEHOLDER, value)
        if self._weak is not None and value not in self._keep:
            value = self._weak.sub(PLACEHOLDER, value)
        return value

    def value(self, value: Any) -> Any:
        """Text, or JSON-like data (dicts, lists) walked through, with every mention replaced."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            record = self._record(value) if self._record is not None else value
            return {k: self.value(v) for k, v in record.items()}
        if isinstance(value, (list, tuple)):
            return [self.value(v) for v in value]
        return value

    def found(self, value: Any) -> bool:
        """Whether ``value`` (text or JSON-like data) mentions anything this matcher looks for."""
        return bool(self.value(value) != value)


def _longest_first(names: Iterable[str]) -> list[str]:
    cleaned = {" ".join(n.split()) for n in names}
    return sorted((n for n in cleaned if n and PLACEHOLDER not in n), key=len, reverse=True)


def json_text(value: str, matcher: Matcher) -> str:
    """Text that may hold JSON (a stored API response): scrubbed as data when it parses, else as text."""
    stripped = value.lstrip()
    if stripped[:1] in ("{", "["):
        try:
            data = json.loads(value)
        except ValueError:
            return matcher.text(value)
        scrubbed = matcher.value(data)
        return value if scrubbed == data else json.dumps(scrubbed, ensure_ascii=False, separators=(",", ":"))
    return matcher.text(value)


@attrs.define
class DataSubject:
    """The person an export or erasure is about: their contact, the cards about them, how they are known.

    :param contact_id: the contact.
    :param lead_ids: their leads: linked to the contact, or carrying one of its phones or e-mails.
    :param deal_ids: their deals: of the contact or of those leads, and the copies of those deals.
    :param task_ids: the tasks on the contact, those leads and those deals.
    :param names: full names they are known by (the contact's, now and before; their leads' names).
    :param phones: phone numbers (E.164), now and before, the contact's and their leads'.
    :param emails: e-mail addresses (lower case), now and before.
    :param words: single names (a first or a last name alone), looked for on the cards about them only.
    :param texts: exact texts to erase too (see :meth:`erase_text`).
    :param keep: values a single name never replaces: the deployment's keys and statuses
        (``won``, ``new``, ``call``, stage and pipeline keys, lost reasons, custom-field choices).
    """

    contact_id: int
    lead_ids: tuple[int, ...] = ()
    deal_ids: tuple[int, ...] = ()
    task_ids: tuple[int, ...] = ()
    names: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    words: tuple[str, ...] = ()
    texts: list[str] = attrs.field(factory=list)
    keep: frozenset[str] = frozenset()
    _cache: dict[bool, Matcher] = attrs.field(factory=dict, eq=False, repr=False)

    def matcher(self, *, on_their_cards: bool = True) -> Matcher:
        """The matcher of this person's mentions: on the cards about them (names alone too, the
        default) or anywhere (full names, phones, e-mails, :meth:`erase_text` texts)."""
        found = self._cache.get(on_their_cards)
        if found is None:
            found = self._cache[on_their_cards] = Matcher(
                names=self.names, phones=self.phones, emails=self.emails, texts=self.texts,
                words=self.words if on_their_cards else (), keep=self.keep, record=self._record)
        return found

    def _record(self, record: dict[str, Any]) -> dict[str, Any]:
        """A JSON object that is a record of the person (a contact with their name, or with their id and
        another of their contact details; a lead with their name, phone or e-mail) without their
        personal fields: names, phones, e-mails, birthday and custom fields, emptied as on the card
        itself (a stored API response keeps its shape)."""
        first, last = record.get("first_name"), record.get("last_name")
        if isinstance(first, str) or isinstance(last, str):
            full = " ".join(f"{first if isinstance(first, str) else ''} {last if isinstance(last, str) else ''}"
                            .split())
            theirs = full in self.names or (full in self.words and (
                record.get("id") == self.contact_id or _any(record.get("phones"), self.phones)
                or _any(record.get("emails"), self.emails)))
            if theirs:
                empty: dict[str, Any] = {"first_name": PLACEHOLDER, "last_name": "", "phones": [], "emails": [],
                                         "birthday": None, "custom": {}}
                return {**record, **{k: v for k, v in empty.items() if k in record}}
        name = record.get("name")
        if isinstance(name, str) and ("phone" in record or "email" in record) and (
                " ".join(name.split()) in self.names or record.get("phone") in self.phones
                or record.get("email") in self.emails):
            cleared = {"name": PLACEHOLDER if name else name, "phone": None, "email": None}
            return {**record, **{k: v for k, v in cleared.items() if k in record}}
        return record

    def scrub(self, value: Any) -> Any:
        """``value`` (text, or JSON-like data) with every mention of the person replaced by ``"[erased]"``."""
        return self.matcher().value(value)

    def mentions(self, value: Any) -> bool:
        """Whether ``value`` (text, or JSON-like data) mentions the person."""
        return self.matcher().found(value)

    def erase_text(self, *texts: str) -> None:
        """Erase these exact texts too, wherever the core finds them (its cards, the event log): e.g. a
        recording URL a plugin put into its events. Call it from ``crm_personal_data_erase``."""
        added = [t for t in texts if isinstance(t, str) and t and t not in self.texts]
        if added:
            self.texts.extend(added)
            self._cache.clear()

    def cards(self) -> list[tuple[str, tuple[int, ...]]]:
        """The cards about the person, by type: ``[("contact", (id,)), ("lead", ...), ...]``."""
        return [("contact", (self.contact_id,)), ("lead", self.lead_ids), ("deal", self.deal_ids),
                ("task", self.task_ids)]


def _any(values: Any, known: tuple[str, ...]) -> bool:
    return isinstance(values, list) and any(v in known for v in values)


def known_names(first: str | None, last: str | None = None) -> tuple[set[str], set[str]]:
    """(full names, single names) to look for, from a first and a last name (or a lead's one name field).

    A full name has two words or more (``"Jane Doe"``, also ``"Doe Jane"``); a single name is a first
    or a last name alone, or one of their words, of :data:`MIN_WORD` characters or more."""
    first, last = " ".join((first or "").split()), " ".join((last or "").split())
    both = f"{first} {last}".strip()
    full = {both} if len(both.split()) > 1 else set()
    if first and last:
        full.add(f"{last} {first}")
    single = {w for w in (first, last, *first.split(), *last.split()) if len(w) >= MIN_WORD}
    return full, single
