"""Every hook of the crmkit core. Plugins implement them with ``@crmkit.hookimpl``.

Three kinds, one naming scheme:

* ``crm_register_*`` -- registration, called once when a :class:`~crmkit.Crm` starts.
  Return the things you add (or ``None``).
* ``crm_validate`` and ``crm_on_events`` -- in-transaction: they run inside the
  command's database transaction, after its rows are written and before commit.
  Raising rolls the whole command back.
* ``crm_event_committed`` -- after commit: the dispatcher delivers each event
  from the event log to each plugin separately; an exception is recorded and
  retried with backoff and never touches the committed write.

An implementation takes any subset of a hook's arguments, by name
(``def crm_register_routes():`` is fine): crmkit calls every hook through pluggy
(:mod:`crmkit.core.hookcall`). ``CRMKIT_TRACE_HOOKS=1`` logs each call.

The long documentation of each hook, with examples, is docs/hooks.md; a test
keeps both in step. A plugin may publish its own hookspecs (prefixed with its
name) through ``PluginInfo(hookspecs=...)``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

import pluggy

if TYPE_CHECKING:  # pragma: no cover
    import click
    from sqlalchemy import MetaData, Select, Table
    from starlette.routing import BaseRoute

    from .access import Permission, Role
    from .app import Crm
    from .customfields import CustomField
    from .events import Event
    from .jobs import PeriodicJob
    from .pipelines import PipelineSpec
    from .unit_of_work import Tx

PROJECT = "crmkit"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# -- registration -------------------------------------------------------------------


@hookspec
def crm_register_tables(crm: Crm) -> MetaData | Iterable[Table] | None:
    """Declare the plugin's own tables.

    :param crm: the starting deployment (``crm.settings``; the database is not ready yet).
    :return: a ``MetaData`` holding the plugin's tables (or an iterable of ``Table``).
        They are created when the plugin is enabled and never otherwise.
        Reference core tables with column objects, e.g. ``ForeignKey(crmkit.schema.deals.c.id)``.

    Called once per ``Crm``, all results collected.
    """


@hookspec
def crm_register_pipelines(crm: Crm) -> Iterable[PipelineSpec] | None:
    """Declare pipelines (ordered stages of kind open/won/lost).

    :return: ``PipelineSpec`` objects. Declaring a key that another source declares
        differently fails at start with both origins named.

    Called once per ``Crm``; the core's own implementation returns the
    pipelines of crmkit.toml. Stages are synced into the database at start.
    """


@hookspec
def crm_register_custom_fields(crm: Crm) -> Iterable[CustomField] | None:
    """Declare custom fields of leads, contacts, companies, deals or tasks.

    :return: ``CustomField`` objects; they are validated on every write and can be
        used as list filters, exactly like those of crmkit.toml.

    Called once per ``Crm``, all results collected.
    """


@hookspec
def crm_register_commands(cli: click.Group, crm: Crm) -> None:
    """Add click commands (or a group named after the plugin) to the ``crmkit`` CLI.

    :param cli: a click group collecting plugin commands; call ``cli.add_command(...)``
        or decorate with ``@cli.command()``. Its commands are served as top-level
        ``crmkit`` commands (a fresh group per invocation, so nothing leaks between runs).
    :param crm: the deployment the CLI runs against.

    Called when the CLI needs a command that is not built in (or lists commands),
    only for enabled plugins. A name clashing with a built-in command is shadowed by it.
    """


@hookspec
def crm_register_periodic_jobs(crm: Crm) -> Iterable[PeriodicJob] | None:
    """Declare periodic jobs run by ``crmkit worker``.

    :return: ``PeriodicJob(name, every, run)`` objects; ``run(crm, now)`` is called
        when the job is due. Job names are prefixed with the plugin name (the core's
        own job arrives through this hook too: ``core.overdue_tasks``).
    """


@hookspec
def crm_register_routes(crm: Crm) -> Iterable[BaseRoute] | None:
    """Declare Starlette routes, mounted under ``/api/v1/<plugin>/``.

    :return: Starlette ``Route``/``Mount`` objects. Raise :class:`crmkit.CrmError` subclasses from a
        handler (``crmkit.web.BadGateway``/``ServiceUnavailable`` for 502/503) for a JSON error.
    """


@hookspec
def crm_register_roles(crm: Crm) -> Iterable[Role] | None:
    """Declare roles beyond admin, head and manager (e.g. a measurer).

    :return: ``Role(name, scope, permissions)`` objects; ``scope`` is ``all``, ``team``,
        ``own`` or ``assigned_tasks`` (only tasks assigned to the user and their cards).
        A name registered twice fails at start.
    """


@hookspec
def crm_register_permissions(crm: Crm) -> Iterable[Permission] | None:
    """Declare the plugin's permissions and the roles that have them by default.

    :return: ``Permission(name, roles=(...))`` objects, e.g.
        ``Permission("telephony.call", roles=("admin", "head", "manager"))``.
        Services check them with ``services.access.require(name, "what")``.
    """


if TYPE_CHECKING:  # pragma: no cover
    from ..messages.records import Channel


@hookspec
def crm_register_channels(crm: Crm) -> Iterable[Channel] | None:
    """Declare message channels (e-mail, SMS, messengers) that ``crm.messages`` sends through.

    :param crm: the deployment (``crm.settings_of(<plugin>)`` for the provider's address and keys).
    :return: objects with ``name`` (unique in the deployment), ``kind`` (``email``, ``phone`` or
        ``telegram``: what they send to), ``supports_idempotency`` and ``send(message) -> SendResult``
        (:class:`crmkit.Channel`). A name registered twice fails when channels are first needed.

    Called once per ``Crm``, the first time a message is queued or sent; all results collected (the
    core's own implementation returns the channels of ``[settings.messages]``). ``send`` is called by
    the worker, outside transactions; it raises :class:`crmkit.DeliveryError` to fail (retried
    unless ``permanent``).
    """



@hookspec
def crm_register_purchases(crm: Crm) -> Select[Any] | Iterable[Select[Any]] | None:
    """Declare what counts as a customer buying (visits, bar sales), beyond won deals.

    :param crm: the deployment.
    :return: SQLAlchemy ``SELECT``s (or ``None``) whose columns are, by name and in this order,
        ``contact_id``, ``company_id``, ``occurred_at``, ``amount_minor``, ``currency``, ``kind``
        (see ``crmkit.core.reports.purchases.COLUMNS``). They are combined with ``UNION ALL``
        into the lifecycle, RFM and cohort figures, always in SQL.

    Called once per ``Crm``, the first time customer analytics run; all results collected.
    A ``SELECT`` with other columns fails that run with a ``PluginError`` naming the plugin.
    """


# -- in the transaction -------------------------------------------------------------


@hookspec
def crm_validate(tx: Tx, events: Sequence[Event]) -> None:
    """Veto a command: raise :class:`crmkit.ValidationError` to refuse it.

    :param tx: the open transaction (``tx.conn``, ``tx.actor_id``, ``tx.now``, ``tx.crm``).
    :param events: the events of this command (creates, updates, stage moves, ...),
        in order; a bulk command passes a whole batch in one call.

    Runs inside the transaction after the command's rows are written and before
    the events are logged. Raising ``ValidationError`` (or anything else) rolls
    everything back and the error reaches the user. The return value is ignored.
    """


@hookspec
def crm_on_events(tx: Tx, events: Sequence[Event]) -> None:
    """React inside the transaction: write the plugin's own rows atomically with the command.

    :param tx: the open transaction; write with ``tx.conn``, add events with ``tx.emit(...)``,
        or call services (``tx.crm.as_user(tx.actor_id).tasks.add(...)``): they join this
        transaction.
    :param events: the command's events, already validated.

    Runs after ``crm_validate`` and after the events are in the log. Events caused
    here (an automatic task, a copied deal) get their own round of
    ``crm_validate`` and ``crm_on_events`` (at most 10 rounds). Raising rolls back
    the whole command, core rows included.
    """


# -- after commit -------------------------------------------------------------------


@hookspec
def crm_event_committed(crm: Crm, event: Event) -> Any:
    """Side effects after commit (SMS, e-mail, webhooks), one event at a time.

    :param crm: the deployment.
    :param event: a committed event, with its log ``id`` (use it to de-duplicate:
        delivery is at least once).

    The dispatcher calls each plugin's implementation separately, in log order
    (through pluggy, one plugin at a time, so that one plugin's failure is
    isolated: ``tryfirst``/``trylast`` and hook wrappers do not apply to this hook).
    An exception is recorded (``crmkit events failures``) and retried with
    exponential backoff; it never rolls back or loses the committed write and
    never stops delivery to other plugins. The return value is ignored.
    """


# -- personal data (in the export's or the erasure's transaction) ---------------------------

if TYPE_CHECKING:  # pragma: no cover
    from typing import Mapping

    from .personal_data import DataSubject


@hookspec
def crm_personal_data_export(tx: Tx, subject: DataSubject) -> Mapping[str, Any] | None:
    """Add the plugin's data about a person to their export (``PrivacyService.export_contact``).

    :param tx: the export's open transaction; read with ``tx.conn``, write nothing.
    :param subject: who: ``contact_id``, the cards about them (``lead_ids``, ``deal_ids``,
        ``task_ids``) and how they are known (``names``, ``phones`` in E.164, ``emails``; past ones too).
    :return: ``{"<plugin name>": JSON-ready data}`` (records through ``crmkit.to_dict``) or ``None``;
        it appears under ``plugins`` in the export. Two plugins returning the same key fail the export.

    Called once per export, all results collected. Raising fails the export (nothing is logged).
    """


@hookspec
def crm_personal_data_erase(tx: Tx, subject: DataSubject) -> Mapping[str, int] | None:
    """Erase the plugin's data about a person (``PrivacyService.erase_contact``).

    :param tx: the erasure's open transaction; change the plugin's rows with ``tx.conn``, emit no events.
    :param subject: as for ``crm_personal_data_export``, plus ``subject.scrub(value)`` (text or JSON
        with every mention of the person replaced by ``"[erased]"``) and ``subject.erase_text(*texts)``
        (exact texts the core then erases from its cards and the event log, e.g. a recording URL).
    :return: ``{"<table>": rows changed}`` for the erasure's log entry, or ``None``.

    Called once per erasure, before the core erases its own rows. Keep business facts (amounts,
    dates, states, links to cards); clear or scrub what identifies the person. Raising rolls the
    whole erasure back: nothing is half-erased.
    """


@hookspec
def crm_merge_records(tx: Tx, entity_type: str, survivor_id: int, merged_ids: Sequence[int]) -> Mapping[str, int] | None:
    """Re-point the plugin's rows from merged-away cards to the survivor (``crmkit merge``).

    :param tx: the merge's open transaction; change the plugin's rows with ``tx.conn``.
    :param entity_type: ``contact``, ``company`` or ``lead``.
    :param survivor_id: the card that stays.
    :param merged_ids: the cards merged into it (archived after this call, never deleted).
    :return: ``{"<table>": rows re-pointed}`` for the merge event, or ``None``.

    Called once per merge, after the core re-pointed its own rows (deals, leads, tasks, notes,
    files). Raising rolls the whole merge back: nothing is half-merged.
    """


# -- the web UI (registration, when the web app starts) -------------------------------------

if TYPE_CHECKING:  # pragma: no cover
    from ..ui.contrib import CardAction, CardPanel, MenuEntry, TimelineRenderer, UiPage


@hookspec
def crm_register_ui_menu(crm: Crm) -> Iterable[MenuEntry] | None:
    """Add links to the web UI's main menu.

    :return: ``crmkit.ui.MenuEntry(label, path, permission=None, order=100)`` objects; an entry
        with a ``permission`` shows only to users holding it.

    Called once when the web app starts, all results collected.
    """


@hookspec
def crm_register_ui_panels(crm: Crm) -> Iterable[CardPanel] | None:
    """Add panels to card pages (a deal's calls, its installment schedule).

    :return: ``crmkit.ui.CardPanel(key, title, render, entities=("deal",))`` objects;
        ``render(ctx, entity, card)`` returns the panel's body (escaped unless ``Markup``), or
        ``None`` for no panel on this card. It runs for every view of the card: raising makes
        the page an error page.

    Called once when the web app starts, all results collected.
    """


@hookspec
def crm_register_ui_actions(crm: Crm) -> Iterable[CardAction] | None:
    """Add actions (a button and a small form) to card pages ("Record payment", "Call").

    :return: ``crmkit.ui.CardAction(key, label, run, entities=("deal",), fields=(...))`` objects;
        ``run(ctx, entity, card, values)`` does the action through services (one command, one
        transaction) and returns a message; a ``CrmError`` it raises is shown to the user.

    Called once when the web app starts, all results collected.
    """


@hookspec
def crm_register_ui_timeline(crm: Crm) -> Iterable[TimelineRenderer] | None:
    """Render the plugin's own events in card timelines.

    :return: ``crmkit.ui.TimelineRenderer(event_type, render)`` objects (``"telephony.*"`` for a
        prefix); ``render(ctx, event)`` returns the entry's body. Events without a renderer show
        their type and data.

    Called once when the web app starts, all results collected.
    """


@hookspec
def crm_register_ui_pages(crm: Crm) -> Iterable[UiPage] | None:
    """Add whole pages at ``/p/<plugin>/<path>``, with the plugin's own templates.

    :return: ``crmkit.ui.UiPage(plugin, path, title, handler, templates=folder)`` objects;
        ``handler(ctx)`` returns the page's body (``ctx.render("<plugin>/page.html", ...)``) or
        a Starlette response. The page needs a logged-in user; a POST needs the CSRF token.

    Called once when the web app starts, all results collected.
    """


# -- documents on cards (registration, asked once per Crm when a file is first stored or read) -----

if TYPE_CHECKING:  # pragma: no cover
    from .files import FileStorage


@hookspec(firstresult=True)
def crm_register_file_storage(crm: Crm) -> FileStorage | None:
    """Keep the contents of documents on cards somewhere else than the deployment's folder.

    :param crm: the deployment (``crm.settings_of(<plugin>)`` for the store's address and keys).
    :return: an object with ``put(key, source)``, ``get(key) -> binary file`` and ``delete(key)``
        (:class:`crmkit.core.files.FileStorage`), or ``None`` to leave it to the next plugin and
        finally to the core's folder storage (``[settings.files] folder``).

    Stops at the first non-``None`` result. Called once per ``Crm``, the first time a file is
    stored, read or removed; the methods are then called from worker threads, outside database
    transactions. Raising there fails that command only.
    """


# -- analytics -------------------------------------------------------------------------


@hookspec
def crm_score(crm: Crm, entity_type: str, ids: Sequence[int], now: datetime) -> Mapping[str, Mapping[int, float]] | None:
    """Score cards: a lead's chance to be won, a member's risk of leaving.

    :param crm: the deployment.
    :param entity_type: ``lead``, ``deal``, ``contact`` or ``company``.
    :param ids: a batch (at most 1000) of open cards of that type (leads not closed, open deals,
        contacts and companies not archived).
    :param now: the time of the job run.
    :return: ``{model name: {card id: score}}``, each score a number from 0 to 1, for the cards
        the plugin scores (others left out), or ``None``.

    Called by the worker's ``core.scores`` job, outside any transaction, once per batch; all
    results collected (the core's own ``lead_win`` model answers for deals, ``trylast``). The scores
    are stored in ``crm_scores`` (the latest per card and model). A score outside 0..1 or not a
    number fails the job run with a ``PluginError`` naming the plugin; nothing of the run is stored.
    """
