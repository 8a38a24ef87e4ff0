"""The plugin's tables, on its own MetaData: they exist only where the plugin is enabled.

Quantities are integer thousandths (``*_milli``); money is integer minor units of the row's
``currency`` (exact SQL sums on SQLite and PostgreSQL alike). The stock ledger
(``inventory_movements``) is append-only: nothing updates or deletes a movement.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger, Boolean, Column, ForeignKey, Index, Integer, MetaData, String, Table, UniqueConstraint,
)

from crmkit import UTCDateTime, schema

metadata = MetaData()

products = Table(
    "inventory_products", metadata,
    Column("id", Integer, primary_key=True),
    Column("sku", String(64), nullable=False, unique=True),
    Column("barcode", String(64), unique=True),
    Column("name", String(200), nullable=False),
    Column("unit", String(16), nullable=False),
    Column("category", String(80), nullable=False),
    Column("price_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("vat_rate_bp", Integer, nullable=False),  # basis points: 20 % = 2000
    Column("fractional", Boolean, nullable=False),  # sold by weight/volume: 3 decimal places
    Column("active", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("version", Integer, nullable=False),
)

suppliers = Table(
    "inventory_suppliers", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("contact_info", String(300), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

locations = Table(
    "inventory_locations", metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(40), nullable=False, unique=True),
    Column("name", String(100), nullable=False),
)

sales = Table(
    "inventory_sales", metadata,
    Column("id", Integer, primary_key=True),
    Column("location_id", ForeignKey(locations.c.id), nullable=False),
    Column("contact_id", ForeignKey(schema.contacts.c.id), index=True),
    Column("currency", String(3), nullable=False),
    Column("total_minor", BigInteger, nullable=False),
    Column("vat_minor", BigInteger, nullable=False),
    Column("payment", String(8), nullable=False),  # cash | card | tab
    Column("tendered_minor", BigInteger, nullable=False),
    Column("change_minor", BigInteger, nullable=False),
    Column("created_by", ForeignKey(schema.users.c.id)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("voided_at", UTCDateTime),
    Column("void_reason", String(80)),
    # a till's retry key (the API's Idempotency-Key): a retried sale returns the first one
    Column("client_key", String(64)),
    Column("fingerprint", String(64)),  # sha256 of the request the key was first used for
    Index("ix_inventory_sales_created_at", "created_at"),
    UniqueConstraint("created_by", "client_key", name="uq_inventory_sales_client_key"),
)

movements = Table(
    "inventory_movements", metadata,
    Column("id", Integer, primary_key=True),
    # receipt | sale | return | transfer_out | transfer_in | write_off | adjustment
    Column("kind", String(16), nullable=False),
    Column("product_id", ForeignKey(products.c.id), nullable=False),
    Column("location_id", ForeignKey(locations.c.id), nullable=False),
    Column("qty_milli", BigInteger, nullable=False),  # signed: + into stock, - out of it
    Column("value_minor", BigInteger, nullable=False),  # signed change of the stock value (moving average)
    Column("currency", String(3), nullable=False),
    Column("unit_cost_minor", BigInteger),  # receipts: the supplier's unit cost
    Column("supplier_id", ForeignKey(suppliers.c.id)),
    Column("reason", String(80), nullable=False),
    Column("sale_id", ForeignKey(sales.c.id)),
    Column("count_id", Integer),
    Column("pair_id", Integer),  # transfer_in: its transfer_out; return: the sale movement it returns
    Column("reverses_id", ForeignKey("inventory_movements.id"), unique=True),
    Column("negative", Boolean, nullable=False),  # took stock below zero (allowed by the setting)
    Column("created_by", ForeignKey(schema.users.c.id)),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_inventory_movements_stock", "product_id", "location_id", "qty_milli", "value_minor"),  # covering
    Index("ix_inventory_movements_kind_at", "kind", "created_at"),
)

sale_lines = Table(
    "inventory_sale_lines", metadata,
    Column("id", Integer, primary_key=True),
    Column("sale_id", ForeignKey(sales.c.id), nullable=False, index=True),
    Column("product_id", ForeignKey(products.c.id), nullable=False),
    Column("qty_milli", BigInteger, nullable=False),
    Column("price_minor", BigInteger, nullable=False),
    Column("total_minor", BigInteger, nullable=False),
    Column("vat_rate_bp", Integer, nullable=False),
    Column("vat_minor", BigInteger, nullable=False),
    Column("movement_id", ForeignKey(movements.c.id), nullable=False),
)

tabs = Table(
    "inventory_tabs", metadata,
    Column("id", Integer, primary_key=True),
    Column("contact_id", ForeignKey(schema.contacts.c.id), nullable=False, unique=True),
    Column("currency", String(3), nullable=False),
    Column("limit_minor", BigInteger, nullable=False),
    Column("balance_minor", BigInteger, nullable=False),  # what the member owes (sum of the entries)
    Column("created_at", UTCDateTime, nullable=False),
    Column("version", Integer, nullable=False),
)

tab_entries = Table(
    "inventory_tab_entries", metadata,
    Column("id", Integer, primary_key=True),
    Column("tab_id", ForeignKey(tabs.c.id), nullable=False, index=True),
    Column("kind", String(8), nullable=False),  # charge | payment
    Column("amount_minor", BigInteger, nullable=False),  # + charge, - payment
    Column("sale_id", ForeignKey(sales.c.id)),
    Column("method", String(40), nullable=False),
    Column("created_by", ForeignKey(schema.users.c.id)),
    Column("created_at", UTCDateTime, nullable=False),
)

thresholds = Table(
    "inventory_thresholds", metadata,
    Column("id", Integer, primary_key=True),
    Column("product_id", ForeignKey(products.c.id), nullable=False),
    Column("location_id", ForeignKey(locations.c.id), nullable=False),
    Column("min_milli", BigInteger, nullable=False),
    Column("task_id", ForeignKey(schema.tasks.c.id)),  # the open low-stock task, while stock is below
    UniqueConstraint("product_id", "location_id", name="uq_inventory_thresholds_product_location"),
)

counts = Table(
    "inventory_counts", metadata,
    Column("id", Integer, primary_key=True),
    Column("location_id", ForeignKey(locations.c.id), nullable=False),
    Column("status", String(8), nullable=False),  # open | closed
    Column("opened_by", ForeignKey(schema.users.c.id)),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("closed_by", ForeignKey(schema.users.c.id)),
    Column("closed_at", UTCDateTime),
)

count_lines = Table(
    "inventory_count_lines", metadata,
    Column("id", Integer, primary_key=True),
    Column("count_id", ForeignKey(counts.c.id), nullable=False),
    Column("product_id", ForeignKey(products.c.id), nullable=False),
    Column("counted_milli", BigInteger, nullable=False),
    Column("reason", String(80), nullable=False),
    Column("entered_by", ForeignKey(schema.users.c.id)),
    Column("entered_at", UTCDateTime, nullable=False),
    Column("expected_milli", BigInteger),  # filled when the count is closed
    Column("movement_id", ForeignKey(movements.c.id)),
    UniqueConstraint("count_id", "product_id", name="uq_inventory_count_lines_product"),
)

refunds = Table(
    "inventory_refunds", metadata,
    Column("id", Integer, primary_key=True),
    Column("movement_id", ForeignKey(movements.c.id), nullable=False, unique=True),  # the return movement
    Column("sale_id", ForeignKey(sales.c.id), nullable=False, index=True),
    Column("line_id", ForeignKey(sale_lines.c.id), nullable=False),
    Column("contact_id", ForeignKey(schema.contacts.c.id)),
    Column("currency", String(3), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),  # VAT included, positive: what the customer got back
    Column("vat_minor", BigInteger, nullable=False),
    Column("method", String(8), nullable=False),  # cash | card | tab (the sale's payment)
    Column("created_by", ForeignKey(schema.users.c.id)),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_inventory_refunds_created_at", "created_at"),
)
