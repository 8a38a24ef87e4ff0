"""Resolving a loss reason: a key from the deployment's list, or free text."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import ValidationError
from ..text import check_characters

if TYPE_CHECKING:  # pragma: no cover
    from ..app import Crm


def resolve_reason(crm: "Crm", reason: Any, reason_text: Any, *,
                   verb: str = "losing") -> tuple[int | None, str | None, str]:
    """Return (lost_reason_id, free_text, label). A reason is required (``verb``: what needs it,
    for the message: losing a deal, rejecting a lead)."""
    if reason_text is not None and not isinstance(reason_text, str):
        raise ValidationError("reason_text: expected text", field="reason_text")
    text = check_characters(reason_text, "reason_text", multiline=True).strip() if reason_text is not None else None
    if reason is None or reason == "":
        if not text:
            known = ", ".join(r.key for r in crm.lost_reasons) or "none configured"
            raise ValidationError(
                f"reason: {verb} needs a reason (one of: {known}) or a free-text reason_text", field="reason"
            )
        if len(text) > 2000:
            raise ValidationError("reason_text: longer than 2000 characters", field="reason_text")
        return None, text, text
    found = crm.lost_reason(reason) if isinstance(reason, str) else None
    if found is None:
        known = ", ".join(r.key for r in crm.lost_reasons) or "none configured"
        raise ValidationError(f"reason: {reason!r} is not a lost reason of this deployment (known: {known})", field="reason")
    return found.id, text or None, found.label + (f": {text}" if text else "")


def reason_label(crm: "Crm", reason_id: int | None, text: str | None) -> str | None:
    if reason_id is None:
        return text
    label = next((r.label for r in crm.lost_reasons if r.id == reason_id), None) or f"reason {reason_id}"
    return f"{label}: {text}" if text else label
