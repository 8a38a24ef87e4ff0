"""Bar sales and member tabs.

    bar = Bar(crm, bartender.id)
    sale = bar.sell("bar", [{"sku": "WATER-05", "qty": "2"}], payment="cash", tendered="5.00")
    bar.sell("bar", [{"sku": "SHAKE", "qty": "1"}], contact_id=7, payment="tab")
    bar.pay_tab(7, "12.50", method="card")

A sale is one transaction: its receipt row, lines, stock movements (valued at the moving
average), the tab charge, the low-stock check and the event on the contact's timeline.
Amounts: a line is price x quantity rounded half-up to the minor unit; its VAT is the
line's gross minus its net, net = gross x 100 / (100 + rate) rounded half-up; the receipt's
total and VAT are the sums of its lines; change = tendered - total.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import attrs

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from crmkit import ConflictError, Crm, Money, NotFoundError, ValidationError, check_id, check_text

from . import alerts
from .config import MANAGE, SELL, config, currency
from .hooks import TabHold
from .ledger import issue_many
from .lookup import amount, contact_id as check_contact, lines_of, location_row, product_rows
from .quantity import parse_qty, price_total, qty, vat_of
from .records import money, rate
from .sale_records import Sale, SaleLine, Tab, TabEntry, load_sale, load_tab
from .service import reverse_movement
from .tables import refunds, sale_lines, sales, tab_entries, tabs

PAYMENTS = ("cash", "card", "tab")


class Bar:
    """Sales and tabs acting as user ``actor_id`` (``None``: the system)."""

    def __init__(self, crm: Crm, actor_id: int | None = None) -> None:
        self.crm = crm
        self.actor_id = actor_id
        self.services = crm.as_user(actor_id)

    def sell(self, location: Any, lines: Any, *, payment: str = "cash", contact_id: Any = None,
             tendered: Any = None, currency: str | None = None, client_key: str | None = None) -> Sale:
        """Sell ``lines`` (``{"sku", "qty"}``; a ``currency`` on a line must be the bar's) at
        ``location`` to a walk-in (no ``contact_id``) or a contact, paid by ``cash`` (``tendered``
        at least the total; default: exactly the total), ``card``, or charged to the contact's
        ``tab`` within its credit limit.

        ``client_key`` (the till's retry key, 1-64 printable ASCII characters): a sale repeated
        with the same key by the same user returns the first sale (``replayed``) and writes
        nothing; the same key with another sale is a ``ConflictError``."""
        self.services.access.require(SELL, "sell")
        key = _key(client_key)
        fingerprint = _fingerprint(location, lines, payment, contact_id, tendered, currency) if key else None
        if payment not in PAYMENTS:
            raise ValidationError(f"payment: {str(payment)[:20]!r} is not one of {', '.join(PAYMENTS)}",
                                  field="payment")
        bar = self._currency(currency)
        checked = lines_of(lines)
        with self.crm.transaction(self.actor_id) as tx:
            where = location_row(tx.conn, location)
            member = None if contact_id is None else check_contact(tx.conn, contact_id)
            if member is None and payment == "tab":
                raise ValidationError("contact_id: a sale on the tab needs the member's contact", field="contact_id")
            refs = []
            for n, line in enumerate(checked):
                extra = sorted(set(line) - {"sku", "qty", "currency"})
                if extra:
                    raise ValidationError(f"lines[{n}].{extra[0]}: unknown field", field=f"lines[{n}].{extra[0]}")
                if line.get("currency") is not None and str(line["currency"]).upper() != bar:
                    raise ValidationError(f"lines[{n}].currency: the bar sells in {bar}", field=f"lines[{n}].currency")
                refs.append(line.get("sku"))
            found = product_rows(tx.conn, refs, "lines[{}].sku")
            if key is not None:  # after the product locks: a concurrent retry waits, then finds the first
                first = tx.conn.execute(select(sales.c.id, sales.c.fingerprint).where(
                    sales.c.created_by == self.actor_id, sales.c.client_key == key)).first()
                if first is not None:
                    if first.fingerprint != fingerprint:
                        raise ConflictError("client_key: already used for another sale", field="client_key")
                    return attrs.evolve(load_sale(tx.conn, first.id), replayed=True)
            priced = []
            for n, (line, product) in enumerate(zip(checked, found)):
                if not product.active:
                    raise ValidationError(f"lines[{n}].sku: {product.sku} is not on sale (inactive)",
                                          field=f"lines[{n}].sku")
                if product.currency != bar:
                    raise ValidationError(f"lines[{n}].sku: {product.sku} is priced in {product.currency}, "
                                          f"the sale is in {bar}", field=f"lines[{n}].sku")
                q = parse_qty(line.get("qty"), f"lines[{n}].qty", fractional=product.fractional)
                gross = price_total(product.price_minor, q)
                priced.append((n, product, q, gross, vat_of(gross, rate(product.vat_rate_bp))))
            total = sum(p[3] for p in priced)
            vat = sum(p[4] for p in priced)
            given, change = self._tender(payment, tendered, total, bar)
            sale_id = tx.conn.execute(insert(sales).values(
                location_id=where.id, contact_id=member, currency=bar, total_minor=total, vat_minor=vat,
                payment=payment, tendered_minor=given, change_minor=change, created_by=self.actor_id,
                created_at=tx.now, client_key=key, fingerprint=fingerprint)).inserted_primary_key[0]  # type: ignore[index]
            posted = issue_many(tx, "sale", where.id, [(p[1], p[2], f"lines[{p[0]}].qty") for p in priced],
                                sale_id=sale_id)
            tx.conn.execute(insert(sale_lines), [
                {"sale_id": sale_id, "product_id": product.id, "qty_milli": q, "price_minor": product.price_minor,
                 "total_minor": gross, "vat_rate_bp": product.vat_rate_bp, "vat_minor": line_vat, "movement_id": m.id}
                for (_, product, q, gross, line_vat), m in zip(priced, posted)])
            if payment == "tab":
                assert member is not None
                self._charge(tx, member, total, bar, sale_id)
            cur = bar
            sale = Sale(sale_id, where.key, member, payment, money(total, cur), money(vat, cur), money(given, cur),
                        money(change, cur), tuple(
                            SaleLine(p.sku, p.name, qty(q), money(p.price_minor, cur), money(gross, cur),
                                     rate(p.vat_rate_bp), money(line_vat, cur), m.id)
                            for (_, p, q, gross, line_vat), m in zip(priced, posted)),
                        self.actor_id, tx.now, None, None)
            tx.emit("inventory.sale", "contact" if member else "inventory_location", member or where.id,
                    data=_sale_event(sale))
            alerts.check(tx, [(p[1].id, where.id) for p in priced])
            return sale

    def void(self, sale_id: Any, *, reason: str) -> Sale:
        """Void a sale: every line's movement reversed (stock back at the cost it took), a tab
        charge refunded to the tab. The sale stays, marked voided."""
        self.services.access.require(MANAGE, "void sales")
        ident = check_id(sale_id, "sale_id")
        why = check_text(reason, "reason", max_length=80, required=True)
        with self.crm.transaction(self.actor_id) as tx:
            row = tx.conn.execute(select(sales).where(sales.c.id == ident).with_for_update()).first()
            if row is None:
                raise NotFoundError(f"sale {ident} does not exist", field="sale_id")
            if row.voided_at is not None:
                raise ConflictError(f"sale {ident} is already voided", field="sale_id")
            returned = tx.conn.scalar(select(func.count()).select_from(refunds).where(refunds.c.sale_id == ident))
            if returned:  # voiding would put the returned goods back a second time and refund them twice
                raise ConflictError(f"sale {ident} has {returned} return(s): return the rest of its lines instead "
                                    "of voiding it", field="sale_id")
            for movement_id in tx.conn.scalars(select(sale_lines.c.movement_id).where(sale_lines.c.sale_id == ident)):
                reverse_movement(tx, movement_id, why, sale_ok=True)
            if row.payment == "tab":
                tab = tx.conn.execute(select(tabs).where(tabs.c.contact_id == row.contact_id).with_for_update()).one()
                self._entry(tx, tab, "refund", -row.total_minor, "void", ident)
            tx.conn.execute(update(sales).where(sales.c.id == ident).values(voided_at=tx.now, void_reason=why))
            sale = load_sale(tx.conn, ident)
            tx.emit("inventory.sale_voided", "contact" if row.contact_id else "inventory_location",
                    row.contact_id or row.location_id, data={"sale_id": ident, "reason": why,
                                                              "total": sale.total.to_json()})
            return sale

    def sale(self, sale_id: Any) -> Sale:
        with self.crm.engine.connect() as conn:
            return load_sale(conn, check_id(sale_id, "sale_id"))

    # -- tabs ----------------------------------------------------------------------

    def tab(self, contact_id: Any) -> Tab:
        """A member's tab (an empty one at the default limit if none was opened), with the holds
        other plugins put on it and the limit left."""
        with self.crm.transaction(self.actor_id) as tx:
            member = check_contact(tx.conn, contact_id)
            row = tx.conn.execute(select(tabs).where(tabs.c.contact_id == member)).first()
            cur = row.currency if row is not None else currency(self.crm)
            limit = row.limit_minor if row is not None else self._default_limit(cur)
            holds = self._holds(tx, member, cur)
            return load_tab(tx.conn, member, row, cur, limit, holds)

    def set_tab_limit(self, contact_id: Any, limit: Any) -> Tab:
        """The credit limit of a member's tab (0: no credit)."""
        self.services.access.require(MANAGE, "set tab limits")
        with self.crm.transaction(self.actor_id) as tx:
            member = check_contact(tx.conn, contact_id)
            row = self._open_tab(tx, member, currency(self.crm))
            new = amount(limit, row.currency, "limit").minor_units
            tx.conn.execute(update(tabs).where(tabs.c.id == row.id).values(limit_minor=new, version=row.version + 1))
            tx.emit("inventory.tab_limit_set", "contact", member, data={"limit": money(new, row.currency).to_json()})
        return self.tab(member)

    def pay_tab(self, contact_id: Any, paid: Any, *, method: str = "cash", currency: str | None = None) -> TabEntry:
        """A member pays (part of) what the tab owes; paying more than is owed is refused."""
        self.services.access.require(SELL, "take tab payments")
        how = check_text(method, "method", max_length=40, required=True)
        value = amount(paid, self._currency(None), "amount", given_currency=currency, positive=True)
        with self.crm.transaction(self.actor_id) as tx:
            member = check_contact(tx.conn, contact_id)
            row = tx.conn.execute(select(tabs).where(tabs.c.contact_id == member).with_for_update()).first()
            if row is None:
                raise ValidationError(f"contact_id: contact {member} has no tab", field="contact_id")
            if row.currency != value.currency:
                raise ValidationError(f"currency: the tab is in {row.currency}", field="currency")
            if value.minor_units > row.balance_minor:
                raise ValidationError(f"amount: the tab owes {money(row.balance_minor, row.currency)}, "
                                      f"not {value}", field="amount")
            entry = self._entry(tx, row, "payment", -value.minor_units, how, None)
            tx.emit("inventory.tab_paid", "contact", member, data={
                "amount": value.to_json(), "method": how,
                "balance": money(row.balance_minor - value.minor_units, row.currency).to_json()})
            return entry

    # -- inside the transaction -------------------------------------------------------

    def _charge(self, tx: Any, member: int, total: int, cur: str, sale_id: int) -> None:
        row = self._open_tab(tx, member, cur)
        if row.currency != cur:
            raise ValidationError(f"payment: the member's tab is in {row.currency}", field="payment")
        holds = self._holds(tx, member, cur)
        blocked = [h.reason for h in holds if h.blocks]
        if blocked:
            raise ValidationError(f"payment: the tab is closed to charges: {'; '.join(blocked)}", field="payment")
        cut = sum(h.reduce_by.minor_units for h in holds if h.reduce_by is not None and h.reduce_by.currency == cur)
        limit = row.limit_minor - cut
        if row.balance_minor + total > limit:
            reduced = f" ({money(row.limit_minor, cur)} less {money(cut, cur)})" if cut else ""
            raise ValidationError(
                f"payment: the tab's limit is {money(max(limit, 0), cur)}{reduced}; it owes "
                f"{money(row.balance_minor, cur)} and this sale of {money(total, cur)} would make it "
                f"{money(row.balance_minor + total, cur)}", field="payment")
        self._entry(tx, row, "charge", total, "tab", sale_id)

    def _open_tab(self, tx: Any, member: int, cur: str) -> Any:
        query = select(tabs).where(tabs.c.contact_id == member).with_for_update()
        row = tx.conn.execute(query).first()
        if row is None:  # two first charges at once (PostgreSQL): one opens the tab, the other waits on it
            values = {"contact_id": member, "currency": cur, "limit_minor": self._default_limit(cur),
                      "balance_minor": 0, "created_at": tx.now, "version": 1}
            dialect = postgresql if tx.conn.dialect.name == "postgresql" else sqlite
            tx.conn.execute(dialect.insert(tabs).values(**values).on_conflict_do_nothing(index_elements=["contact_id"]))
            row = tx.conn.execute(query).one()
        return row

    @staticmethod
    def _entry(tx: Any, tab: Any, kind: str, signed: int, method: str, sale_id: int | None) -> TabEntry:
        new = tx.conn.execute(insert(tab_entries).values(
            tab_id=tab.id, kind=kind, amount_minor=signed, sale_id=sale_id, method=method,
            created_by=tx.actor_id, created_at=tx.now)).inserted_primary_key[0]
        tx.conn.execute(update(tabs).where(tabs.c.id == tab.id).values(
            balance_minor=tabs.c.balance_minor + signed, version=tabs.c.version + 1))
        return TabEntry(int(new), kind, money(signed, tab.currency), method, sale_id, tx.now)

    def _holds(self, tx: Any, member: int, cur: str) -> list[TabHold]:
        found: list[TabHold] = []
        for answer in self.crm.pm.hook.inventory_tab_holds(tx=tx, contact_id=member, currency=cur):
            if isinstance(answer, TabHold):
                found.append(answer)
            elif answer:
                found.extend(answer)
        return found

    def _default_limit(self, cur: str) -> int:
        return Money.parse(config(self.crm).tab_limit, cur, field="tab_limit").minor_units

    def _currency(self, given: str | None) -> str:
        bar = currency(self.crm)
        if given is not None and str(given).upper() != bar:
            raise ValidationError(f"currency: the bar sells in {bar}, not {str(given)[:10]}", field="currency")
        return bar

    @staticmethod
    def _tender(payment: str, tendered: Any, total: int, cur: str) -> tuple[int, int]:
        if tendered is None or payment != "cash":
            if tendered is not None and amount(tendered, cur, "tendered").minor_units != total:
                raise ValidationError(f"tendered: a {payment} payment is exactly the total, {money(total, cur)}",
                                      field="tendered")
            return total, 0
        given = amount(tendered, cur, "tendered").minor_units
        if given < total:
            raise ValidationError(f"tendered: {money(given, cur)} is less than the total {money(total, cur)}",
                                  field="tendered")
        return given, given - total


def _key(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= 64 or not value.isascii() or not value.isprintable():
        raise ValidationError("client_key: 1 to 64 printable ASCII characters", field="client_key")
    return value


def _fingerprint(*request: Any) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()


def _sale_event(sale: Sale) -> dict[str, Any]:
    return {"sale_id": sale.id, "location": sale.location, "payment": sale.payment, "total": sale.total.to_json(),
            "vat": sale.vat.to_json(), "lines": [{"sku": ln.sku, "qty": str(ln.qty), "total": ln.total.to_json()}
                                                  for ln in sale.lines]}

