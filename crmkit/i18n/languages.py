"""The languages crmkit speaks, and which one a request, a command or a recipient gets.

Codes are the catalogs' folder names: ``en`` (the source), ``de``, ``ru``, ``sl`` and ``zh_Hans``
(Simplified Chinese; ``zh``, ``zh-CN``, ``zh-SG`` and ``zh-Hans`` all mean it, Traditional
``zh-TW``/``zh-HK``/``zh-Hant`` do not). The user's language wins, else the deployment's.
"""

from __future__ import annotations

import os
from typing import Mapping

LANGUAGES: dict[str, str] = {"en": "English", "de": "Deutsch", "ru": "Русский", "sl": "Slovenščina",
                             "zh_Hans": "简体中文"}
"""Each language's code and its own name (the language picker shows these)."""

DEFAULT = "en"
ENV_VAR = "CRMKIT_LANG"
_TRADITIONAL = frozenset({"tw", "hk", "mo", "hant"})


def normalize(tag: str | None) -> str | None:
    """Our code for a language tag (``de-AT`` -> ``de``, ``zh-CN`` -> ``zh_Hans``, ``ru_RU.UTF-8`` -> ``ru``),
    None when we do not have it."""
    if not tag:
        return None
    parts = tag.split(".")[0].split("@")[0].replace("_", "-").lower().split("-")
    base = parts[0]
    if base == "zh":
        return None if any(p in _TRADITIONAL for p in parts[1:]) else "zh_Hans"
    return base if base in LANGUAGES else None


def negotiate(accept_language: str | None) -> str | None:
    """The best of our languages for an ``Accept-Language`` header (q-values honoured), None if none fits."""
    if not accept_language:
        return None
    ranked: list[tuple[float, int, str]] = []
    for i, item in enumerate(accept_language.split(",")[:20]):
        tag, _, params = item.strip().partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        code = normalize(tag.strip())
        if code is not None and q > 0:
            ranked.append((-q, i, code))
    return min(ranked)[2] if ranked else None


def from_environment(environ: Mapping[str, str] | None = None) -> str | None:
    """The CLI's language from ``CRMKIT_LANG``, else the POSIX ``LC_ALL``/``LC_MESSAGES``/``LANG``
    (``C`` and ``POSIX`` mean none); None when nothing names a language we have."""
    env = os.environ if environ is None else environ
    for var in (ENV_VAR, "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var, "")
        if value and value not in ("C", "POSIX") and not value.startswith("C."):
            return normalize(value)
    return None


def pick(*candidates: str | None, default: str = DEFAULT) -> str:
    """The first candidate that is one of our languages (normalized), else ``default``."""
    for candidate in candidates:
        code = candidate if candidate in LANGUAGES else normalize(candidate)
        if code is not None:
            return code
    return default


def html_lang(code: str) -> str:
    """The BCP 47 tag of a code, for ``<html lang>`` and ``Content-Language`` (``zh_Hans`` -> ``zh-Hans``)."""
    return code.replace("_", "-")
