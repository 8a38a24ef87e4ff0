"""Schema migrations with alembic: one branch for the core, one per plugin.

* The core's branch is labelled ``crmkit``; its revisions are in ``versions/`` here.
* A plugin ships its own branch, labelled with its name, in its own package and declares it with
  ``PluginInfo(migrations="crmkit_myplugin.migrations")`` (a package whose ``versions/`` holds the
  files). Its first revision ``depends_on`` the core revision it needs; later ones may depend on
  newer core revisions.
* The alembic environment is built in code (:mod:`.runner`): no alembic.ini, no env.py. One
  ``alembic_version`` table holds the heads of every branch.

What a starting ``Crm`` does with its database is :func:`prepare_schema` (:mod:`.startup`); what
``crmkit db`` runs (upgrade, downgrade, current, history, check, revision) is in :mod:`.runner`,
the only module that imports alembic.

This package lives in the core because ``Crm`` start-up needs it and it reads only core modules
(schema, plugins, settings); the CLI sits on top of it.
"""

from __future__ import annotations

from .layout import CORE, Layout, layout
from .scripts import Branch, Revision
from .startup import DatabaseOptions, database_options, model_metadatas, open_upgraded, prepare_schema
from .state import UPGRADE_COMMAND, BranchState, DatabaseState, SchemaBehindError

__all__ = [
    "CORE", "Branch", "BranchState", "DatabaseOptions", "DatabaseState", "Layout", "Revision", "SchemaBehindError",
    "UPGRADE_COMMAND", "database_options", "layout", "model_metadatas", "open_upgraded", "prepare_schema",
]
