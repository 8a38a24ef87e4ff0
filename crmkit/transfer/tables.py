"""The tables of imports, exports' saved mappings and merges (the core's migration crmkit_0003).

Registered by :mod:`crmkit.transfer.hooks` like a plugin's (the core is a plugin too); their
names start with ``crm_``, so they belong to the core's migration branch.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Index, Integer, MetaData, String, Table, Text

from ..core import schema
from ..core.types import UTCDateTime

metadata = MetaData()

# One row per import run: its file, options, counts and checkpoint (the last record committed).
imports = Table(
    "crm_imports", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("entity", String(20), nullable=False),
    Column("file_name", String(255), nullable=False),
    Column("file_sha256", String(64), nullable=False),
    Column("mode", String(12), nullable=False),
    Column("dry_run", Boolean, nullable=False, default=False),
    Column("status", String(12), nullable=False),  # running | done | failed | undone
    Column("mapping", JSON, nullable=False),
    Column("options", JSON, nullable=False),
    Column("total", Integer, nullable=False, default=0),
    Column("created", Integer, nullable=False, default=0),
    Column("updated", Integer, nullable=False, default=0),
    Column("rejected", Integer, nullable=False, default=0),
    Column("skipped", Integer, nullable=False, default=0),
    Column("checkpoint", Integer, nullable=False, default=0),
    Column("actor_id", ForeignKey(schema.users.c.id)),
    Column("error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
)

# What each record of an import did: the card it created, updated or duplicated (skipped).
import_rows = Table(
    "crm_import_rows", metadata,
    Column("import_id", ForeignKey(imports.c.id, ondelete="CASCADE"), primary_key=True),
    Column("record", Integer, primary_key=True, autoincrement=False),
    Column("line", Integer, nullable=False),
    Column("entity_type", String(20), nullable=False),
    Column("entity_id", Integer, nullable=False),
    Column("action", String(10), nullable=False),  # created | updated | skipped
    Column("external_id", String(200)),
    Column("before", JSON),  # an update's previous values (undo)
    Index("ix_crm_import_rows_external", "entity_type", "external_id"),
    Index("ix_crm_import_rows_entity", "entity_type", "entity_id"),
)

# Rejected records: the original cells, the field and the reason.
import_rejects = Table(
    "crm_import_rejects", metadata,
    Column("import_id", ForeignKey(imports.c.id, ondelete="CASCADE"), primary_key=True),
    Column("record", Integer, primary_key=True, autoincrement=False),
    Column("line", Integer, nullable=False),
    Column("field", String(100), nullable=False),
    Column("reason", Text, nullable=False),
    Column("cells", JSON, nullable=False),
)

# Column mappings saved by name.
import_mappings = Table(
    "crm_import_mappings", metadata,
    Column("name", String(100), primary_key=True),
    Column("entity", String(20), nullable=False),
    Column("mapping", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Cards merged into another: the merged-away id points at its survivor.
merges = Table(
    "crm_merges", metadata,
    Column("entity_type", String(20), primary_key=True),
    Column("merged_id", Integer, primary_key=True, autoincrement=False),
    Column("survivor_id", Integer, nullable=False),
    Column("actor_id", ForeignKey(schema.users.c.id)),
    Column("merged_at", UTCDateTime, nullable=False),
    Column("snapshot", JSON, nullable=False),  # the merged-away card as it was
    Index("ix_crm_merges_survivor", "entity_type", "survivor_id"),
)
