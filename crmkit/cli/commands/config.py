"""``crmkit config check``: every problem a start of the deployment would refuse, one line each."""

from __future__ import annotations

import click

from ...core.checks import problems
from ...core.errors import CrmError
from ..errors import one_line
from ..output import emit_json
from ..params import json_option
from ..state import pass_state


@click.group("config")
def config() -> None:
    """The deployment's crmkit.toml."""


@config.command("check")
@json_option
def check(as_json: bool) -> None:
    """Check crmkit.toml as a start would, without starting: plugins, [settings.*] of every plugin
    and of the core, pipelines and rules, the database and its schema. Exit 1 with one line per
    problem on stderr, 0 when the deployment would start."""
    state = pass_state()
    try:
        found = problems(state.settings())
    except CrmError as exc:  # crmkit.toml itself: missing, not TOML, an unknown top-level key
        found = [exc.message]
    if as_json or state.json:
        emit_json({"config": str(state.config), "ok": not found, "problems": found})
    else:
        for problem in found:
            click.echo(one_line(problem), err=True)
        if not found:
            click.echo(f"{state.config}: OK")
    if found:
        raise SystemExit(1)
