"""The hookspecs the fitness plugin publishes (``PluginInfo(hookspecs=...)``) for other plugins."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from crmkit import Tx, hookspec


@hookspec
def fitness_checkin_refusal(tx: Tx, contact_id: int, at: datetime) -> str | None:
    """Called inside the check-in's transaction after the plugin's own rules allowed it.

    :param contact_id: the member; ``at``: when the device saw them (aware, UTC).
    :return: a refusal reason (a short snake_case word, e.g. ``installment_overdue``) to deny the
        check-in, or ``None`` to let it through. The first reason returned is the answer; raising
        rolls the whole check-in (or batch) back and the device gets an error.
    """


@hookspec
def fitness_checkin_decided(tx: Tx, decision: Any) -> None:
    """Called inside the transaction that recorded a check-in decision (allowed or denied).

    :param decision: a :class:`crmkit_fitness.checkins.Decision` (``allowed``, ``reason``,
        ``contact_id``, ``at``, ``membership_id``, ``class_id``). A duplicate event id is not decided
        again and does not call this hook. The return value is ignored; raising rolls back.
    """


@hookspec
def fitness_phase_changed(tx: Tx, contact_id: int, old: str | None, new: str, day: date) -> None:
    """Called inside the daily pass's transaction when a member's lifecycle phase changes.

    :param old: the previous phase (``None`` for a new member); ``new``: one of
        prospect, trial, adaptation, active, at_risk, expiring, renewed, lapsed; ``day``: the local
        date of the pass. The return value is ignored; raising rolls the batch back (retried next pass).
    """
