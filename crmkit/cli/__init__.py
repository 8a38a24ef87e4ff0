"""The ``crmkit`` command line: ``crmkit --help`` lists everything.

Built-in commands live in :mod:`crmkit.cli.commands`; enabled plugins add
theirs through the ``crm_register_commands`` hook (see :mod:`crmkit.cli.root`).
"""

from __future__ import annotations

from .commands import archive as _archive
from .commands import calendar as _calendar
from .commands.cards import notes, pipelines, timeline
from .commands.companies import companies
from .commands.config import config
from .commands.contacts import contacts
from .commands.db import db
from .commands.deals import deals
from .commands.demo import demo
from .commands.files import files
from .commands.events import events
from .commands.leads import leads
from .commands.report import report
from .commands.search import search
from .commands.serve import serve
from .commands.setup import init, plugins
from .commands.tasks import tasks
from .commands.transfer import duplicates_command, export_command, import_, merge_command
from .commands.users import users
from .commands.worker import worker
from .root import cli
from .state import CliState, pass_state

for _command in (init, demo, plugins, leads, contacts, companies, deals, tasks, notes, timeline, users, pipelines,
                 events, worker, serve, db, config, search, files, report, import_, export_command,
                 duplicates_command, merge_command):
    cli.add_command(_command)
from ..messages.cli import COMMANDS as _message_commands  # noqa: E402  (crmkit.messages uses crmkit.cli)

for _command in _message_commands:
    cli.add_command(_command)
from ..tenants.cli import COMMANDS as _tenant_commands  # noqa: E402  (crmkit.tenants uses crmkit.cli)

for _command in _tenant_commands:
    cli.add_command(_command)
from ..distributions.cli import COMMANDS as _distribution_commands  # noqa: E402

for _command in _distribution_commands:
    cli.add_command(_command)
_archive.attach({"leads": leads, "contacts": contacts, "companies": companies, "deals": deals, "tasks": tasks})
_calendar.attach(users)


def invocation() -> CliState:
    """The running ``crmkit`` invocation, for plugin commands: ``.crm``, ``.services`` (acting as
    ``--as``, else the system), ``.acting()`` (the same, for a change a person makes: refused
    without ``--as``), ``.by(message)`` (the message saying who acted), ``.json`` (the global
    ``--json``), ``.user_id(ref)`` (an e-mail, id or ``me``)."""
    return pass_state()


def main() -> None:
    """The console script ``crmkit``."""
    cli.main(prog_name="crmkit")


__all__ = ["CliState", "cli", "invocation", "main"]
