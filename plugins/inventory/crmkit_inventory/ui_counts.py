"""The stock-count page of the web UI (``/p/inventory/count``): open a count sheet for a location,
enter counted quantities on a phone (partially, over time, by several people), close it into
adjustments and see the differences."""

from __future__ import annotations

from typing import Any

from starlette.responses import RedirectResponse

from crmkit import CrmError
from crmkit.ui import PageContext

from .config import MANAGE
from .counts import Counts
from .service import Inventory


def _user(ctx: PageContext) -> int | None:
    return ctx.user.id if ctx.user else None


def count_page(ctx: PageContext) -> Any:
    """GET: the sheets (or one with ``?id=``); POST ``action``: ``open`` (a location), ``enter``
    (``q_<sku>`` quantities, ``r_<sku>`` reasons; blanks are left out) or ``close``."""
    counts, inv = Counts(ctx.crm, _user(ctx)), Inventory(ctx.crm, _user(ctx))
    raw = ctx.request.query_params.get("id") or ctx.form.get("id", "")
    sheet_id = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else None
    error = notice = None
    if ctx.request.method == "POST":
        action = ctx.form.get("action", "")
        try:
            if action == "open":
                opened = counts.open(ctx.form.get("location", ""))
                return RedirectResponse(f"/p/inventory/count?id={opened.id}", status_code=303)
            if sheet_id is not None and action == "enter":
                lines = [{"sku": key[2:], "qty": value.strip(), "reason": ctx.form.get(f"r_{key[2:]}", "").strip()}
                         for key, value in ctx.form.items() if key.startswith("q_") and value.strip()]
                if lines:
                    counts.enter(sheet_id, lines)
                notice = ctx.ngettext("%(num)s counted quantity saved.", "%(num)s counted quantities saved.",
                                      len(lines))
            elif sheet_id is not None and action == "close":
                counts.close(sheet_id)
                notice = ctx._("The count is closed; the differences are booked as adjustments.")
        except CrmError as exc:
            error = exc.message
    if sheet_id is None:
        return ctx.render("inventory/counts.html", sheets=counts.recent(), locations=inv.locations(),
                          can_manage=ctx.allows(MANAGE), error=error)
    try:
        sheet = counts.get(sheet_id)
    except CrmError as exc:
        return ctx.render("inventory/counts.html", sheets=counts.recent(), locations=inv.locations(),
                          can_manage=ctx.allows(MANAGE), error=exc.message)
    entered = {line.sku: line for line in sheet.lines}
    return ctx.render("inventory/count.html", sheet=sheet, products=inv.products(active=True, limit=500),
                      entered=entered, can_manage=ctx.allows(MANAGE), error=error, notice=notice,
                      form=ctx.form if error else {})
