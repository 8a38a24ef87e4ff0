"""The plugin in the web UI: a bar-sale screen (``/p/inventory/sell``), a stock page
(``/p/inventory/stock``), the analysis (``/p/inventory/analysis``) and its events in timelines (``crm_register_ui_*`` hooks; only public
crmkit imports). Both pages act as the logged-in user through the plugin's services."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crmkit import Crm, CrmError, hookimpl
from crmkit.ui import N_, Markup, PageContext, TimelineRenderer, UiPage

from . import reports
from .config import MANAGE, SELL
from .records import money
from .sales import PAYMENTS, Bar
from .service import Inventory
from .ui_counts import count_page

ROWS = 5
TEMPLATES = Path(__file__).parent / "templates"


def _user(ctx: PageContext) -> int | None:
    return ctx.user.id if ctx.user else None


def sell_page(ctx: PageContext) -> Any:
    """GET: the sale form; POST: sell, then the receipt (or the form again with the error)."""
    inv = Inventory(ctx.crm, _user(ctx))
    form = ctx.form if ctx.request.method == "POST" else {}
    sale, error = None, None
    if ctx.request.method == "POST":
        lines = [{"sku": form.get(f"sku{n}", ""), "qty": form.get(f"qty{n}", "").strip()}
                 for n in range(ROWS) if form.get(f"sku{n}") and form.get(f"qty{n}", "").strip()]
        contact = form.get("contact_id", "").strip()
        try:
            sale = Bar(ctx.crm, _user(ctx)).sell(
                form.get("location", ""), lines or None, payment=form.get("payment", "cash"),
                contact_id=int(contact) if contact.isdigit() and len(contact) < 10 else (contact or None),
                tendered=form.get("tendered", "").strip() or None)
            form = {"location": form.get("location", "")}
        except CrmError as exc:
            error = exc.message
    return ctx.render("inventory/sell.html", products=inv.products(active=True, limit=500),
                      locations=inv.locations(), payments=PAYMENTS, rows=range(ROWS), form=form, sale=sale,
                      error=error)


def stock_page(ctx: PageContext) -> Any:
    """On hand, value and low-stock marks per product and location."""
    inv = Inventory(ctx.crm, _user(ctx))
    location = ctx.request.query_params.get("location") or None
    try:
        levels = inv.stock(location=location)
    except CrmError as exc:
        return Markup('<p class="error" role="alert">{}</p>').format(exc.message)
    totals: dict[str, int] = {}
    for level in levels:
        totals[level.value.currency] = totals.get(level.value.currency, 0) + level.value.minor_units
    return ctx.render("inventory/stock.html", levels=levels, locations=inv.locations(), location=location,
                      totals=[money(v, c) for c, v in sorted(totals.items())])


def analysis_page(ctx: PageContext) -> Any:
    """Best sellers, margin, turnover and shrinkage over a period (``since``, ``until`` in the query)."""
    q = ctx.request.query_params
    since, until = q.get("since") or None, q.get("until") or None
    try:
        span = reports.period(ctx.crm, since, until)
        args = {"since": span.since, "until": span.until}
        data = {"margin": reports.gross_margin(ctx.crm, **args),
                "best": reports.best_sellers(ctx.crm, by=q.get("by") if q.get("by") in ("qty", "margin") else "qty",
                                             **args),
                "turnover": reports.turnover(ctx.crm, **args), "shrinkage": reports.shrinkage(ctx.crm, **args),
                "segments": reports.sales_by_segment(ctx.crm, **args)}
    except CrmError as exc:
        return Markup('<p class="error" role="alert">{}</p>').format(exc.message)
    return ctx.render("inventory/analysis.html", span=span, by=q.get("by", "qty"), **data)


def event(ctx: PageContext, event: Any) -> Any:
    data = event.data or {}
    what = event.type.split(".", 1)[1].replace("_", " ")
    total = data.get("total") or data.get("amount")
    if isinstance(total, dict) and "amount" in total:
        lines = ", ".join(f"{ln.get('qty')} x {ln.get('sku')}" for ln in data.get("lines", [])[:5])
        return Markup("{}: {} {} {}{}").format(ctx._("Bar"), what, total["amount"], total.get("currency", ""),
                                               f" ({lines})" if lines else "")
    return Markup("{}: {}").format(ctx._("Bar"), what)


@hookimpl
def crm_register_ui_pages(crm: Crm) -> list[UiPage]:
    return [UiPage("inventory", "sell", N_("Bar sale"), sell_page, methods=("GET", "POST"), templates=TEMPLATES,
                   permission=SELL),
            UiPage("inventory", "stock", N_("Stock"), stock_page, templates=TEMPLATES, permission=SELL),
            UiPage("inventory", "count", N_("Stock count"), count_page, methods=("GET", "POST"), templates=TEMPLATES,
                   permission=SELL),
            UiPage("inventory", "analysis", N_("Bar analysis"), analysis_page, templates=TEMPLATES, permission=MANAGE)]


@hookimpl
def crm_register_ui_timeline(crm: Crm) -> list[TimelineRenderer]:
    return [TimelineRenderer("inventory.*", event)]
