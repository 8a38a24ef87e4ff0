"""A plugin's ``[settings.<name>]`` table, checked once when a deployment starts.

A plugin declares the shape of its table with ``PluginInfo(settings=...)``:

* an attrs class: every key is a field (by its name, or ``alias``); an unknown key, a missing
  required one, a value of the wrong type (``bool``, ``int``, ``float``, ``str``, ``Decimal``,
  ``Literal[...]``, unions, ``tuple``/``list``/``Mapping`` of those, nested attrs classes for
  sub-tables) and a value its validators refuse are each one problem naming the key; then the
  class is built (``__attrs_post_init__`` may check keys together);
* or a callable ``parse(table, settings) -> object`` (the table, and the deployment's
  :class:`~crmkit.Settings`) raising :class:`~crmkit.ConfigError` (or ``ValueError``) naming the key.

The result is what ``crm.settings_of(name)`` returns, for the life of the ``Crm``. A plugin
without a schema gets its table as a read-only mapping.
"""

from __future__ import annotations

import re
import typing
from decimal import Decimal, InvalidOperation
from types import MappingProxyType, UnionType
from typing import Any, Iterable, Mapping, Sequence

import attrs

from .errors import ConfigError

CORE_SECTIONS = frozenset({"database", "server", "forms", "files", "messages", "monitoring", "logging",
                           "duplicates", "reports", "events"})
"""``[settings.<section>]`` tables that are the core's, not a plugin's."""


class SettingsProblems(ConfigError):
    """One or more ``[settings.<plugin>]`` tables are wrong; :attr:`problems` has one line each."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


def where(plugin: str) -> str:
    return f"crmkit.toml [settings.{plugin}]"


def parse_all(plugins: Iterable[tuple[str, Any]], settings: Any) -> tuple[dict[str, Any], list[str]]:
    """``(parsed settings by plugin name, problems)`` for ``(name, PluginInfo.settings)`` pairs."""
    parsed: dict[str, Any] = {}
    problems: list[str] = []
    for name, schema in plugins:
        value, found = parse(name, schema, settings.plugin_settings.get(name, {}), settings)
        parsed[name] = value
        problems += found
    return parsed, problems


def parse(name: str, schema: Any, table: Mapping[str, Any], settings: Any) -> tuple[Any, list[str]]:
    """``(the parsed settings of plugin name, problems)``; the value is ``None`` when there are problems."""
    if name in CORE_SECTIONS:
        return None, [f"plugin {name}: the name is a core settings section ([settings.{name}]); rename the plugin"]
    if schema is None:
        return MappingProxyType(dict(table)), []
    if attrs.has(schema):
        return _attrs(schema, table, where(name), "")
    if callable(schema):
        try:
            return schema(table, settings), []
        except (ConfigError, ValueError, TypeError) as exc:
            message = exc.message if isinstance(exc, ConfigError) else str(exc)
            return None, [_named(name, message)]
    return None, [f"plugin {name}: PluginInfo(settings=...) must be an attrs class or a callable, got {schema!r}"]


def _named(plugin: str, message: str) -> str:
    """``message`` in the host's form, ``crmkit.toml [settings.<plugin>] <key>: <reason>`` (a plugin's
    own ``settings.<plugin>.<key>: <reason>`` is rewritten to it)."""
    found = re.match(rf"^(?:crmkit\.toml:? )?\[?settings\.{re.escape(plugin)}\]?(?:\.(?P<key>[^:\s]+))?:?\s*(?P<reason>.*)$",
                     message, re.DOTALL)
    if found is None:
        return f"{where(plugin)}: {message}"
    key = found["key"]
    return f"{where(plugin)} {key}: {found['reason']}" if key else f"{where(plugin)}: {found['reason']}"


def _attrs(cls: type, table: Any, at: str, prefix: str) -> tuple[Any, list[str]]:
    if not isinstance(table, Mapping):
        return None, [f"{at} {prefix.rstrip('.') or 'the section'}: expected a table, got {_show(table)}"]
    hints = _hints(cls)
    fields = {getattr(a, "alias", None) or a.name: a for a in attrs.fields(cls) if a.init}
    problems = [f"{at} {prefix}{key}: unknown key (known: {', '.join(fields) or 'none'})"
                for key in table if key not in fields]
    values: dict[str, Any] = {}
    for key, field in fields.items():
        if key not in table:
            if field.default is attrs.NOTHING:
                problems.append(f"{at} {prefix}{key}: is required")
            continue
        value, problem = _value(table[key], hints.get(field.name, Any), at, f"{prefix}{key}")
        if problem:
            problems += problem
            continue
        if field.validator is not None:
            try:
                field.validator(None, field, value)
            except (ValueError, TypeError, ConfigError) as exc:
                problems.append(f"{at} {prefix}{key}: {_message(exc)}")
                continue
            except Exception:  # noqa: BLE001 - a validator reading the instance: the constructor runs it
                pass
        values[key] = value
    if problems:
        return None, problems
    try:
        return cls(**values), []
    except (ValueError, TypeError, ConfigError) as exc:
        return None, [f"{at}{' ' + prefix.rstrip('.') if prefix else ''}: {_message(exc)}"]


def _hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except Exception:  # noqa: BLE001 - an annotation that does not resolve is not checked
        return {}


def _message(exc: BaseException) -> str:
    """The reason, without attrs' repetition of the key (``'days' must be >= 1: 0`` -> ``must be >= 1, got 0``)."""
    if isinstance(exc, ConfigError):
        text = exc.message
    else:  # attrs' validators raise (message, attribute, ...): the message
        text = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
    found = _ATTRS_BOUND.match(text)
    return f"must be {found['bound']}, got {found['value']}" if found else text


_ATTRS_BOUND = re.compile(r"^'\w+' must be (?P<bound>[<>=!]=? ?\S+): (?P<value>.+)$")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _value(value: Any, tp: Any, at: str, key: str) -> tuple[Any, list[str]]:
    """``(value converted to tp, problems)``; a sub-table for an attrs class (``Channel | None`` too)
    is checked key by key."""
    nested = [t for t in (typing.get_args(tp) if typing.get_origin(tp) in (typing.Union, UnionType) else (tp,))
              if isinstance(t, type) and attrs.has(t)]
    if nested and (isinstance(value, Mapping) or nested == [tp]):
        return _attrs(nested[0], value, at, key + ".")
    ok, converted, expected = _check(value, tp)
    if ok:
        return converted, []
    return None, [f"{at} {key}: expected {expected}, got {_show(value)}"]


def _check(value: Any, tp: Any) -> tuple[bool, Any, str]:
    """``(fits, converted value, what was expected)`` for one annotation."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any or tp is object:
        return True, value, "anything"
    if isinstance(tp, type) and attrs.has(tp):  # a sub-table is checked by _value; anything else is wrong
        return False, None, "a table"
    if origin in (typing.Union, UnionType):
        expected = []
        for member in args:
            if member is type(None):
                continue
            ok, converted, what = _check(value, member)
            if ok:
                return True, converted, what
            expected.append(what)
        return False, None, " or ".join(expected)
    if origin is typing.Literal:
        return value in args, value, "one of " + ", ".join(repr(a) for a in args)
    if tp is bool:
        return isinstance(value, bool), value, "true or false"
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool), value, "a whole number"
    if tp is float:
        fits = isinstance(value, (int, float)) and not isinstance(value, bool)
        return fits, float(value) if fits else None, "a number"
    if tp is str:
        return isinstance(value, str), value, "text"
    if tp is Decimal:
        return _decimal(value)
    if origin in (tuple, list) or tp in (tuple, list) or origin in (typing.Sequence, _abc("Sequence")):
        return _sequence(value, tp, origin, args)
    if origin in (dict, typing.Mapping, _abc("Mapping")) or tp in (dict, Mapping):
        return _mapping(value, args)
    return True, value, "anything"  # an annotation the host does not check: the class's validators do


def _abc(name: str) -> Any:
    import collections.abc

    return getattr(collections.abc, name)


def _decimal(value: Any) -> tuple[bool, Any, str]:
    expected = "a decimal number as text or a whole number (\"12.50\")"
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return False, None, expected
    try:
        number = Decimal(value)
    except InvalidOperation:
        return False, None, expected
    return number.is_finite(), number, expected


def _sequence(value: Any, tp: Any, origin: Any, args: tuple[Any, ...]) -> tuple[bool, Any, str]:
    if not isinstance(value, list):
        return False, None, "a list"
    fixed = origin is tuple and bool(args) and not (len(args) == 2 and args[1] is Ellipsis)
    if fixed and len(value) != len(args):
        return False, None, f"a list of {len(args)} values"
    types = args if fixed else [args[0] if args else Any] * len(value)
    out = []
    for v, t in zip(value, types):
        ok, converted, what = _check(v, t)
        if not ok:
            return False, None, f"a list of {what}"
        out.append(converted)
    return True, (out if origin is list or tp is list else tuple(out)), "a list"


def _mapping(value: Any, args: tuple[Any, ...]) -> tuple[bool, Any, str]:
    item = args[1] if len(args) == 2 else Any
    if not isinstance(value, Mapping):
        return False, None, "a table"
    out = {}
    for k, v in value.items():
        ok, converted, what = _check(v, item)
        if not ok:
            return False, None, f"a table of {what}"
        out[k] = converted
    return True, out, "a table"
