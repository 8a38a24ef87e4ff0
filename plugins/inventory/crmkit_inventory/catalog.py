"""The catalogue: products, suppliers and locations (``Inventory`` mixes these commands in)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select, update

from crmkit import ConflictError, Crm, Services, ValidationError, check_limit, check_text

from .config import MANAGE, currency
from .lookup import amount, location_row, product_row
from .quantity import percent
from .records import Location, Product, Supplier
from .tables import locations, products, suppliers

UNITS = ("pcs", "kg", "g", "l", "ml")
WEIGHED = frozenset({"kg", "g", "l", "ml"})


def _unique(conn: Any, column: Any, value: Any, field: str, what: str) -> None:
    if value is not None and conn.scalar(select(func.count()).where(column == value)):
        raise ConflictError(f"{field}: {what} {value!r} exists already", field=field)


class Catalog:
    """Products, suppliers, locations; ``crm``, ``actor_id`` and ``services`` come from the subclass."""

    crm: Crm
    actor_id: int | None
    services: Services

    def _manage(self, what: str) -> None:
        self.services.access.require(MANAGE, what)

    def create_product(self, *, sku: str, name: str, price: Any, unit: str = "pcs", category: str = "",
                       barcode: str | None = None, vat_rate: Any = "0", currency: str | None = None,
                       fractional: bool | None = None, active: bool = True) -> Product:
        """A product sold at ``price`` (VAT included) in the bar's currency. ``fractional``
        (default: for weighed units kg, g, l, ml) allows quantities with 3 decimal places."""
        self._manage("manage products")
        bar = self._currency()
        values = {
            "sku": check_text(sku, "sku", max_length=64, required=True),
            "barcode": check_text(barcode, "barcode", max_length=64) or None,
            "name": check_text(name, "name", max_length=200, required=True),
            "unit": self._unit(unit),
            "category": check_text(category, "category", max_length=80),
            "price_minor": amount(price, bar, "price", given_currency=currency).minor_units,
            "currency": bar,
            "vat_rate_bp": int(percent(vat_rate, "vat_rate") * 100),
            "active": self._bool(active, "active"),
        }
        values["fractional"] = values["unit"] in WEIGHED if fractional is None else self._bool(fractional, "fractional")
        with self.crm.transaction(self.actor_id) as tx:
            _unique(tx.conn, products.c.sku, values["sku"], "sku", "a product with SKU")
            _unique(tx.conn, products.c.barcode, values["barcode"], "barcode", "a product with barcode")
            new = tx.conn.execute(insert(products).values(**values, created_at=tx.now, updated_at=tx.now,
                                                          version=1)).inserted_primary_key
            assert new is not None
            row = tx.conn.execute(select(products).where(products.c.id == new[0])).one()
            tx.emit("inventory.product_created", "inventory_product", row.id, data={"sku": row.sku})
            return Product.of(row)

    def update_product(self, ref: Any, *, version: int | None = None, **changes: Any) -> Product:
        """Change a product's ``name``, ``category``, ``barcode``, ``price``, ``vat_rate`` or
        ``active``; a stale ``version`` is a ``ConflictError``."""
        self._manage("manage products")
        allowed = {"name", "category", "barcode", "price", "vat_rate", "active"}
        unknown = sorted(set(changes) - allowed)
        if unknown:
            raise ValidationError(f"{unknown[0]}: cannot be changed (changeable: {', '.join(sorted(allowed))})",
                                  field=unknown[0])
        with self.crm.transaction(self.actor_id) as tx:
            row = product_row(tx.conn, ref, lock=True)
            if version is not None and version != row.version:
                raise ConflictError(f"version: the product is at version {row.version}, not {version}",
                                    field="version")
            values: dict[str, Any] = {}
            if "name" in changes:
                values["name"] = check_text(changes["name"], "name", max_length=200, required=True)
            if "category" in changes:
                values["category"] = check_text(changes["category"], "category", max_length=80)
            if "barcode" in changes:
                values["barcode"] = check_text(changes["barcode"], "barcode", max_length=64) or None
                if values["barcode"] != row.barcode:
                    _unique(tx.conn, products.c.barcode, values["barcode"], "barcode", "a product with barcode")
            if "price" in changes:
                values["price_minor"] = amount(changes["price"], row.currency, "price").minor_units
            if "vat_rate" in changes:
                values["vat_rate_bp"] = int(percent(changes["vat_rate"], "vat_rate") * 100)
            if "active" in changes:
                values["active"] = self._bool(changes["active"], "active")
            tx.conn.execute(update(products).where(products.c.id == row.id).values(
                **values, updated_at=tx.now, version=row.version + 1))
            tx.emit("inventory.product_updated", "inventory_product", row.id, data={"sku": row.sku})
            return Product.of(tx.conn.execute(select(products).where(products.c.id == row.id)).one())

    def product(self, ref: Any) -> Product:
        """A product by SKU or id."""
        with self.crm.engine.connect() as conn:
            return Product.of(product_row(conn, ref))

    def products(self, *, active: bool | None = None, category: str | None = None, limit: int = 100,
                 after_id: int = 0) -> list[Product]:
        """Products by id, ``limit`` at a time after ``after_id``."""
        check_limit(limit)
        p = products.c
        query = select(products).where(p.id > after_id).order_by(p.id).limit(limit)
        if active is not None:
            query = query.where(p.active == active)
        if category:
            query = query.where(p.category == category)
        with self.crm.engine.connect() as conn:
            return [Product.of(r) for r in conn.execute(query)]

    def create_supplier(self, name: str, contact_info: str = "") -> Supplier:
        self._manage("manage suppliers")
        name = check_text(name, "name", max_length=200, required=True)
        info = check_text(contact_info, "contact_info", max_length=300)
        with self.crm.transaction(self.actor_id) as tx:
            _unique(tx.conn, suppliers.c.name, name, "name", "a supplier named")
            new = tx.conn.execute(insert(suppliers).values(name=name, contact_info=info, created_at=tx.now))
            assert new.inserted_primary_key is not None
            return Supplier(int(new.inserted_primary_key[0]), name, info)

    def suppliers(self) -> list[Supplier]:
        with self.crm.engine.connect() as conn:
            return [Supplier(r.id, r.name, r.contact_info)
                    for r in conn.execute(select(suppliers).order_by(suppliers.c.name).limit(1000))]

    def create_location(self, key: str, name: str) -> Location:
        self._manage("manage locations")
        key = check_text(key, "key", max_length=40, required=True)
        if not key.replace("_", "").replace("-", "").isalnum() or not key.isascii():
            raise ValidationError(f"key: {key!r} must be letters, digits, '-' or '_'", field="key")
        name = check_text(name, "name", max_length=100, required=True)
        with self.crm.transaction(self.actor_id) as tx:
            _unique(tx.conn, locations.c.key, key, "key", "a location")
            new = tx.conn.execute(insert(locations).values(key=key, name=name))
            assert new.inserted_primary_key is not None
            return Location(int(new.inserted_primary_key[0]), key, name)

    def locations(self) -> list[Location]:
        with self.crm.engine.connect() as conn:
            return [Location(r.id, r.key, r.name) for r in conn.execute(select(locations).order_by(locations.c.id))]

    def location(self, ref: Any) -> Location:
        with self.crm.engine.connect() as conn:
            r = location_row(conn, ref)
            return Location(r.id, r.key, r.name)

    # -- helpers -------------------------------------------------------------------

    def _currency(self) -> str:
        return currency(self.crm)

    @staticmethod
    def _unit(unit: Any) -> str:
        if unit not in UNITS:
            raise ValidationError(f"unit: {str(unit)[:20]!r} is not one of {', '.join(UNITS)}", field="unit")
        return str(unit)

    @staticmethod
    def _bool(value: Any, field: str) -> bool:
        if not isinstance(value, bool):
            raise ValidationError(f"{field}: expected true or false", field=field)
        return value
