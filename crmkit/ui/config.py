"""``[ui]`` in crmkit.toml: the web UI's brand, language, labels and session secret.

    [ui]
    product_name = "Bright Windows CRM"   # default: the top-level name
    logo = "brand/logo.svg"               # a PNG, SVG or JPEG file next to crmkit.toml (served at /brand/logo)
    primary_color = "#1d4ed8"             # links, buttons, the header
    accent_color = "#f59e0b"              # stalled cards, highlights
    locale = "en"                         # the default language: en, de, ru, sl or zh_Hans (a user may switch)
    secret_key = "..."                    # signs session cookies (env CRMKIT_SECRET_KEY overrides)
    session_hours = 12                    # a login lasts this long
    stall_days = { default = 14, proposal_sent = 3 }   # a card longer than this in a stage is "stalled"
    [ui.labels]
    deal = "Membership sale"              # or { en = "Membership sale", ru = "Продажа абонемента" }
    deals = "Membership sales"

Without ``secret_key`` (and the env var), a key is generated on the first start and kept in
``ui_secret.key`` next to crmkit.toml (readable by its owner only); every web process of a
deployment must share the same key, so a deployment on several machines sets it.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import attrs

from ..core.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from ..core.app import Crm

LOCALES = ("en", "de", "ru", "sl", "zh_Hans")  # crmkit.i18n.LANGUAGES; docs/languages.md
LABEL_KEYS = ("lead", "leads", "contact", "contacts", "company", "companies", "deal", "deals", "task", "tasks")
SECRET_ENV = "CRMKIT_SECRET_KEY"
SECRET_FILE = "ui_secret.key"
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_KEYS = frozenset({"product_name", "logo", "primary_color", "accent_color", "locale", "secret_key",
                   "session_hours", "stall_days", "labels", "secure_cookies"})
LOGO_TYPES = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


@attrs.frozen
class UiSettings:
    """The parsed ``[ui]`` table (defaults in the module docstring)."""

    product_name: str
    secret_key: bytes = attrs.field(repr=False)
    logo: Path | None = None
    primary_color: str = "#1d4ed8"
    accent_color: str = "#b45309"
    locale: str = "en"
    session_hours: float = 12.0
    stall_days: Mapping[str, float] = attrs.field(factory=lambda: {"default": 14.0})
    labels: Mapping[str, Mapping[str, str]] = attrs.field(factory=dict)
    secure_cookies: bool | None = None
    """Mark cookies ``Secure`` (None: when the request came over https)."""

    def label(self, key: str, locale: str) -> str | None:
        """The deployment's name for ``key`` (``deal``, ``deals``, ...) in ``locale``, if it renames it."""
        names = self.labels.get(key)
        if not names:
            return None
        return names.get(locale) or names.get("*")

    def stall_limit(self, pipeline: str, stage: str) -> float:
        """Days a card may stay in ``stage`` before it counts as stalled."""
        days = self.stall_days
        return days.get(f"{pipeline}.{stage}", days.get(stage, days.get("default", 14.0)))


def _fail(key: str, message: str) -> ConfigError:
    return ConfigError(f"crmkit.toml: [ui] {key}: {message}")


def parse(crm: "Crm", environ: Mapping[str, str] | None = None) -> UiSettings:
    """The deployment's ``[ui]`` table, checked (a :class:`ConfigError` naming the key)."""
    settings = crm.settings
    table: Mapping[str, Any] = getattr(settings, "ui", None) or {}
    env = os.environ if environ is None else environ
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise _fail(unknown[0], f"unknown key (known: {', '.join(sorted(_KEYS))})")
    out: dict[str, Any] = {"product_name": _text(table.get("product_name", settings.name), "product_name")}
    for key in ("primary_color", "accent_color"):
        if key in table:
            if not isinstance(table[key], str) or not _COLOR.match(table[key]):
                raise _fail(key, f"a colour like \"#1d4ed8\", got {table[key]!r}")
            out[key] = table[key]
    if "locale" in table:
        if table["locale"] not in LOCALES:
            raise _fail("locale", f"one of {', '.join(LOCALES)}, got {table['locale']!r}")
        out["locale"] = table["locale"]
    if "logo" in table:
        out["logo"] = _logo(settings.base_dir, table["logo"])
    if "session_hours" in table:
        out["session_hours"] = _number(table["session_hours"], "session_hours", 0.01, 24 * 90)
    if "stall_days" in table:
        if not isinstance(table["stall_days"], Mapping):
            raise _fail("stall_days", "a table of stage = days")
        out["stall_days"] = {"default": 14.0, **{str(k): _number(v, f"stall_days.{k}", 0, 3650)
                                                 for k, v in table["stall_days"].items()}}
    if "labels" in table:
        out["labels"] = _labels(table["labels"])
    if "secure_cookies" in table:
        if not isinstance(table["secure_cookies"], bool):
            raise _fail("secure_cookies", "true or false")
        out["secure_cookies"] = table["secure_cookies"]
    out["secret_key"] = _secret(env.get(SECRET_ENV) or table.get("secret_key"), settings.base_dir)
    return UiSettings(**out)


def _text(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 100:
        raise _fail(key, "text of 1 to 100 characters")
    return value.strip()


def _number(value: Any, key: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
        raise _fail(key, f"a number from {lo:g} to {hi:g}, got {value!r}")
    return float(value)


def _logo(base: Path, value: Any) -> Path:
    if not isinstance(value, str) or not value:
        raise _fail("logo", "the path of an image file")
    path = (base / value).resolve()
    if path.suffix.lower() not in LOGO_TYPES:
        raise _fail("logo", f"a {', '.join(LOGO_TYPES)} file, got {value!r}")
    if not path.is_file():
        raise _fail("logo", f"no file {path}")
    return path


def _labels(value: Any) -> dict[str, dict[str, str]]:
    if not isinstance(value, Mapping):
        raise _fail("labels", "a table of entity = name")
    out: dict[str, dict[str, str]] = {}
    for key, names in value.items():
        if key not in LABEL_KEYS:
            raise _fail(f"labels.{key}", f"not a label (known: {', '.join(LABEL_KEYS)})")
        if isinstance(names, str):
            out[key] = {"*": _text(names, f"labels.{key}")}
        elif isinstance(names, Mapping) and names and all(k in LOCALES for k in names):
            out[key] = {str(k): _text(v, f"labels.{key}.{k}") for k, v in names.items()}
        else:
            raise _fail(f"labels.{key}", f"a name, or a table of names by language ({', '.join(LOCALES)})")
    return out


def _secret(value: Any, base: Path) -> bytes:
    """The key that signs sessions: the setting, else the deployment's generated key file."""
    if value is not None:
        if not isinstance(value, str) or len(value) < 32:
            raise _fail("secret_key", f"at least 32 characters (or the env var {SECRET_ENV}); "
                                      "e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(32))'")
        return value.encode("utf-8")
    path = base / SECRET_FILE
    if not path.exists():
        temp = base / f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write(secrets.token_urlsafe(48) + "\n")
            try:
                os.link(temp, path)  # atomic: two processes starting at once agree on one key
            except FileExistsError:
                pass
            finally:
                temp.unlink()
        except OSError as exc:
            raise ConfigError(f"crmkit.toml: [ui] secret_key is not set and {path} cannot be written "
                              f"({exc.strerror})") from None
    key = path.read_text(encoding="ascii").strip()
    if len(key) < 32:
        raise ConfigError(f"{path}: a damaged session key; delete it (everyone is logged out) or set [ui] secret_key")
    return key.encode("ascii")
