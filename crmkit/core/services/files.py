"""Documents on cards: ``crm.as_user(id).files`` adds, lists, reads and removes them.

A document belongs to one card (lead, contact, company, deal or task) and is seen by whoever sees
that card: on any other one it answers like a missing document (404). Adding one needs only to see
the card (as for notes: the measurer attaches the measurement to the deal); removing one needs to
be its uploader or to be allowed to change the card.

Its content goes to the deployment's storage (:func:`crmkit.core.files.storage_of`) under a random
key before the command's transaction, which then writes the row and a ``file.added`` event on the
card; if anything fails the content is removed again: a failed upload leaves no row and no content.
Removal deletes the row (``file.removed`` on the card) and then the content, once committed.
The type is sniffed from the content (:func:`crmkit.core.files.sniff`), the sha256 recorded.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, ContextManager, Iterable

import attrs
from sqlalchemy import Connection, Row, delete, insert, select

from .. import schema
from ..errors import NotFoundError, PermissionDeniedError, ValidationError
from ..files import file_settings, new_key, safe_name, sniff, storage_of
from ..files.sniff import TEXT_SAMPLE
from ..records import Page
from ..access import WRITE, Access
from ..unit_of_work import Tx, transaction
from .base import DEFAULT_PAGE, check_id, check_limit, id_cursor, inserted_id, read_connection
from .refs import ENTITY_TABLES, check_card

if TYPE_CHECKING:  # pragma: no cover
    from ..app import Crm

log = logging.getLogger("crmkit.files")
CHUNK = 1 << 16
FILE_ADDED, FILE_REMOVED = "file.added", "file.removed"


@attrs.frozen
class FileInfo:
    """A document on a card (its content: :meth:`FileService.open`)."""

    id: int
    entity_type: str
    entity_id: int
    name: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: int | None
    created_at: datetime


@attrs.frozen
class Content:
    """What :func:`measure` found in a document: its size, sha256, type and the file to store."""

    file: BinaryIO
    size: int
    sha256: str
    content_type: str


class FileTooLarge(ValidationError):
    """A document above ``[settings.files] max_bytes`` (the API answers 413, as for a too large body)."""

    status = 413
    code = "payload_too_large"


def measure(source: BinaryIO, max_bytes: int) -> Content:
    """Read ``source`` once (from its start if it can seek, else spooled to a temporary file):
    size within ``max_bytes``, sha256 and the sniffed type. The file is left at its start."""
    if not _seekable(source):
        spool = tempfile.SpooledTemporaryFile(max_size=1 << 20)  # noqa: SIM115 - returned open
        shutil_copy(source, spool, max_bytes)
        source = spool  # type: ignore[assignment]
    source.seek(0)
    digest, size, head = hashlib.sha256(), 0, b""
    while chunk := source.read(CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise FileTooLarge(f"file: larger than {max_bytes} bytes (the deployment's limit)", field="file")
        digest.update(chunk)
        if len(head) < TEXT_SAMPLE:
            head += chunk[: TEXT_SAMPLE - len(head)]
    if size == 0:
        raise ValidationError("file: is empty", field="file")
    kind = sniff(head, source)
    source.seek(0)
    return Content(source, size, digest.hexdigest(), kind)


def shutil_copy(source: BinaryIO, target: Any, max_bytes: int) -> None:
    copied = 0
    while chunk := source.read(CHUNK):
        copied += len(chunk)
        if copied > max_bytes:
            raise FileTooLarge(f"file: larger than {max_bytes} bytes (the deployment's limit)", field="file")
        target.write(chunk)


def _seekable(source: Any) -> bool:
    try:
        return bool(source.seekable())
    except (AttributeError, ValueError, OSError):
        return False


def discard_blobs(crm: Any, keys: Iterable[str]) -> None:
    """Remove contents whose rows are gone (committed). A failure leaves an unreferenced content
    behind (logged), never a row without its content."""
    storage = storage_of(crm)
    for key in keys:
        try:
            storage.delete(key)
        except Exception:  # noqa: BLE001 - the removal is committed; the leftover is only disk space
            log.warning("could not delete stored file %s", key, exc_info=True)


class FileService:
    """``crm.as_user(id).files``: documents on cards, within the acting user's record rules."""

    table = schema.files

    def __init__(self, crm: "Crm", actor_id: int | None, access: Access | None = None) -> None:
        self.crm = crm
        self.actor_id = actor_id
        self.access = access if access is not None else Access.of(crm, actor_id)

    def _tx(self) -> ContextManager[Tx]:
        self.access.require(WRITE, "change files")
        return transaction(self.crm, self.actor_id)

    def _read(self) -> ContextManager[Connection]:
        return read_connection(self.crm)

    def _record(self, row: Row[Any]) -> FileInfo:
        return FileInfo(id=row.id, entity_type=row.entity_type, entity_id=row.entity_id, name=row.name,
                        content_type=row.content_type, size=row.size, sha256=row.sha256,
                        uploaded_by=row.uploaded_by, created_at=row.created_at)

    def _visible_row(self, conn: Any, id: Any) -> Row[Any]:
        """The file's row if the acting user sees its card (404 otherwise, as for a missing one)."""
        ident = check_id(id, "id")
        row = conn.execute(select(self.table).where(self.table.c.id == ident)).first()
        if row is None or not self.access.can_see(conn, row.entity_type, ENTITY_TABLES[row.entity_type],
                                                  row.entity_id):
            raise NotFoundError(f"file {ident} does not exist")
        return row

    def _card(self, conn: Any, entity_type: Any, entity_id: Any) -> tuple[str, int]:
        """A card the acting user sees (404 for a missing or invisible one, naming the card)."""
        try:
            return check_card(conn, entity_type, entity_id, self.access)
        except ValidationError as exc:
            if exc.field == "entity_id":
                raise NotFoundError(f"{entity_type} {entity_id} does not exist") from None
            raise

    # -- commands ---------------------------------------------------------------------------

    def add(self, entity_type: str, entity_id: int, content: bytes | str | os.PathLike[str] | BinaryIO, *,
            name: str | None = None) -> FileInfo:
        """Attach a document to a card: ``content`` is bytes, a path or a binary file; ``name`` the
        original name (default: the path's), kept as metadata only."""
        self.access.require(WRITE, "add files")
        limit = file_settings(self.crm).max_bytes
        with self._read() as conn:
            etype, eid = self._card(conn, entity_type, entity_id)  # fail before reading a byte
        opened: BinaryIO | None = None
        if isinstance(content, (bytes, bytearray, memoryview)):
            source: BinaryIO = io.BytesIO(bytes(content))
        elif isinstance(content, (str, os.PathLike)):
            path = Path(content)
            if not path.is_file():
                raise ValidationError(f"file: {str(path)[:200]} is not a file", field="file")
            source = opened = open(path, "rb")
            name = name if name is not None else path.name
        elif hasattr(content, "read"):
            source = content
            name = name if name is not None else getattr(content, "name", None)
        else:
            raise ValidationError(f"file: expected bytes, a path or a binary file, got {type(content).__name__}",
                                  field="file")
        try:
            measured = measure(source, limit)
            return self._store(etype, eid, measured, safe_name(name))
        finally:
            if opened is not None:
                opened.close()

    def _store(self, etype: str, eid: int, content: Content, name: str) -> FileInfo:
        storage = storage_of(self.crm)
        key = new_key()
        storage.put(key, content.file)  # outside the transaction: no write lock held while copying
        try:
            with self._tx() as tx:
                check_card(tx.conn, etype, eid, self.access)  # still there, still visible
                values = {"entity_type": etype, "entity_id": eid, "name": name, "content_type": content.content_type,
                          "size": content.size, "sha256": content.sha256, "storage_key": key,
                          "uploaded_by": tx.actor_id, "created_at": tx.now}
                new_id = inserted_id(tx.conn.execute(insert(self.table).values(**values)))
                tx.emit(FILE_ADDED, etype, eid, data={"file_id": new_id, "name": name, "size": content.size,
                                                      "content_type": content.content_type,
                                                      "sha256": content.sha256})
                return FileInfo(id=new_id, **{k: v for k, v in values.items() if k != "storage_key"})
        except BaseException:
            discard_blobs(self.crm, [key])
            raise

    def remove(self, id: int) -> FileInfo:
        """Remove a document (its uploader, or who may change its card); ``file.removed`` on the card."""
        outermost = getattr(self.crm._tx_local, "tx", None) is None
        with self._tx() as tx:
            row = self._visible_row(tx.conn, id)
            if row.uploaded_by != self.actor_id and not self.access.can_change(
                    tx.conn, row.entity_type, ENTITY_TABLES[row.entity_type], row.entity_id):
                raise PermissionDeniedError(f"file {row.id}: only its uploader or who may change "
                                            f"{row.entity_type} {row.entity_id} may remove it")
            tx.conn.execute(delete(self.table).where(self.table.c.id == row.id))
            tx.emit(FILE_REMOVED, row.entity_type, row.entity_id,
                    data={"file_id": row.id, "name": row.name, "size": row.size, "sha256": row.sha256})
            record = self._record(row)
        if outermost:  # committed: the content may go (inside a larger command it stays: never a row without it)
            discard_blobs(self.crm, [row.storage_key])
        return record

    # -- reads ------------------------------------------------------------------------------

    def get(self, id: int) -> FileInfo:
        """A document's metadata (404 when its card is not visible)."""
        with self._read() as conn:
            return self._record(self._visible_row(conn, id))

    def open(self, id: int) -> tuple[FileInfo, BinaryIO]:
        """A document's metadata and its content, open for reading (close it)."""
        with self._read() as conn:
            row = self._visible_row(conn, id)
        try:
            return self._record(row), storage_of(self.crm).get(row.storage_key)
        except FileNotFoundError:
            log.error("file %s: its content %s is missing from the storage", row.id, row.storage_key)
            raise NotFoundError(f"file {row.id}: its content is missing from the storage") from None

    def read(self, id: int) -> bytes:
        """A document's whole content (small files, tests)."""
        _, stream = self.open(id)
        with stream:
            return stream.read()

    def of(self, entity_type: str, entity_id: int, *, limit: int = DEFAULT_PAGE,
           cursor: str | None = None) -> Page[FileInfo]:
        """The documents on a card, oldest first (404 when the card is not visible)."""
        check_limit(limit)
        f = self.table.c
        with self._read() as conn:
            etype, eid = self._card(conn, entity_type, entity_id)
            query = select(self.table).where(f.entity_type == etype, f.entity_id == eid)
            if cursor:
                query = query.where(f.id > id_cursor(cursor))
            rows = conn.execute(query.order_by(f.id).limit(limit + 1)).all()
        more = len(rows) > limit
        rows = rows[:limit]
        return Page([self._record(r) for r in rows], str(rows[-1].id) if more else None)

    list_for = of
