"""crmkit: a plugin-based CRM framework and SDK.

The public SDK lives here; everything under ``crmkit.core`` that is not
re-exported is internal and may change.
"""

from __future__ import annotations

from .core import schema
from .core.app import Crm
from .core.access import Access, Permission, Role
from .core.clock import Clock, FrozenClock, SystemClock, ensure_utc
from .core.contacts_info import normalize_email, normalize_phone
from .core.customfields import CustomField
from .core.errors import (
    ConfigError, ConflictError, CrmError, NotFoundError, PermissionDeniedError, PluginError, ValidationError,
)
from .core.events import Event
from .core.hookspecs import hookimpl, hookspec
from .core.jobs import PeriodicJob
from .core.money import Money
from .core.pipelines import PipelineSpec, StageSpec
from .core.plugins import API_VERSION, PluginInfo
from .core.records import (
    Company, Contact, Deal, Lead, LostReason, Note, Page, Pipeline, Stage, StageMove, Task, User, to_dict,
)
from .core.settings import Settings
from .core.types import UTCDateTime
from .core.unit_of_work import Tx

__version__ = "0.1.0"

__all__ = [
    "API_VERSION", "Access", "Clock", "Company", "ConfigError", "ConflictError", "Contact", "Crm", "CrmError", "CustomField",
    "Deal", "Event", "FrozenClock", "Lead", "LostReason", "Money", "Note", "NotFoundError", "Page",
    "PeriodicJob", "Permission", "PermissionDeniedError", "Role", "Pipeline", "PipelineSpec", "PluginError", "PluginInfo", "Settings",
    "Stage", "StageMove", "StageSpec", "SystemClock", "Task", "Tx", "User", "UTCDateTime", "ValidationError", "hookimpl",
    "hookspec", "schema", "to_dict", "__version__", "ensure_utc", "normalize_email", "normalize_phone",
]
