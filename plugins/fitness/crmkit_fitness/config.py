"""The plugin's names, pipelines and ``[settings.fitness]`` (checked by crmkit at start).

Every threshold of the lifecycle and the touch-point programme lives here; see the
plugin's README for the meaning of each.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Mapping

import attrs

from crmkit import ConfigError, Crm, PipelineSpec, StageSpec

NAME = "fitness"
SALES, RENEWALS = "membership_sales", "renewals"
MANAGE = f"{NAME}.manage"
"""Permission: sell memberships, freeze them, manage the catalogue, classes and devices."""
TRAINER = "trainer"
"""The role of trainers (users who run classes and look after members)."""

PHASES = ("prospect", "trial", "adaptation", "active", "at_risk", "expiring", "renewed", "lapsed")

SALES_PIPELINE = PipelineSpec(key=SALES, name="Membership sales", origin=NAME, stages=(
    StageSpec("new", "New request"),
    StageSpec("offer", "Offer made"),
    StageSpec("paid", "Paid", "won"),
    StageSpec("lost", "Lost", "lost"),
))
RENEWALS_PIPELINE = PipelineSpec(key=RENEWALS, name="Renewals", origin=NAME, stages=(
    StageSpec("due", "Renewal due"),
    StageSpec("contacted", "Contacted"),
    StageSpec("renewed", "Renewed", "won"),
    StageSpec("not_renewed", "Not renewed", "lost"),
))

WHEN_KINDS = ("day", "no_visit", "cadence_drop", "birthday", "before_end", "season", "phase", "after_end")
_WHEN = re.compile(r"^(?P<kind>[a-z_]+)(?::(?P<arg>[0-9a-z_-]+))?$")


@attrs.frozen
class TouchRule:
    """One touch point: ``when`` it fires, who gets the task (``trainer`` or ``manager``), its title."""

    key: str
    title: str
    when: str
    assignee: str = "manager"
    due_hours: int = 48
    first_cycle: bool = False
    """Only in a member's first membership (onboarding), not again after a renewal."""
    message: str = ""
    """If set, also a message to the member (``crm.messages.send``, purpose ``marketing``: consent,
    quiet hours and caps apply) with this body and :attr:`subject`; ``{first_name}`` is filled in."""
    subject: str = ""

    @property
    def kind(self) -> str:
        return self.when.split(":", 1)[0]

    @property
    def arg(self) -> str:
        return self.when.split(":", 1)[1] if ":" in self.when else ""

    @property
    def days(self) -> int:
        return int(self.arg) if self.arg.isdigit() else 0


DEFAULT_PROGRAMME = (
    TouchRule("welcome", "Welcome call to the new member", "day:0", first_cycle=True,
              message="Welcome to the club, {first_name}! Your trainer will call you in the next days.",
              subject="Welcome to the club"),
    TouchRule("trainer_intro", "Trainer's introduction call (day 3)", "day:2", "trainer", first_cycle=True),
    TouchRule("first_week", "First-week check: how are the first visits going?", "day:7", "trainer",
              first_cycle=True),
    TouchRule("adaptation_review", "Adaptation review: plan the next month", "day:14", "trainer", first_cycle=True),
    TouchRule("event_invite", "Invite to the club's members' event", "day:45"),
    TouchRule("no_visit", "No visit for 10 days: call and invite back", "no_visit:10", "trainer"),
    TouchRule("cadence_drop", "Visits dropped below the member's usual pace: check in", "cadence_drop", "trainer"),
    TouchRule("birthday", "Birthday greeting and a guest pass", "birthday",
              message="Happy birthday, {first_name}! Bring a friend this week: a guest pass is waiting at the desk.",
              subject="Happy birthday"),
    TouchRule("summer_offer", "Seasonal promotion: summer programme", "season:06-01"),
    TouchRule("end_60", "Membership ends in 60 days: offer the renewal", "before_end:60"),
    TouchRule("end_30", "Membership ends in 30 days: renewal offer follow-up", "before_end:30"),
    TouchRule("end_7", "Membership ends in 7 days: last call for the renewal", "before_end:7"),
    TouchRule("renewal_thanks", "Thank the member for renewing", "phase:renewed"),
    TouchRule("win_back", "Win-back offer, 14 days after the membership lapsed", "after_end:14"),
)
"""The default programme: 14 touch points across a membership's cycle."""


@attrs.frozen
class Config:
    """``[settings.fitness]``. Days are whole days in the deployment's timezone."""

    renewal_days: int = 30
    """A renewal deal is opened this many days before a membership ends."""
    adaptation_days: int = 30
    """The first days of a member's first membership: the adaptation phase."""
    expiring_days: int = 30
    """A membership ending within this many days (and not renewed): expiring."""
    renewed_days: int = 14
    """Renewed: from winning the renewal until this many days into the new membership."""
    no_visit_days: int = 14
    """No visit for this many days: at risk."""
    cadence_percent: int = 50
    """At risk when the recent pace falls below this percentage of the member's own norm."""
    min_norm_visits: int = 4
    """The norm (visits per 28 days) below which the pace is not judged."""
    recent_days: int = 14
    """The time constant of the recent pace (an exponentially decaying visit count), days."""
    norm_days: int = 90
    """The time constant of the member's norm, days."""
    pass_every_hours: int = 24
    """How often the worker runs the daily pass (phases, touch points, renewals, no-shows)."""
    season_window_days: int = 14
    """A seasonal touch point fires on its date or within this many days after it."""
    signature_window_seconds: int = 300
    """A signed device request older or newer than this is refused."""
    touch_points: tuple[TouchRule, ...] = DEFAULT_PROGRAMME


_INTS = [f.name for f in attrs.fields(Config) if f.type in (int, "int")]


def parse(table: Mapping[str, Any], settings: Any) -> Config:
    """``[settings.fitness]`` as a :class:`Config` (a ``ConfigError`` names the key)."""
    known = set(_INTS) | {"touch_points"}
    for key in table:
        if key not in known:
            raise ConfigError(f"settings.fitness.{key}: unknown key (known: {', '.join(sorted(known))})")
    values: dict[str, Any] = {}
    for key in _INTS:
        if key in table:
            value = table[key]
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10_000:
                raise ConfigError(f"settings.fitness.{key}: {value!r} is not a whole number from 0 to 10000")
            values[key] = value
    if values.get("pass_every_hours", 1) < 1:
        raise ConfigError("settings.fitness.pass_every_hours: must be at least 1")
    if "touch_points" in table:
        values["touch_points"] = _rules(table["touch_points"])
    return Config(**values)


def _rules(items: Any) -> tuple[TouchRule, ...]:
    if not isinstance(items, list):
        raise ConfigError("settings.fitness.touch_points: expected a list of tables")
    rules: list[TouchRule] = []
    for i, item in enumerate(items):
        where = f"settings.fitness.touch_points[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: expected a table with key, title, when")
        unknown = set(item) - {"key", "title", "when", "assignee", "due_hours", "first_cycle", "message", "subject"}
        if unknown:
            raise ConfigError(f"{where}.{sorted(unknown)[0]}: unknown key")
        key, title, when = item.get("key"), item.get("title"), item.get("when")
        if not isinstance(key, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", key):
            raise ConfigError(f"{where}.key: {key!r} is not a key (a-z, 0-9, _; at most 40)")
        if not isinstance(title, str) or not title.strip() or len(title) > 200:
            raise ConfigError(f"{where}.title: give a title of 1 to 200 characters")
        check_when(when, f"{where}.when")
        assignee = item.get("assignee", "manager")
        if assignee not in ("manager", "trainer"):
            raise ConfigError(f"{where}.assignee: {assignee!r} is not manager or trainer")
        due = item.get("due_hours", 48)
        if isinstance(due, bool) or not isinstance(due, int) or not 0 <= due <= 10_000:
            raise ConfigError(f"{where}.due_hours: {due!r} is not a whole number from 0 to 10000")
        if key in {r.key for r in rules}:
            raise ConfigError(f"{where}.key: {key!r} is used twice")
        first = item.get("first_cycle", False)
        if not isinstance(first, bool):
            raise ConfigError(f"{where}.first_cycle: expected true or false")
        texts = {k: item.get(k, "") for k in ("message", "subject")}
        for k, v in texts.items():
            if not isinstance(v, str) or len(v) > (2000 if k == "message" else 200):
                raise ConfigError(f"{where}.{k}: expected text (at most {2000 if k == 'message' else 200} characters)")
        rules.append(TouchRule(key, title.strip(), when, assignee, due, first, texts["message"], texts["subject"]))
    return tuple(rules)


def check_when(when: Any, where: str) -> None:
    """Refuse a ``when`` that is not one of the documented forms."""
    m = _WHEN.match(when) if isinstance(when, str) else None
    kind, arg = (m["kind"], m["arg"]) if m else ("", None)
    ok = m is not None and kind in WHEN_KINDS and {
        "day": arg is not None and arg.isdigit(), "no_visit": arg is not None and arg.isdigit(),
        "before_end": arg is not None and arg.isdigit(), "after_end": arg is not None and arg.isdigit(),
        "cadence_drop": arg is None, "birthday": arg is None, "phase": arg in PHASES,
        "season": arg is not None and _season(arg) is not None,
    }[kind]
    if not ok:
        raise ConfigError(f"{where}: {when!r} is not day:N, no_visit:N, cadence_drop, birthday, before_end:N, "
                          "after_end:N, season:MM-DD or phase:<phase>")


def _season(arg: str) -> tuple[int, int] | None:
    m = re.fullmatch(r"([0-9]{2})-([0-9]{2})", arg)
    if not m:
        return None
    try:
        date(2024, int(m[1]), int(m[2]))
    except ValueError:
        return None
    return int(m[1]), int(m[2])


def season(rule: TouchRule) -> tuple[int, int]:
    found = _season(rule.arg)
    assert found is not None
    return found


def config(crm: Crm) -> Config:
    """The deployment's settings of this plugin (parsed once at start)."""
    found: Config = crm.settings_of(NAME)
    return found


def local_date(crm: Crm, when: datetime) -> date:
    """The calendar date of ``when`` in the deployment's timezone."""
    return when.astimezone(crm.settings.tz).date()
