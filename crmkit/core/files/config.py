"""``[settings.files]`` in crmkit.toml: how large a document may be and where the default storage keeps it.

    [settings.files]
    max_bytes = 25000000            # a larger upload: 413 (API), a clear error (SDK, CLI)
    folder = "files"                # the default storage's folder, relative to crmkit.toml's
    upload_timeout_seconds = 300    # an upload must arrive within this: 408, connection closed

A bad value is a :class:`crmkit.ConfigError` naming the key when the API starts or a file is first used.
"""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import attrs

from ..errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from ..app import Crm

SECTION = "files"
MAX_BYTES = 25_000_000


@attrs.frozen
class FileSettings:
    max_bytes: int = MAX_BYTES
    folder: Path = Path("files")
    upload_timeout_seconds: float = 300.0


_BOUNDS: dict[str, tuple[type, float, float]] = {
    "max_bytes": (int, 1, 10_000_000_000),
    "upload_timeout_seconds": (float, 0.001, 86_400),
}
_CACHE: "weakref.WeakKeyDictionary[Crm, FileSettings]" = weakref.WeakKeyDictionary()


def parse(table: Mapping[str, Any], base_dir: Path) -> FileSettings:
    where = f"crmkit.toml [settings.{SECTION}]"
    known = [*_BOUNDS, "folder"]
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(known)})")
    values: dict[str, Any] = {"folder": base_dir / "files"}
    if "folder" in table:
        folder = table["folder"]
        if not isinstance(folder, str) or not folder.strip() or "\x00" in folder:
            raise ConfigError(f"{where} folder: must be a folder path, got {folder!r:.80}")
        values["folder"] = base_dir / Path(folder).expanduser()
    for key, (kind, lo, hi) in _BOUNDS.items():
        if key not in table:
            continue
        value = table[key]
        number = isinstance(value, int) or (kind is float and isinstance(value, float))
        if isinstance(value, bool) or not number or not lo <= value <= hi:
            what = "a whole number" if kind is int else "a number of seconds"
            raise ConfigError(f"{where} {key}: must be {what} from {lo:g} to {hi:g}, got {value!r:.80}")
        values[key] = kind(value)
    return FileSettings(**values)


def file_settings(crm: "Crm") -> FileSettings:
    """The deployment's ``[settings.files]`` over the defaults (parsed once per ``Crm``)."""
    found = _CACHE.get(crm)
    if found is None:
        found = _CACHE[crm] = parse(crm.settings.plugin_settings.get(SECTION, {}), crm.settings.base_dir)
    return found
