"""Documents on cards: where their content is kept (:mod:`.storage`), what it is (:mod:`.sniff`),
how big it may be (:mod:`.config`), and safe names (:mod:`.names`). The service is
:class:`crmkit.core.services.files.FileService`."""

from __future__ import annotations

from .config import FileSettings, file_settings
from .names import content_disposition, safe_name
from .sniff import SNIFFED_TYPES, sniff
from .storage import FileStorage, LocalStorage, new_key, storage_of

__all__ = ["FileSettings", "FileStorage", "LocalStorage", "SNIFFED_TYPES", "content_disposition", "file_settings",
           "new_key", "safe_name", "sniff", "storage_of"]
