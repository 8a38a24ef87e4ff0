"""Gettext catalogs compiled in memory, merged across the core and the plugins, and checked.

A catalog folder holds ``messages.pot`` (the source strings, English) and
``<lang>/LC_MESSAGES/messages.po`` per language. Nothing is compiled ahead: a ``.po`` file becomes a
:class:`gettext.GNUTranslations` when first used. A plugin ships its folder as ``locale/`` inside its
package (next to the module registered as the plugin); :func:`plugin_dirs` finds the enabled ones'.
"""

from __future__ import annotations

import functools
import gettext
import io
import re
import sys
import weakref
from pathlib import Path
from typing import Any, Iterable

from .languages import LANGUAGES

__all__ = ["LANGUAGES", "compiled", "merged", "plugin_dirs", "problems"]


@functools.lru_cache(maxsize=None)
def compiled(folder: Path, lang: str) -> gettext.GNUTranslations | None:
    """The catalog of ``lang`` in ``folder``, None when there is none (English is the source)."""
    po = folder / lang / "LC_MESSAGES" / "messages.po"
    if lang == "en" or not po.is_file():
        return None
    from babel.messages.mofile import write_mo  # here: a CLI that reports no error never loads Babel
    from babel.messages.pofile import read_po

    with po.open("rb") as f:
        catalog = read_po(f, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


@functools.lru_cache(maxsize=256)
def merged(lang: str, folders: tuple[Path, ...]) -> gettext.NullTranslations:
    """One translation of ``lang`` over ``folders`` (the first that has a string wins; English: the source)."""
    found = [c for c in (compiled(f, lang) for f in folders) if c is not None]
    if not found:
        return gettext.NullTranslations()
    first = _copy(found[0])
    for other in found[1:]:
        first.add_fallback(_copy(other))
    return first


def _copy(t: gettext.GNUTranslations) -> gettext.GNUTranslations:
    """A shallow copy, so chaining fallbacks never changes the cached catalog itself."""
    clone = gettext.GNUTranslations.__new__(gettext.GNUTranslations)
    clone.__dict__.update(t.__dict__)
    clone._fallback = None  # type: ignore[attr-defined]
    return clone


_PLUGIN_DIRS: "weakref.WeakKeyDictionary[Any, tuple[Path, ...]]" = weakref.WeakKeyDictionary()


def plugin_dirs(pm: Any) -> tuple[Path, ...]:
    """The ``locale/`` folders of the plugins registered with ``pm`` (a pluggy manager), in its order."""
    cached = _PLUGIN_DIRS.get(pm)
    if cached is not None:
        return cached
    out: list[Path] = []
    for plugin in pm.get_plugins():
        module = sys.modules.get(getattr(plugin, "__name__", "")) or sys.modules.get(type(plugin).__module__)
        top = (getattr(module, "__package__", None) or getattr(module, "__name__", "")).split(".")[0]
        if not top or top.split(".")[0] == "crmkit":  # the core's default plugins: the core catalogs
            continue
        package = sys.modules.get(top)
        where = getattr(package, "__file__", None)
        folder = Path(where).parent / "locale" if where else None
        if folder is not None and folder.is_dir() and folder not in out:
            out.append(folder)
    result = tuple(out)
    _PLUGIN_DIRS[pm] = result
    return result


def problems(folder: Path, languages: Iterable[str] = LANGUAGES) -> list[str]:
    """What keeps ``folder``'s catalogs from being complete: a source string missing, untranslated or
    fuzzy in a language, a plural with the wrong number of forms, a placeholder lost. Empty: complete."""
    from babel.messages.plurals import get_plural
    from babel.messages.pofile import PoFileError, read_po

    with (folder / "messages.pot").open("rb") as f:
        source = [m for m in read_po(f) if m.id]
    out = []
    for lang in languages:
        if lang == "en":
            continue
        po = folder / lang / "LC_MESSAGES" / "messages.po"
        if not po.is_file():
            out.append(f"{po}: missing")
            continue
        try:
            with po.open("rb") as f:
                catalog = read_po(f, locale=lang, abort_invalid=True)  # e.g. more plural forms than the language has
        except PoFileError as exc:
            out.append(f"{po}: {exc}")
            continue
        forms = get_plural(lang).num_plurals
        if catalog.num_plurals != forms:
            out.append(f"{po}: Plural-Forms has {catalog.num_plurals} forms, {lang} needs {forms}")
        for m in source:
            out.extend(f"{po}: {msg!r:.90}" for msg in _entry_problems(m, catalog.get(m.id), forms))
    return out


def _entry_problems(source: Any, entry: Any, forms: int) -> list[str]:
    key = source.id if isinstance(source.id, str) else source.id[0]
    if entry is None:
        return [f"missing: {key}"]
    if entry.fuzzy:
        return [f"fuzzy: {key}"]
    strings = [entry.string] if isinstance(entry.string, str) else list(entry.string)
    if isinstance(source.id, tuple) and sum(map(bool, strings)) != forms:
        return [f"{sum(map(bool, strings))} plural forms instead of {forms}: {key}"]
    if not all(strings):
        return [f"untranslated: {key}"]
    wanted = _placeholders(key)
    if isinstance(source.id, tuple):
        wanted |= _placeholders(source.id[1])
    lost = [s for s in strings if not _placeholders(s) <= wanted or (len(strings) == 1 and _placeholders(s) != wanted)]
    return [f"placeholders differ: {key}"] if lost else []


def _placeholders(text: str) -> set[str]:


    return set(re.findall(r"%\((\w+)\)[sdr]", text))
