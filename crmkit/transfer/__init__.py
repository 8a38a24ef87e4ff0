"""Moving data in and out: imports (CSV, XLSX), exports (CSV, XLSX, vCard), duplicates and merges.

``Importer(crm.as_user(id)).start("contacts.csv", "contact")`` imports through the services;
see docs/import-export.md.
"""

from __future__ import annotations

from .importer import Importer
from .runs import ImportRun

__all__ = ["ImportRun", "Importer"]
