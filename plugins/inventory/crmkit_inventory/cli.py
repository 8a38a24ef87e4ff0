"""``crmkit inventory ...``: the catalogue, receipts, sales, tabs, counts and reports from the shell.

Commands act as the ``--as`` user (changes need one) and print JSON with ``--json``. Lines are
given as ``--line SKU:QTY[:COST]`` (receipts), ``--line SKU:QTY`` (sales) or
``--line SKU:QTY[:REASON]`` (counts). Errors are one line and a non-zero exit; nothing is written.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import click

from crmkit import ValidationError

from . import reports as reports_module
from .counts import Counts
from .records import to_json
from .sales import PAYMENTS, Bar
from .service import Inventory


def _state() -> Any:
    from crmkit.cli import invocation

    return invocation()


def _actor(person: bool) -> tuple[Any, int | None]:
    state = _state()
    return state.crm, (state.acting() if person else state.services).actor_id


def inventory(person: bool = True) -> Inventory:
    return Inventory(*_actor(person))


def bar(person: bool = True) -> Bar:
    return Bar(*_actor(person))


def _show(data: Any, text: Callable[[Any], str]) -> None:
    items = data if isinstance(data, list) else [data]
    if _state().json:
        shaped = [d.to_json() if hasattr(d, "to_json") else to_json(d) for d in items]
        click.echo(json.dumps(shaped if isinstance(data, list) else shaped[0], indent=2))
        return
    for item in items:
        click.echo(text(item))
    if isinstance(data, list) and not data:
        click.echo("(none)")


def _lines(raw: tuple[str, ...], names: tuple[str, ...], required: int) -> list[dict[str, str]]:
    out = []
    for n, line in enumerate(raw):
        parts = line.split(":")
        if not required <= len(parts) <= len(names):
            raise ValidationError(f"--line {line!r}: expected {':'.join(names[:required])}"
                                  f"{'[:' + ':'.join(names[required:]) + ']' if len(names) > required else ''}",
                                  field=f"lines[{n}]")
        out.append(dict(zip(names, parts)))
    return out


def _movement(m: Any) -> str:
    flag = " NEGATIVE" if m.negative else ""
    return f"#{m.id} {m.kind:<12} {m.sku:<12} {m.location:<8} {m.qty:>10} {m.value}{flag}"


@click.group(name="inventory")
def group() -> None:
    """The bar's stock: products, receipts, sales, tabs, counts, reports."""


@group.command("products")
def products_cmd() -> None:
    """List the products."""
    _show(inventory(False).products(limit=500),
          lambda p: f"{p.sku:<12} {p.name:<30} {p.price} VAT {p.vat_rate}% {p.unit}{'' if p.active else ' (inactive)'}")


@group.command("product-add")
@click.option("--sku", required=True)
@click.option("--name", required=True)
@click.option("--price", required=True, help="Sale price, VAT included.")
@click.option("--unit", default="pcs", show_default=True, help="pcs, kg, g, l or ml.")
@click.option("--category", default="")
@click.option("--barcode")
@click.option("--vat", "vat_rate", default="0", show_default=True, help="VAT rate in percent.")
def product_add(sku: str, name: str, price: str, unit: str, category: str, barcode: str | None, vat_rate: str) -> None:
    """Add a product."""
    p = inventory().create_product(sku=sku, name=name, price=price, unit=unit, category=category, barcode=barcode,
                                   vat_rate=vat_rate)
    _show(p, lambda p: f"product {p.id}: {p.sku} {p.name} {p.price}")


@group.command("product-set")
@click.argument("sku")
@click.option("--name")
@click.option("--price", help="Sale price, VAT included.")
@click.option("--vat", "vat_rate", help="VAT rate in percent.")
@click.option("--category")
@click.option("--barcode")
@click.option("--active/--inactive", default=None, help="On sale or not.")
def product_set(sku: str, **changes: Any) -> None:
    """Change a product."""
    given = {k: v for k, v in changes.items() if v is not None}
    if not given:
        raise click.UsageError("nothing to change: give --name, --price, --vat, --category, --barcode or --active")
    p = inventory().update_product(sku, **given)
    _show(p, lambda p: f"product {p.id}: {p.sku} {p.name} {p.price} VAT {p.vat_rate}%"
                       f"{'' if p.active else ' (inactive)'}, version {p.version}")


@group.command("location-add")
@click.argument("key")
@click.argument("name")
def location_add(key: str, name: str) -> None:
    """Add a location (the bar, the storage room)."""
    _show(inventory().create_location(key, name), lambda lo: f"location {lo.id}: {lo.key} ({lo.name})")


@group.command("supplier-add")
@click.argument("name")
@click.option("--contact-info", default="")
def supplier_add(name: str, contact_info: str) -> None:
    """Add a supplier."""
    _show(inventory().create_supplier(name, contact_info), lambda s: f"supplier {s.id}: {s.name}")


@group.command("receive")
@click.argument("location")
@click.option("--line", "lines", multiple=True, required=True, help="SKU:QTY:UNIT_COST (repeat).")
@click.option("--supplier")
def receive_cmd(location: str, lines: tuple[str, ...], supplier: str | None) -> None:
    """Receive goods at LOCATION."""
    _show(inventory().receive(location, _lines(lines, ("sku", "qty", "unit_cost"), 3), supplier=supplier), _movement)


def _sale(s: Any) -> str:
    rows = [f"sale {s.id}  {ln.sku:<12} {ln.qty:>10} x {ln.price.amount:>8} = {ln.total}" for ln in s.lines]
    return "\n".join(rows + [f"total {s.total} (VAT {s.vat}), {s.payment}, tendered {s.tendered}, change {s.change}"])


@group.command("sell")
@click.argument("location")
@click.option("--line", "lines", multiple=True, required=True, help="SKU:QTY (repeat).")
@click.option("--pay", "payment", type=click.Choice(PAYMENTS), default="cash", show_default=True)
@click.option("--contact", "contact_id", type=int, help="The member's contact id (needed for --pay tab).")
@click.option("--tendered", help="Cash handed over [default: exactly the total].")
def sell_cmd(location: str, lines: tuple[str, ...], payment: str, contact_id: int | None, tendered: str | None) -> None:
    """Sell at LOCATION."""
    sale = bar().sell(location, _lines(lines, ("sku", "qty"), 2), payment=payment, contact_id=contact_id,
                      tendered=tendered)
    _show(sale, _sale)


@group.command("void")
@click.argument("sale_id", type=int)
@click.option("--reason", required=True)
def void_cmd(sale_id: int, reason: str) -> None:
    """Void a sale: stock back, a tab charge refunded."""
    _show(bar().void(sale_id, reason=reason), lambda s: f"sale {s.id} voided ({s.void_reason}), {s.total}")


@group.command("write-off")
@click.argument("location")
@click.argument("sku")
@click.argument("qty")
@click.option("--reason", required=True)
def write_off_cmd(location: str, sku: str, qty: str, reason: str) -> None:
    """Write stock off (broken, expired, ...)."""
    _show(inventory().write_off(location, sku, qty, reason=reason), _movement)


@group.command("transfer")
@click.argument("sku")
@click.argument("qty")
@click.option("--from", "source", required=True)
@click.option("--to", "target", required=True)
def transfer_cmd(sku: str, qty: str, source: str, target: str) -> None:
    """Move stock between locations."""
    _show(inventory().transfer(sku, qty, source=source, target=target), _movement)


@group.command("return")
@click.argument("movement_id", type=int)
@click.argument("qty")
@click.option("--reason", default="returned", show_default=True)
def return_cmd(movement_id: int, qty: str, reason: str) -> None:
    """Take QTY of sale movement MOVEMENT_ID back into stock (at the cost the sale took); the refund is recorded."""
    inv = inventory()
    moved = inv.return_sold(movement_id, qty, reason=reason)
    refund = inv.refund(moved.id)
    if _state().json:
        click.echo(json.dumps({**to_json(moved), "refund": refund.to_json()}, indent=2))
        return
    click.echo(_movement(moved))
    click.echo(f"refund: {refund.amount} ({refund.method})")


@group.command("reverse")
@click.argument("movement_id", type=int)
@click.option("--reason", required=True)
def reverse_cmd(movement_id: int, reason: str) -> None:
    """Reverse a movement by a counter-movement."""
    _show(inventory().reverse(movement_id, reason=reason), _movement)


@group.command("threshold")
@click.argument("sku")
@click.argument("location")
@click.argument("minimum")
def threshold_cmd(sku: str, location: str, minimum: str) -> None:
    """Alert the bar manager (one task) when SKU at LOCATION falls below MINIMUM (0 = never)."""
    inventory().set_threshold(sku, location, minimum)
    click.echo(f"threshold of {sku} at {location}: {minimum}")


@group.command("stock")
@click.option("--location")
@click.option("--sku")
def stock_cmd(location: str | None, sku: str | None) -> None:
    """On hand and stock value per product and location."""
    _show(inventory(False).stock(location=location, sku=sku),
          lambda s: f"{s.sku:<12} {s.location:<8} {s.on_hand:>12} {s.value}{'  LOW' if s.below_threshold else ''}")


@group.command("movements")
@click.option("--sku")
@click.option("--location")
@click.option("--kind")
@click.option("--after", "after_id", type=int, default=0)
@click.option("--limit", type=int, default=100, show_default=True)
def movements_cmd(sku: str | None, location: str | None, kind: str | None, after_id: int, limit: int) -> None:
    """The stock ledger."""
    _show(inventory(False).movements(sku=sku, location=location, kind=kind, after_id=after_id, limit=limit),
          _movement)


@group.command("tab")
@click.argument("contact_id", type=int)
def tab_cmd(contact_id: int) -> None:
    """A member's tab."""
    _show(bar(False).tab(contact_id), lambda t: "\n".join(
        [f"tab of contact {t.contact_id}: owes {t.balance}, limit {t.limit}, available {t.available}"]
        + [f"  hold: {h.reason}" for h in t.holds]))


@group.command("pay-tab")
@click.argument("contact_id", type=int)
@click.argument("amount")
@click.option("--method", default="cash", show_default=True)
def pay_tab_cmd(contact_id: int, amount: str, method: str) -> None:
    """Record a payment on a member's tab."""
    _show(bar().pay_tab(contact_id, amount, method=method), lambda e: f"paid {e.amount} ({e.method})")


@group.command("tab-limit")
@click.argument("contact_id", type=int)
@click.argument("limit")
def tab_limit_cmd(contact_id: int, limit: str) -> None:
    """Set a member's tab limit."""
    _show(bar().set_tab_limit(contact_id, limit), lambda t: f"tab of contact {t.contact_id}: limit {t.limit}")


@group.group("count")
def count_group() -> None:
    """Stock counts: open a sheet, enter counted quantities, close it into adjustments."""


def _count(c: Any) -> str:
    head = f"count {c.id} at {c.location}: {c.status}"
    return "\n".join([head] + [f"  {ln.sku:<12} counted {ln.counted}" + (
        f", expected {ln.expected}, difference {ln.difference} ({ln.reason})" if ln.expected is not None else "")
        for ln in c.lines])


@count_group.command("open")
@click.argument("location")
def count_open(location: str) -> None:
    """Open a count sheet for LOCATION."""
    _show(Counts(*_actor(True)).open(location), _count)


@count_group.command("enter")
@click.argument("count_id", type=int)
@click.option("--line", "lines", multiple=True, required=True, help="SKU:QTY[:REASON] (repeat).")
def count_enter(count_id: int, lines: tuple[str, ...]) -> None:
    """Enter counted quantities."""
    _show(Counts(*_actor(True)).enter(count_id, _lines(lines, ("sku", "qty", "reason"), 2)), _count)


@count_group.command("close")
@click.argument("count_id", type=int)
def count_close(count_id: int) -> None:
    """Close a count sheet: differences become adjustments."""
    _show(Counts(*_actor(True)).close(count_id), _count)


@count_group.command("show")
@click.argument("count_id", type=int)
def count_show(count_id: int) -> None:
    """Show a count sheet."""
    _show(Counts(*_actor(False)).get(count_id), _count)


REPORTS: dict[str, tuple[Callable[..., Any], Callable[[Any], str]]] = {
    "best-sellers": (reports_module.best_sellers,
                     lambda r: f"{r.sku:<12} {r.qty:>10}  revenue {r.revenue}  cost {r.cost}  margin {r.margin}"),
    "margin": (reports_module.gross_margin,
               lambda r: f"revenue {r.revenue}  cost {r.cost}  margin {r.margin} ({r.margin_percent}%)"),
    "turnover": (reports_module.turnover,
                 lambda r: f"{r.sku:<12} on hand {r.on_hand}  sold {r.sold}  turnover {r.turnover_days} d  "
                           f"left {r.days_left} d"),
    "shrinkage": (reports_module.shrinkage, lambda r: f"{r.sku:<12} {r.reason:<16} {r.qty:>10} {r.value}"),
    "segments": (reports_module.sales_by_segment,
                 lambda r: f"{r.segment:<16} {r.members:>5} members {r.receipts:>6} receipts  {r.revenue}"),
}


@group.command("report")
@click.argument("name", type=click.Choice(list(REPORTS)))
@click.option("--since", help="First day (YYYY-MM-DD) [default: 29 days before --until].")
@click.option("--until", help="Last day (YYYY-MM-DD) [default: today].")
@click.option("--by", type=click.Choice(["qty", "margin"]), default="qty", show_default=True,
              help="best-sellers: order by.")
def report_cmd(name: str, since: str | None, until: str | None, by: str) -> None:
    """Stock analysis: best-sellers, margin, turnover, shrinkage, segments."""
    fn, text = REPORTS[name]
    extra = {"by": by} if name == "best-sellers" else {}
    _show(fn(_state().crm, since=since, until=until, **extra), text)
