"""Where documents' contents are kept: a :class:`FileStorage`.

The default is :class:`LocalStorage`, a folder next to crmkit.toml (``[settings.files] folder``).
A plugin puts them elsewhere (an S3-compatible store, ...) by returning its own storage from
``crm_register_file_storage`` (docs/hooks.md). Keys are made by crmkit (:func:`new_key`: 32
random hex digits); the original file name is never part of them.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol, runtime_checkable

from ..errors import ConfigError
from ..hookcall import call_hook

if TYPE_CHECKING:  # pragma: no cover
    from ..app import Crm

KEY = re.compile(r"^[0-9a-f]{32}$")
CHUNK = 1 << 16


@runtime_checkable
class FileStorage(Protocol):
    """Keeps documents' contents by key. Methods are called from worker threads, outside any
    database transaction; each may raise ``OSError`` (the command then fails and leaves nothing)."""

    def put(self, key: str, source: BinaryIO) -> None:
        """Store everything ``source`` holds from its current position under ``key`` (a new key:
        never one in use). When it returns the content is durable; when it raises, nothing is kept."""

    def get(self, key: str) -> BinaryIO:
        """The content under ``key``, open for reading (the caller closes it); ``FileNotFoundError``
        when there is none."""

    def delete(self, key: str) -> None:
        """Forget ``key``'s content; a key with no content is not an error."""


def new_key() -> str:
    """A fresh storage key: 128 random bits as 32 hex digits (no name, no path, no guessable order)."""
    return secrets.token_hex(16)


class LocalStorage:
    """Contents as files in ``root``: ``root/ab/ab12...`` (0600 files, 0700 folders), written to
    ``root/.incoming/`` first and moved into place, so a half-written file is never under a key."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not isinstance(key, str) or not KEY.match(key):  # never a path: no "..", no "/"
            raise FileNotFoundError(f"no stored file {str(key)[:40]!r}")
        return self.root / key[:2] / key

    def put(self, key: str, source: BinaryIO) -> None:
        target = self._path(key)
        incoming = self.root / ".incoming"
        for folder in (self.root, incoming, target.parent):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial = incoming / f"{key}.part"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(source, out, CHUNK)
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise

    def get(self, key: str) -> BinaryIO:
        return open(self._path(key), "rb")

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink(missing_ok=True)
        except FileNotFoundError:  # a key that could never exist
            pass


_STORAGES: "weakref.WeakKeyDictionary[Crm, FileStorage]" = weakref.WeakKeyDictionary()


def storage_of(crm: "Crm") -> FileStorage:
    """The deployment's file storage: the first plugin's answer to ``crm_register_file_storage``,
    else a :class:`LocalStorage` in ``[settings.files] folder``. Asked once per ``Crm``."""
    found = _STORAGES.get(crm)
    if found is None:
        from .config import file_settings

        answers = call_hook(crm.pm, "crm_register_file_storage", crm=crm)
        if answers:
            plugin, found = answers[0]
            if not all(callable(getattr(found, m, None)) for m in ("put", "get", "delete")):
                raise ConfigError(f"plugin {plugin}: crm_register_file_storage must return an object with "
                                  f"put, get and delete methods, got {found!r:.80}")
        else:
            found = LocalStorage(file_settings(crm).folder)
        _STORAGES[crm] = found
    return found
