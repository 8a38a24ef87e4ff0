"""The root ``crmkit`` group: global options, error handling, plugin commands loaded lazily.

Plugin commands come from the ``crm_register_commands`` hook of the plugins
enabled in the deployment. They are collected on a fresh group per invocation
(so nothing leaks between runs) and only when a command is not a built-in one
or when the help lists commands; a plugin installed but not enabled adds none.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from .. import __version__
from ..core.errors import CrmError
from ..core.hookcall import call_hook
from ..core.hooktrace import ENV as TRACE_ENV
from .errors import report
from .numbers import numbers_as_values
from .state import CliState, get_state


class CrmkitGroup(click.Group):
    """A group that reports errors as one line (JSON with ``--json``), finds enabled plugins'
    commands and lets every command take negative numbers as values (:mod:`crmkit.cli.numbers`)."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:  # type: ignore[override]
        try:
            rv = super().main(*args, standalone_mode=False, **kwargs)  # type: ignore[call-overload]
        except SystemExit:
            raise
        except BaseException as exc:  # every failure becomes one line and an exit code
            if isinstance(exc, KeyboardInterrupt):
                exc = click.Abort()
            given = args[0] if args else kwargs.get("args")
            code = report(exc, as_json=wants_json(list(given) if given is not None else sys.argv[1:]))
            if not standalone_mode:
                raise
            sys.exit(code)
        if not standalone_mode:
            return rv
        sys.exit(rv if isinstance(rv, int) else 0)

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = super().list_commands(ctx)
        try:
            extra = plugin_commands(self, get_state(ctx))
        except CrmError as exc:
            click.echo(f"Warning: plugin commands not loaded: {exc.message}", err=True)
            extra = {}
        return names + sorted(n for n in extra if n not in names)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name) or plugin_commands(self, get_state(ctx)).get(cmd_name)
        return numbers_as_values(found) if found is not None else None


def wants_json(words: list[str]) -> bool:
    """Whether the command line asks for JSON (``--json``, before a ``--`` ending the options)."""
    return "--json" in (words[:words.index("--")] if "--" in words else words)


def plugin_commands(group: click.Group, state: CliState) -> dict[str, click.Command]:
    """The commands of the deployment's enabled plugins (none without a config or plugins)."""
    if state.plugin_commands is None:
        commands: dict[str, click.Command] = {}
        if state.has_config() and state.settings().plugins:
            crm = state.crm
            collector = click.Group(name=group.name, help=group.help)
            call_hook(crm.pm, "crm_register_commands", cli=collector, crm=crm)
            commands = dict(collector.commands)
        state.plugin_commands = commands
    return state.plugin_commands


@click.group(cls=CrmkitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config", type=click.Path(dir_okay=False), envvar="CRMKIT_CONFIG", is_eager=True,
              help="The deployment's crmkit.toml [env CRMKIT_CONFIG; default ./crmkit.toml].")
@click.option("--as", "user", metavar="EMAIL", envvar="CRMKIT_USER",
              help="Act as this user (by e-mail) [env CRMKIT_USER]; changes (cards, tasks, notes) need one, "
                   "reads and admin commands without one act as the system.")
@click.option("--json", "json", is_flag=True,
              help="Print JSON for every command (for scripts); an error is {\"error\": {code, message, field}} "
                   "on stderr.")
@click.option("--trace-hooks", "trace_hooks", is_flag=True,
              help=f"Log every hook call (plugin, hook, duration, outcome) to stderr [env {TRACE_ENV}=1].")
@click.version_option(__version__, prog_name="crmkit")
@click.pass_context
def cli(ctx: click.Context, config: str | None, user: str | None, json: bool, trace_hooks: bool) -> None:
    """crmkit: a plugin-based CRM. Run commands against the deployment in ./crmkit.toml.

    Start with `crmkit demo` (a ready deployment with demo data) or `crmkit init`.
    """
    if trace_hooks:
        _trace_this_invocation(ctx)
    get_state(ctx)


def _trace_this_invocation(ctx: click.Context) -> None:
    """Every deployment this invocation starts traces its hooks (processes it starts too, e.g.
    ``serve --workers``); the environment is given back when the command ends."""
    before = os.environ.get(TRACE_ENV)
    os.environ[TRACE_ENV] = "1"

    def restore() -> None:
        if before is None:
            os.environ.pop(TRACE_ENV, None)
        else:
            os.environ[TRACE_ENV] = before

    ctx.call_on_close(restore)
