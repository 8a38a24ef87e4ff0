"""What a report covers: a period and the team, manager, pipeline and channel it is scoped to.

    scope = Scope.parse(crm, since="2026-01-01", until="2026-03-31", team="north")

``since``/``until`` given as dates are whole days in the deployment's timezone, both
included (``until="2026-03-31"`` ends at the start of April 1st); given as aware
datetimes they are the half-open interval ``[since, until)``.

The record rules of the acting user are applied by :func:`visible`, so a manager's
report covers only the cards that manager may see.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Mapping

import attrs
from sqlalchemy import select
from sqlalchemy.sql import ColumnElement

from .. import schema
from ..clock import ensure_utc
from ..errors import ValidationError
from ..money import check_currency

if TYPE_CHECKING:  # pragma: no cover
    from ..app import Crm
    from ..services import Services

LIFECYCLE = ("potential", "active", "regular", "lost")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_TEXT_MAX = 200


@attrs.frozen
class Scope:
    """The period ``[since, until)`` (UTC) and the dimensions a report is limited to."""

    since: datetime | None = None
    until: datetime | None = None
    team: str | None = None
    manager_id: int | None = None
    pipeline: str | None = None
    source: str | None = None
    """The UTM source (``utm_source``) of the lead or deal."""
    channel: str | None = None
    """How the request came in (the card's ``source``: web, phone, email, ...)."""
    currency: str | None = None
    """The currency of the money columns of mixed reports (managers, channels); default: the deployment's."""
    lifecycle: str | None = None
    """Only leads and deals of contacts in this lifecycle stage (as the worker last computed it)."""

    @classmethod
    def parse(cls, crm: "Crm", **raw: Any) -> "Scope":
        """A scope from text (CLI options, query parameters) or Python values; a bad value is a
        ``ValidationError`` naming it."""
        unknown = sorted(set(raw) - {f.name for f in attrs.fields(cls)})
        if unknown:
            raise ValidationError(f"{unknown[0]}: not a report option", field=unknown[0])
        since = _moment(crm, raw.get("since"), "since", end=False)
        until = _moment(crm, raw.get("until"), "until", end=True)
        if since is not None and until is not None and until <= since:
            raise ValidationError("until: the period ends before it starts", field="until")
        manager = raw.get("manager_id")
        if manager is not None:
            manager = _user_id(crm, manager)
        pipeline = _text(raw.get("pipeline"), "pipeline")
        if pipeline is not None:
            crm.pipeline(pipeline)  # an unknown one: a ValidationError naming the field
        currency = raw.get("currency")
        lifecycle = _text(raw.get("lifecycle"), "lifecycle")
        if lifecycle is not None and lifecycle not in LIFECYCLE:
            raise ValidationError(f"lifecycle: one of {', '.join(LIFECYCLE)}", field="lifecycle")
        return cls(
            since=since, until=until, team=_text(raw.get("team"), "team"), manager_id=manager, pipeline=pipeline,
            source=_text(raw.get("source"), "source"), channel=_text(raw.get("channel"), "channel"),
            currency=None if currency in (None, "") else check_currency(currency), lifecycle=lifecycle,
        )

    def shifted(self, since: datetime, until: datetime) -> "Scope":
        """The same scope over another period (the "before" of a comparison)."""
        return attrs.evolve(self, since=since, until=until)

    def to_json(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in attrs.asdict(self).items()}


def previous_period(crm: "Crm", scope: Scope, spec: str) -> tuple[datetime, datetime]:
    """The period to compare ``scope`` with: ``previous`` (as long, just before), ``year`` (a year
    earlier) or ``FROM..TO`` (dates, both included)."""
    if spec in ("previous", "year"):
        if scope.since is None or scope.until is None:
            raise ValidationError("compare_to: give the period (since and until) to compare it with the "
                                  f"{spec} one", field="compare_to")
        if spec == "previous":
            return scope.since - (scope.until - scope.since), scope.since
        return _year_back(scope.since), _year_back(scope.until)
    start, sep, end = str(spec).partition("..")
    if not sep:
        raise ValidationError(f"compare_to: {spec!r:.40} is not previous, year or FROM..TO (dates)",
                              field="compare_to")
    a = _moment(crm, start.strip(), "compare_to", end=False)
    b = _moment(crm, end.strip(), "compare_to", end=True)
    if a is None or b is None or b <= a:
        raise ValidationError("compare_to: FROM..TO needs two dates, FROM before TO", field="compare_to")
    return a, b


def _year_back(value: datetime) -> datetime:
    try:
        return value.replace(year=value.year - 1)
    except ValueError:  # February 29th
        return value.replace(year=value.year - 1, day=28)


def _moment(crm: "Crm", value: Any, field: str, *, end: bool) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return ensure_utc(value, field=field)
    if isinstance(value, date):
        day = value
    elif isinstance(value, str) and _DATE.match(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise ValidationError(f"{field}: {value!r} is not a date (YYYY-MM-DD)", field=field) from None
    elif isinstance(value, str) and len(value) <= 40:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError(f"{field}: {value!r} is not a date (YYYY-MM-DD) or a time", field=field) from None
        if parsed.tzinfo is None:
            raise ValidationError(f"{field}: {value!r} has no timezone (add Z or +hh:mm)", field=field)
        return ensure_utc(parsed, field=field)
    else:
        raise ValidationError(f"{field}: expected a date (YYYY-MM-DD)", field=field)
    if end:
        if day == date.max:
            raise ValidationError(f"{field}: {day} is out of range", field=field)
        day += timedelta(days=1)
    if day.year < 1900:
        raise ValidationError(f"{field}: {day} is out of range", field=field)
    return ensure_utc(datetime.combine(day, time(), tzinfo=crm.settings.tz), field=field)


def _text(value: Any, field: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > _TEXT_MAX or not value.strip():
        raise ValidationError(f"{field}: expected a short text", field=field)
    return value.strip()


def _user_id(crm: "Crm", value: Any) -> int:
    """A user by id or e-mail (a missing one is a ValidationError naming ``manager``)."""
    u = schema.users.c
    if isinstance(value, bool):
        raise ValidationError("manager: expected a user id or e-mail", field="manager")
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, int):
        if not 1 <= value <= 2**31 - 1:
            raise ValidationError(f"manager: no user {value}", field="manager")
        cond = u.id == value
    elif isinstance(value, str) and "@" in value and len(value) <= 254:
        cond = u.email == value.strip().lower()
    else:
        raise ValidationError("manager: expected a user id or e-mail", field="manager")
    with crm.engine.connect() as conn:
        found = conn.scalar(select(u.id).where(cond))
    if found is None:
        raise ValidationError(f"manager: no user {value}", field="manager")
    return int(found)


def responsible(scope: Scope, column: Any) -> list[ColumnElement[bool]]:
    """The team and manager conditions on a ``responsible_id``-like column."""
    conds: list[ColumnElement[bool]] = []
    if scope.manager_id is not None:
        conds.append(column == scope.manager_id)
    if scope.team is not None:
        u = schema.users.c
        conds.append(column.in_(select(u.id).where(u.team == scope.team)))
    return conds


def period(scope: Scope, column: Any) -> list[ColumnElement[bool]]:
    """``column`` within ``[since, until)``."""
    conds: list[ColumnElement[bool]] = []
    if scope.since is not None:
        conds.append(column >= scope.since)
    if scope.until is not None:
        conds.append(column < scope.until)
    return conds


def channel(scope: Scope, table: Any) -> list[ColumnElement[bool]]:
    """The UTM source, channel and contact lifecycle conditions on a lead or deal table."""
    conds: list[ColumnElement[bool]] = []
    if scope.lifecycle is not None:
        from .tables import customer_segments

        seg = customer_segments.c
        known = select(seg.entity_id).where(seg.entity_type == "contact")
        if scope.lifecycle == "potential":  # no row: nothing bought yet
            conds.append(table.c.contact_id.is_not(None) & table.c.contact_id.not_in(known))
        else:
            conds.append(table.c.contact_id.in_(known.where(seg.lifecycle == scope.lifecycle)))
    if scope.source is not None:
        conds.append(table.c.utm_source == scope.source)
    if scope.channel is not None:
        conds.append(table.c.source == scope.channel)
    return conds


def pipeline_id(crm: "Crm", scope: Scope) -> int | None:
    return None if scope.pipeline is None else crm.pipeline(scope.pipeline).id


def visible(services: "Services", entity: str, table: Any) -> list[ColumnElement[bool]]:
    """The acting user's record rule on ``table`` (nothing for the system or an admin)."""
    cond = services.access.visible(entity, table)
    return [] if cond is None else [cond]


def deal_scope(services: "Services", scope: Scope, *, dated: Any = None) -> list[ColumnElement[bool]]:
    """Every condition on ``crm_deals`` for ``scope``: record rules, team, manager, pipeline,
    channel, and the period on ``dated`` (a deals column) when given."""
    d = schema.deals
    conds = visible(services, "deal", d) + responsible(scope, d.c.responsible_id) + channel(scope, d)
    pid = pipeline_id(services.crm, scope)
    if pid is not None:
        conds.append(d.c.pipeline_id == pid)
    if dated is not None:
        conds += period(scope, dated)
    return conds


def lead_scope(services: "Services", scope: Scope) -> list[ColumnElement[bool]]:
    """Every condition on ``crm_leads`` for ``scope`` (created in the period)."""
    ld = schema.leads
    return (visible(services, "lead", ld) + responsible(scope, ld.c.responsible_id) + channel(scope, ld)
            + period(scope, ld.c.created_at))


def options_of(query: Mapping[str, Any]) -> dict[str, Any]:
    """The scope options among CLI/API parameters named ``from``, ``to``, ``manager``, ..."""
    names = {"from": "since", "to": "until", "manager": "manager_id", "team": "team", "pipeline": "pipeline",
             "source": "source", "channel": "channel", "currency": "currency", "lifecycle": "lifecycle"}
    return {names[k]: v for k, v in query.items() if k in names and v is not None}
