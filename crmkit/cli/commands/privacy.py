"""``crmkit contacts export`` and ``crmkit contacts erase``: a person's data, and erasing it.

Registered on the ``contacts`` group (:mod:`.contacts`). Both need the ``personal_data.manage``
permission of the ``--as`` user (the system, without ``--as``, has every permission).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from ...core.errors import ValidationError
from ...core.services.privacy import PrivacyService
from ..output import emit_json
from ..state import CliState, pass_state


def _service(state: CliState) -> PrivacyService:
    services = state.services
    return PrivacyService(state.crm, services.actor_id, services.access)


@click.command("export")
@click.argument("contact_id", type=int)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the JSON to this new file (readable by you only) instead of printing it.")
def export_contact(contact_id: int, output: Path | None) -> None:
    """Export everything stored about a contact as JSON: the contact, their leads, deals, tasks,
    notes, the events of those cards and each plugin's data about them."""
    state = pass_state()
    if output is None:
        emit_json(_service(state).export_contact(contact_id))
        return
    try:  # personal data: a new file, the owner's only
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ValidationError(f"--output: {output} already exists", field="output") from None
    except OSError as exc:
        raise ValidationError(f"--output: cannot write {output}: {exc.strerror}", field="output") from None
    try:
        document = _service(state).export_contact(contact_id)
    except BaseException:
        os.close(fd)
        output.unlink()
        raise
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    click.echo(f"Exported contact {contact_id} to {output}")


@click.command("erase")
@click.argument("contact_id", type=int)
@click.option("--reason", help="Why (e.g. the request's number); logged, with the person's data erased from it.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def erase_contact(contact_id: int, reason: str | None, yes: bool) -> None:
    """Erase a contact's personal data everywhere (names, phones, e-mails, mentions in their cards,
    notes, tasks, events and plugins' rows), in one transaction. Deals and leads stay with their
    amounts and stages. Cannot be undone."""
    state = pass_state()
    if not yes:
        click.confirm(f"Erase the personal data of contact {contact_id}? This cannot be undone", abort=True)
    erasure = _service(state).erase_contact(contact_id, reason=reason)
    if state.json:
        emit_json(erasure)
        return
    counts = ", ".join(f"{table} {n}" for table, n in erasure.rows.items())
    click.echo(f"Erased contact {contact_id} (rows changed: {counts})")
