"""crmkit: a plugin-based CRM framework and SDK.

The public API is what this module exports (``__all__``), plus five public modules:

* :mod:`crmkit.events` -- the core's event types as constants (``events.DEAL_STAGE_CHANGED``);
* :mod:`crmkit.web` -- the app factory and what plugin routes use: authentication helpers,
  ``read_json_body``, the HTTP errors (``BadRequest``, ..., ``BadGateway``, ``ServiceUnavailable``);
* :mod:`crmkit.ui` -- what a plugin adds to the web UI (menu entries, card panels and actions);
* :mod:`crmkit.cli` -- the ``crmkit`` group and ``invocation()`` for plugin commands;
* :mod:`crmkit.testing` -- pytest fixtures (``make_crm``, ``crm``, ``clock``, ``db_url``),
  ``auth_headers`` and the conformance check ``check_plugin``.

Everything else -- ``crmkit.core.*``, ``crmkit.web.<module>``, ``crmkit.cli.<module>`` -- is
internal and may change in any release; ``tests/test_public_api.py`` fails when one of crmkit's
plugins imports it.
"""

from __future__ import annotations

from . import events
from .core import schema
from .core.access import Access, Permission, Role
from .core.app import Crm
from .core.clock import Clock, FrozenClock, SystemClock, ensure_utc
from .core.contacts_info import normalize_email, normalize_phone
from .core.customfields import CustomField
from .core.errors import (
    ConfigError, ConflictError, CrmError, NotFoundError, PermissionDeniedError, PluginError, ValidationError,
)
from .core.events import Event
from .core.request_context import current_request_id
from .core.hookspecs import hookimpl, hookspec
from .core.jobs import PeriodicJob
from .core.money import Money
from .core.pipelines import PipelineAction, PipelineSpec, StageSpec, TaskRule
from .core.plugins import API_VERSION, PluginInfo
from .core.records import (
    Company, Contact, Conversion, Deal, Lead, LostReason, Note, Page, Pipeline, Stage, StageMove, Task, User, to_dict,
)
from .core.reports import Comparison as ReportComparison
from .core.reports import Report, run_report
from .core.reports import Scope as ReportScope
from .core.reports.scores import scores_of
from .core.services import Services
from .core.services.base import MAX_PAGE, check_id, check_limit, check_text, id_cursor
from .core.services.privacy import PrivacyService
from .core.settings import Settings
from .core.text import check_characters
from .core.types import UTCDateTime
from .core.unit_of_work import Tx
from .core.worker import Worker
from .messages import Channel, DeliveryError, Message, MessageService, OutgoingMessage, SendResult  # last: it uses the names above

__version__ = "0.1.0"

__all__ = [
    # the deployment, its services and transactions
    "Crm", "Services", "PrivacyService", "Settings", "Tx", "Worker",
    # plugins: metadata, hooks, declarations
    "API_VERSION", "PluginInfo", "hookimpl", "hookspec", "PeriodicJob", "CustomField", "PipelineSpec", "StageSpec",
    "TaskRule", "PipelineAction", "Role", "Permission", "Access", "schema", "UTCDateTime",
    # events
    "Event", "events", "current_request_id",
    # records
    "Company", "Contact", "Conversion", "Deal", "Lead", "LostReason", "Note", "Page", "Pipeline", "Stage",
    "StageMove", "Task", "User", "to_dict", "Money",
    # errors
    "CrmError", "ValidationError", "NotFoundError", "ConflictError", "PermissionDeniedError", "ConfigError",
    "PluginError",
    # input checks and paging
    "check_text", "check_characters", "check_id", "check_limit", "id_cursor", "MAX_PAGE",
    "normalize_email", "normalize_phone",
    # reports, segments and scores (docs/reports.md)
    "run_report", "Report", "ReportComparison", "ReportScope", "scores_of",
    # messages (docs/messages.md)
    "MessageService", "Channel", "OutgoingMessage", "SendResult", "DeliveryError", "Message",
    # time
    "Clock", "SystemClock", "FrozenClock", "ensure_utc",
    "__version__",
]
