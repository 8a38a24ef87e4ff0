"""Negative numbers are values, not options: ``crmkit installments pay 36 -5``.

click reads every argument starting with ``-`` as an option, so ``-5`` was "No such option".
Every command of an invocation (built-in or a plugin's) parses with :class:`NumberParser`, which
takes an argument that reads as a number (``-5``, ``-12.50``) and that no option of the command is
named as a positional value. ``--`` still ends the options as usual.
"""

from __future__ import annotations

import re
from types import MethodType
from typing import Any

import click

try:  # click >= 8.2 (the parser became private; its behaviour did not change)
    from click.parser import _OptionParser as OptionParser
    from click.parser import _ParsingState as ParsingState
except ImportError:  # pragma: no cover - click 8.1
    from click.parser import OptionParser, ParsingState  # type: ignore[attr-defined,no-redef,unused-ignore]

NUMBER = re.compile(r"-[0-9]+(\.[0-9]+)?")
_MARK = "_crmkit_numbers_as_values"


class NumberParser(OptionParser):
    """click's option parser, except that a negative number is a positional argument."""

    def _process_args_for_options(self, state: ParsingState) -> None:
        while state.rargs:
            arg = state.rargs.pop(0)
            if arg == "--":
                return
            if arg[:1] in self._opt_prefixes and len(arg) > 1 and not self._is_number(arg):
                self._process_opts(arg, state)
            elif self.allow_interspersed_args:
                state.largs.append(arg)
            else:
                state.rargs.insert(0, arg)
                return

    def _is_number(self, arg: str) -> bool:
        return bool(NUMBER.fullmatch(arg)) and arg not in self._short_opt and arg not in self._long_opt


def _make_parser(self: click.Command, ctx: click.Context) -> OptionParser:
    parser = NumberParser(ctx)
    for param in self.get_params(ctx):
        param.add_to_parser(parser, ctx)
    return parser


def numbers_as_values(command: click.Command) -> click.Command:
    """Let ``command`` (and a group's subcommands) take negative numbers as arguments."""
    if getattr(command, _MARK, False):
        return command
    setattr(command, "make_parser", MethodType(_make_parser, command))
    setattr(command, _MARK, True)
    if isinstance(command, click.Group):
        resolve = command.resolve_command

        def resolve_command(ctx: click.Context, args: list[str]) -> Any:
            name, found, rest = resolve(ctx, args)
            return name, numbers_as_values(found) if found is not None else None, rest

        setattr(command, "resolve_command", resolve_command)
    return command
