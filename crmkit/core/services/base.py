"""What every service shares: the acting user, transactions, look-ups, filters, pages."""

from __future__ import annotations

import base64
import json
from datetime import date, datetime, timedelta, timezone
from contextlib import nullcontext
from decimal import Decimal
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Callable, ContextManager, Generic, Mapping, TypeVar

from sqlalchemy import (
    BigInteger, Column, ColumnElement, Connection, Row, Select, Table, bindparam, func, insert, select, update,
)

from sqlalchemy.types import TypeDecorator

from .. import schema
from ..access import WRITE, Access
from ..errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from ..clock import ensure_utc
from ..records import Page
from ..text import check_characters
from ..unit_of_work import Tx, transaction

if TYPE_CHECKING:  # pragma: no cover
    from ..app import Crm

R = TypeVar("R")

MAX_PAGE = 500
DEFAULT_PAGE = 50
_OPS = {"eq", "ne", "gt", "gte", "lt", "lte", "in"}


MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL


def check_text(value: Any, field: str, *, required: bool = False, max_length: int = 300,
               multiline: bool = False) -> str:
    """Text for ``field``, stripped: no control characters (a ``multiline`` field allows tab
    and line breaks), no bidirectional overrides, at most ``max_length`` characters."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError(f"{field}: expected text, got {type(value).__name__}", field=field)
    if len(value) > 4 * max_length + 100:  # before any scan: a megabyte title is refused cheaply
        raise ValidationError(f"{field}: longer than {max_length} characters", field=field)
    check_characters(value, field, multiline=multiline)
    value = value.strip()
    if required and not value:
        raise ValidationError(f"{field}: is required", field=field)
    if len(value) > max_length:
        raise ValidationError(f"{field}: longer than {max_length} characters", field=field)
    return value


def check_id(value: Any, field: str) -> int:
    """A positive 32-bit id (a larger one could never exist: a clear error, not a database overflow)."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 100:
        value = int(value)  # then the range check below names the limits
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{field}: expected an id (integer), got {value!r}", field=field)
    if not 1 <= value <= MAX_ID:
        raise ValidationError(f"{field}: {value} is not a valid id (1 to {MAX_ID})", field=field)
    return value


def check_limit(limit: Any) -> None:
    """A page size from 1 to :data:`MAX_PAGE`: no list is unbounded."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"limit: must be an integer from 1 to {MAX_PAGE}", field="limit")


def id_cursor(cursor: Any, *, maximum: int = MAX_ID) -> int:
    """The id a page cursor of an id-ordered list stands for: ASCII digits, 0 to ``maximum``
    (a larger one could never be a row's id: 422 naming ``cursor``, not a database overflow)."""
    if (not isinstance(cursor, str) or not cursor.isascii() or not cursor.isdigit() or len(cursor) > 19
            or int(cursor) > maximum):
        raise ValidationError(f"cursor: {str(cursor)[:100]!r} is not a cursor from a previous page", field="cursor")
    return int(cursor)


def read_connection(crm: "Crm") -> ContextManager[Connection]:
    """A connection for reading: the open transaction's, when a command is running in this
    thread (so a hook sees the command's own uncommitted rows), else a fresh one."""
    tx = getattr(crm._tx_local, "tx", None)
    return nullcontext(tx.conn) if tx is not None else crm.engine.connect()


def check_unknown(values: Mapping[str, Any], allowed: set[str] | frozenset[str], what: str) -> None:
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise ValidationError(
            f"{unknown[0]}: unknown field for {what} (known: {', '.join(sorted(allowed))})", field=unknown[0]
        )


class Service(Generic[R]):
    """Base of the card services. ``crm.as_user(id).deals`` etc. build them."""

    entity: str = ""
    table: Table
    filterable: Mapping[str, str] = {}  # filter name -> column name
    sortable: tuple[str, ...] = ("id", "created_at", "updated_at")  # non-null columns lists may sort by
    choices: Mapping[str, tuple[str, ...]] = {}  # filters whose values come from a fixed list

    write_permission: str = WRITE

    def __init__(self, crm: "Crm", actor_id: int | None, access: Access | None = None) -> None:
        self.crm = crm
        self.actor_id = actor_id
        self.access = access if access is not None else Access.of(crm, actor_id)

    # -- building blocks --------------------------------------------------------

    def _tx(self) -> ContextManager[Tx]:
        """A write transaction for one command (the acting user must be allowed to write)."""
        self.access.require(self.write_permission, f"change {self.entity}s")
        return transaction(self.crm, self.actor_id)

    def _read(self) -> ContextManager[Connection]:
        return read_connection(self.crm)

    def _record(self, row: Row[Any]) -> R:  # pragma: no cover - each service defines it
        raise NotImplementedError

    def _row(self, conn: Connection, id: Any, *, field: str = "id", lock: bool = False,
             write: bool | None = None) -> Row[Any]:
        """The card's row, if it exists and the acting user may see it (404 otherwise, the same
        answer for both: no existence oracle) -- and, with ``write`` (the default when ``lock``ing
        it for a change), may change it (403 for a card they may only read)."""
        ident = check_id(id, field)
        write = lock if write is None else write
        query = self.access.by_id(self.entity, self.table, write=write)  # one query in the common case
        if lock:
            query = query.with_for_update()
        row = conn.execute(query, {"ident": ident}).first()
        if row is not None:
            return row
        if write and not self.access.unrestricted and self.access.can_see(conn, self.entity, self.table, ident):
            raise PermissionDeniedError(f"{self.entity} {ident}: you may read it but not change it")
        raise NotFoundError(f"{self.entity} {ident} does not exist", field=None if field == "id" else field)

    def _check_user(self, conn: Connection, value: Any, field: str) -> int | None:
        """An active user's id; the acting user was just checked (their role is loaded): no query."""
        from .refs import check_user

        if value is not None and value == self.access.user_id and self.access.role is not None:
            return self.access.user_id
        return check_user(conn, value, field)

    def _reload(self, conn: Connection, ident: int) -> Row[Any]:
        """The row just written by this command (already checked: no record rules again)."""
        row = conn.execute(by_id(self.table), {"ident": ident}).first()
        assert row is not None, f"{self.entity} {ident} vanished inside its own transaction"
        return row

    def _written(self, ident: int, values: Mapping[str, Any]) -> Any:
        """A row-like view of a card this command just inserted with ``values`` (saves a read)."""
        row: dict[str, Any] = {c.name: None for c in self.table.c}
        row.update(values)
        row["id"] = ident
        return SimpleNamespace(**row)

    def share(self, id: int, user_id: int) -> None:
        """Share a card with a user who could not otherwise see it."""
        from .refs import check_user

        with self._tx() as tx:
            row = self._row(tx.conn, id, write=True)
            uid = check_user(tx.conn, user_id, "user_id")
            sh = schema.shares.c
            exists = tx.conn.scalar(select(sh.user_id).where(
                sh.entity_type == self.entity, sh.entity_id == row.id, sh.user_id == uid))
            if exists is None:
                tx.conn.execute(insert(schema.shares).values(entity_type=self.entity, entity_id=row.id, user_id=uid))
                tx.emit(f"{self.entity}.shared", self.entity, row.id, data={"user_id": uid})

    def _clean_custom(self, conn: Connection | None, raw: Mapping[str, Any] | None,
                      current: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Validate custom fields over ``current``; ``user`` fields must name active users."""
        custom = self.crm.custom_fields.clean(self.entity, raw, region=self.crm.settings.default_region, current=current)
        if conn is not None:
            from .refs import check_custom_users

            check_custom_users(conn, self.crm, self.entity, custom)
        return custom

    def get(self, id: int) -> R:
        """One card by id (``NotFoundError`` if there is none)."""
        with self._read() as conn:
            return self._record(self._row(conn, id))

    def _bump(self, tx: Tx, row: Row[Any], values: Mapping[str, Any], version: int | None) -> None:
        """Write ``values`` if the card is still at ``version`` (optimistic concurrency)."""
        if version is not None:
            version = check_id(version, "version")
            if version != row.version:
                raise ConflictError(
                    f"{self.entity} {row.id} was changed by someone else (you have version {version}, "
                    f"it is at {row.version}); reload it and try again",
                    field="version",
                )
        t = self.table
        result = tx.conn.execute(
            update(t).where(t.c.id == row.id, t.c.version == row.version)
            .values(**values, version=row.version + 1, updated_at=tx.now)
        )
        if result.rowcount != 1:
            raise ConflictError(f"{self.entity} {row.id} was changed concurrently; reload it and try again",
                                field="version")

    # -- lists ----------------------------------------------------------------

    def list(
        self,
        filters: Mapping[str, Any] | None = None,
        *,
        limit: int = DEFAULT_PAGE,
        cursor: str | None = None,
        order: str = "id",
        **kw_filters: Any,
    ) -> Page[R]:
        """A page of cards matching ``filters`` (``field`` or ``field__op`` with op in
        eq, ne, gt, gte, lt, lte, in), custom fields included.

        ``order`` is one of :attr:`sortable`, ``-`` in front for descending; ties are
        broken by id, so the order is stable and the cursor (keyset) never skips or repeats.
        """
        all_filters = {**(filters or {}), **kw_filters}
        check_limit(limit)
        desc = isinstance(order, str) and order.startswith("-")
        key = order[1:] if desc else order
        if key not in self.sortable:
            allowed = ", ".join(f"{k}, -{k}" for k in self.sortable)
            raise ValidationError(f"order: cannot sort {self.entity}s by {order!r} (use {allowed})", field="order")
        col, idc = self.table.c[key], self.table.c.id
        query = select(self.table)
        visible = self.access.visible(self.entity, self.table)
        if visible is not None:
            query = query.where(visible)
        query = self._apply_filters(query, all_filters)
        if cursor:
            after_value, after_id = _decode_cursor(cursor, col, key)
            if key == "id":
                query = query.where(idc < after_id if desc else idc > after_id)
            elif desc:
                query = query.where((col < after_value) | ((col == after_value) & (idc < after_id)))
            else:
                query = query.where((col > after_value) | ((col == after_value) & (idc > after_id)))
        ordering = (col.desc(), idc.desc()) if desc else (col, idc)
        query = query.order_by(*(ordering[1:] if key == "id" else ordering)).limit(limit + 1)
        with self._read() as conn:
            rows = conn.execute(query).all()
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = _encode_cursor(rows[-1], key) if more else None
        return Page([self._record(r) for r in rows], next_cursor)

    def count(self, filters: Mapping[str, Any] | None = None, **kw_filters: Any) -> int:
        """How many cards match ``filters`` (the same filters as :meth:`list`), in one SQL query."""
        query = select(func.count()).select_from(self.table)
        visible = self.access.visible(self.entity, self.table)
        if visible is not None:
            query = query.where(visible)
        query = self._apply_filters(query, {**(filters or {}), **kw_filters})
        with self._read() as conn:
            return int(conn.scalar(query) or 0)

    def _filter_value(self, name: str, value: Any) -> Any:
        """Convert a filter value for column ``name`` (services override for keys, phones, ...)."""
        return value

    def _special_filter(self, query: Select[Any], name: str, op: str, value: Any) -> Select[Any] | None:
        """Filters that are not plain columns (services override)."""
        return None

    def _apply_filters(self, query: Select[Any], filters: Mapping[str, Any]) -> Select[Any]:
        from .archive import filter_archived

        query, filters = filter_archived(self.table, query, filters)  # archived cards only when asked for
        customs = self.crm.custom_fields.fields(self.entity) if self.entity in ("lead", "contact", "company", "deal", "task") else {}
        for key, value in filters.items():
            name, _, op = key.partition("__")
            op = op or "eq"
            if op not in _OPS:
                raise ValidationError(f"{key}: unknown filter operator {op!r} (use {', '.join(sorted(_OPS))})", field=key)
            special = self._special_filter(query, name, op, value)
            if special is not None:
                query = special
                continue
            if name in self.choices:
                allowed = self.choices[name]
                for v in (value if op == "in" and isinstance(value, (list, tuple)) else [value]):
                    if v is not None and v not in allowed:
                        raise ValidationError(f"{key}: {v!r} is not one of {', '.join(allowed)}", field=key)
            if op == "in" and not isinstance(value, (list, tuple, set)):
                raise ValidationError(f"{key}: expected a list of values", field=key)
            if name in self.filterable:
                column: ColumnElement[Any] = self.table.c[self.filterable[name]]
                convert = self._filter_value
                value = ([_typed(column, key, convert(name, v)) for v in value] if op == "in"
                         else _typed(column, key, convert(name, value)))
            elif name in customs:
                spec = customs[name]
                column = _custom_expr(self.table.c.custom, name, spec.type)
                region = self.crm.settings.default_region

                def clean(v: Any, spec: Any = spec) -> Any:
                    cleaned = spec.clean(v, region=region)
                    return Decimal(cleaned) if spec.type == "decimal" and cleaned is not None else cleaned

                value = [clean(v) for v in value] if op == "in" else clean(value)
            else:
                known = sorted(set(self.filterable) | set(customs))
                raise ValidationError(f"{name}: cannot filter {self.entity}s by {name!r} (filters: {', '.join(known)})", field=name)
            query = query.where(_compare(column, op, value, key))
        return query


def _typed(column: Any, key: str, value: Any) -> Any:
    """A filter value of the column's type, or a :class:`ValidationError` naming the filter
    (the database would answer a text for an integer column with an error, not a 4xx)."""
    if value is None:
        return None
    sql_type = column.type
    if isinstance(sql_type, TypeDecorator):  # UTCDateTime
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                raise ValidationError(f"{key}: {value[:100]!r} is not an ISO datetime", field=key) from None
        if not isinstance(value, datetime):
            raise ValidationError(f"{key}: expected a datetime", field=key)
        return ensure_utc(value, field=key)
    try:
        python_type = sql_type.python_type
    except NotImplementedError:
        return value
    if python_type is bool:
        if not isinstance(value, bool):
            raise ValidationError(f"{key}: expected true or false", field=key)
    elif python_type is int:
        if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
            value = int(value)
        limit = 2**63 if isinstance(sql_type, BigInteger) else 2**31
        if isinstance(value, bool) or not isinstance(value, int) or not -limit <= value < limit:
            raise ValidationError(f"{key}: expected an integer from {-limit} to {limit - 1}, got {value!r}"[:200],
                                  field=key)
    elif python_type is str:
        if not isinstance(value, str):
            raise ValidationError(f"{key}: expected text, got {type(value).__name__}", field=key)
        if len(value) > 1000 or "\x00" in value or not _encodable(value):
            raise ValidationError(f"{key}: not a value this field can hold", field=key)
    elif python_type is date and isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            raise ValidationError(f"{key}: {value[:100]!r} is not a date (YYYY-MM-DD)", field=key) from None
    return value


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


def _custom_expr(col: Column[Any], name: str, type_: str) -> ColumnElement[Any]:
    """The typed SQL expression of custom field ``name`` inside the JSON column."""
    raw = col[name]
    if type_ in ("integer", "user"):  # a user field holds the user's id
        return raw.as_integer()
    if type_ == "decimal":
        return raw.as_numeric(30, 10)
    if type_ == "boolean":
        return raw.as_boolean()
    return raw.as_string()  # text, choice, phone, email, and ISO dates/datetimes (sortable as text)


def _compare(column: Any, op: str, value: Any, key: str) -> ColumnElement[bool]:
    if op == "in":
        if not isinstance(value, (list, tuple, set)):
            raise ValidationError(f"{key}: expected a list of values", field=key)
        return column.in_(list(value))
    if value is None:
        return column.is_(None) if op == "eq" else column.is_not(None)
    ops: dict[str, Callable[[Any, Any], Any]] = {
        "eq": lambda c, v: c == v, "ne": lambda c, v: c != v, "gt": lambda c, v: c > v,
        "gte": lambda c, v: c >= v, "lt": lambda c, v: c < v, "lte": lambda c, v: c <= v,
    }
    return ops[op](column, value)


def inserted_id(result: Any) -> int:
    """The primary key of the row an INSERT just wrote."""
    return int(result.inserted_primary_key[0])


def insert_many(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` in one executemany and return their new ids, in order.

    SQLite: the writer holds the write lock (BEGIN IMMEDIATE), so the new rowids are
    consecutive and one ``max(id)`` gives them all (RETURNING costs ~2x here).
    PostgreSQL: ``RETURNING`` with insertmanyvalues.
    """
    if not rows:
        return []
    if len(rows) == 1:  # the common single command: lastrowid / RETURNING, no extra query
        return [inserted_id(conn.execute(insert(table), rows[0]))]
    if conn.dialect.name == "sqlite":
        conn.execute(insert(table), rows)
        last = int(conn.scalar(select(func.max(table.c.id))) or 0)
        return list(range(last - len(rows) + 1, last + 1))
    return list(conn.scalars(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows))


_BY_ID: dict[str, Select[Any]] = {}


def by_id(table: Table) -> Select[Any]:
    """``SELECT * FROM table WHERE id = :ident``, built once per table (statement caching)."""
    stmt = _BY_ID.get(table.name)
    if stmt is None:
        stmt = _BY_ID[table.name] = select(table).where(table.c.id == bindparam("ident"))
    return stmt


def _encode_cursor(row: Row[Any], key: str) -> str:
    """The position after ``row``: its id, or (sort value, id) for other orders (opaque text).

    Datetimes are written in UTC (``+00:00``), the only offset :func:`_decode_cursor` takes back."""
    if key == "id":
        return str(row.id)
    value = row._mapping[key]
    if isinstance(value, datetime):
        value = value.astimezone(timezone.utc)
    raw = json.dumps([value.isoformat() if hasattr(value, "isoformat") else value, row.id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: Any, column: Any, key: str) -> tuple[Any, int]:
    """(sort value, id) of a cursor :func:`_encode_cursor` wrote, checked so the query can't fail.

    Anything else is a 422 naming ``cursor``: an id outside 1 to 2^31-1, a datetime that is
    naive or not in UTC (``+00:00``), a value of the wrong type, text no database stores."""
    bad = ValidationError(f"cursor: {str(cursor)[:100]!r} is not a cursor from a previous page of this order",
                          field="cursor")
    if not isinstance(cursor, str) or len(cursor) > 400:
        raise bad
    if key == "id":
        return None, id_cursor(cursor)
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError, RecursionError):
        raise bad from None
    if not isinstance(decoded, list) or len(decoded) != 2:
        raise bad
    value, ident = decoded
    if not isinstance(ident, int) or isinstance(ident, bool) or not 1 <= ident <= MAX_ID:
        raise bad
    column_type = column.type
    if isinstance(column_type, TypeDecorator):  # UTCDateTime, the only one
        python_type: Any = datetime
    else:
        try:
            python_type = column_type.python_type
        except NotImplementedError:
            python_type = None
    try:
        if python_type is datetime:
            value = datetime.fromisoformat(value)
            if value.utcoffset() != timedelta(0):  # naive, or not the UTC we wrote
                raise bad
        elif python_type is date:
            value = date.fromisoformat(value)
        elif python_type is int:
            limit = 2**63 if isinstance(column_type, BigInteger) else 2**31
            if isinstance(value, bool) or not isinstance(value, int) or not -limit <= value < limit:
                raise bad
        elif python_type is str:
            if not isinstance(value, str) or "\x00" in value:
                raise bad
            value.encode("utf-8")  # a lone surrogate can't be sent to the database
        elif python_type is not None and not isinstance(value, python_type):
            raise bad
    except (ValueError, TypeError, UnicodeEncodeError):
        raise bad from None
    return value, ident
