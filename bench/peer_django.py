"""The Django peer: the same four commands through Django's ORM, as a Django developer writes them.

The models are unmanaged views of crmkit's own tables (``crm_deals``, ``crm_stage_history``,
``crm_tasks``, ``crm_notes``, and ``crm_events`` as the audit log), so both sides write the
same rows into the same schema; foreign keys are plain integer fields (the constraints are
the database's). Each command is one ``transaction.atomic()`` block that writes the card,
its stage-history row where crmkit writes one, and one audit row with a JSON payload of the
same shape as crmkit's event. No validation beyond what the command needs (the version
check, "the task is open", "the deal exists"): the peer is lean on purpose.

SQLite runs with the settings crmkit uses (WAL, ``synchronous=NORMAL``, ``BEGIN IMMEDIATE``
through Django's ``transaction_mode``); PostgreSQL through psycopg 3.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import unquote, urlsplit

_LOCK = threading.Lock()
_MODELS: Any = None


def _setup() -> Any:
    """Configure Django once per process (no project, no apps) and define the models."""
    global _MODELS
    with _LOCK:
        if _MODELS is not None:
            return _MODELS
        import django
        from django.conf import settings

        if not settings.configured:
            settings.configure(USE_TZ=True, TIME_ZONE="UTC", INSTALLED_APPS=[], DATABASES={},
                               DEFAULT_AUTO_FIELD="django.db.models.AutoField")
            django.setup()
        from django.db import models

        class Meta:
            app_label = "crmkit_bench"
            managed = False

        def model(name: str, table: str, **fields: Any) -> Any:
            meta = type("Meta", (Meta,), {"db_table": table})
            return type(name, (models.Model,), {"__module__": __name__, "Meta": meta, **fields})

        deal = model(
            "Deal", "crm_deals",
            title=models.CharField(max_length=300), pipeline_id=models.IntegerField(),
            stage_id=models.IntegerField(), status=models.CharField(max_length=10),
            amount_minor=models.BigIntegerField(null=True), currency=models.CharField(max_length=3, null=True),
            responsible_id=models.IntegerField(null=True), source=models.CharField(max_length=40),
            stage_entered_at=models.DateTimeField(), closed_at=models.DateTimeField(null=True),
            lost_reason_id=models.IntegerField(null=True), lost_reason_text=models.TextField(null=True),
            custom=models.JSONField(), created_at=models.DateTimeField(), updated_at=models.DateTimeField(),
            version=models.IntegerField(),
        )
        history = model(
            "StageHistory", "crm_stage_history",
            deal_id=models.IntegerField(), pipeline_id=models.IntegerField(),
            from_stage_id=models.IntegerField(null=True), to_stage_id=models.IntegerField(),
            actor_id=models.IntegerField(null=True), moved_at=models.DateTimeField(),
        )
        task = model(
            "Task", "crm_tasks",
            title=models.CharField(max_length=300), description=models.TextField(),
            assignee_id=models.IntegerField(null=True), status=models.CharField(max_length=10),
            entity_type=models.CharField(max_length=20, null=True), entity_id=models.IntegerField(null=True),
            completed_at=models.DateTimeField(null=True), custom=models.JSONField(),
            created_at=models.DateTimeField(), updated_at=models.DateTimeField(), version=models.IntegerField(),
        )
        note = model(
            "Note", "crm_notes",
            entity_type=models.CharField(max_length=20), entity_id=models.IntegerField(),
            body=models.TextField(), author_id=models.IntegerField(null=True), created_at=models.DateTimeField(),
        )
        audit = model(
            "Audit", "crm_events",
            type=models.CharField(max_length=80), entity_type=models.CharField(max_length=40),
            entity_id=models.IntegerField(null=True), actor_id=models.IntegerField(null=True),
            occurred_at=models.DateTimeField(), payload=models.JSONField(),
        )
        _MODELS = type("Models", (), {"Deal": deal, "StageHistory": history, "Task": task, "Note": note,
                                      "Audit": audit})
        return _MODELS


class Conflict(Exception):
    """A stale version or a closed task (the peer's 409)."""


class DjangoPeer:
    """The four commands on one database (a Django connection alias of its own)."""

    def __init__(self, db: Any, actor_id: int) -> None:
        self.m = _setup()
        from django.db import connections

        self.alias = f"bench_{id(self):x}"
        if db.backend == "sqlite":
            cfg: dict[str, Any] = {
                "ENGINE": "django.db.backends.sqlite3", "NAME": str(db.path),
                "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 30,
                            "init_command": "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL"},
            }
        else:
            from .harness import PG_URL

            u = urlsplit(PG_URL)
            cfg = {
                "ENGINE": "django.db.backends.postgresql", "NAME": u.path.lstrip("/"), "USER": unquote(u.username or ""),
                "PASSWORD": unquote(u.password or ""), "HOST": u.hostname or "", "PORT": str(u.port or ""),
                "OPTIONS": {"options": f"-c search_path={db.schema}"},
            }
        full = connections.configure_settings({"default": {}, self.alias: cfg})
        connections.settings[self.alias] = full[self.alias]
        self.actor_id = actor_id

    def close(self) -> None:
        from django.db import connections

        connections[self.alias].close()
        del connections.settings[self.alias]
        try:
            delattr(connections._connections, self.alias)
        except AttributeError:
            pass

    def create_deal(self, title: str, pipeline_id: int, stage_id: int, keys: tuple[str, str]) -> tuple[int, int]:
        from django.db import transaction
        from django.utils import timezone

        m, a = self.m, self.alias
        now = timezone.now()
        with transaction.atomic(using=a):
            deal = m.Deal.objects.using(a).create(
                title=title, pipeline_id=pipeline_id, stage_id=stage_id, status="open", amount_minor=10000,
                currency="USD", responsible_id=self.actor_id, source="manual", stage_entered_at=now, custom={},
                created_at=now, updated_at=now, version=1)
            m.StageHistory.objects.using(a).create(deal_id=deal.id, pipeline_id=pipeline_id, to_stage_id=stage_id,
                                                   actor_id=self.actor_id, moved_at=now)
            pipeline, stage = keys
            m.Audit.objects.using(a).create(
                type="deal.created", entity_type="deal", entity_id=deal.id, actor_id=self.actor_id, occurred_at=now,
                payload={"changes": {"title": {"before": None, "after": title},
                                     "amount": {"before": None, "after": {"amount": "100.00", "currency": "USD"}},
                                     "responsible_id": {"before": None, "after": self.actor_id},
                                     "source": {"before": None, "after": "manual"},
                                     "pipeline": {"before": None, "after": pipeline},
                                     "stage": {"before": None, "after": stage}},
                         "data": {"pipeline": pipeline, "stage": stage}})
        return deal.id, 1

    def move_deal(self, deal_id: int, version: int, stage_id: int, stages: dict[int, str], pipeline: str) -> int:
        from django.db import transaction
        from django.db.models import F
        from django.utils import timezone

        m, a = self.m, self.alias
        now = timezone.now()
        with transaction.atomic(using=a):
            deal = m.Deal.objects.using(a).select_for_update().only(
                "pipeline_id", "stage_id", "status", "version").get(pk=deal_id)
            if deal.version != version:
                raise Conflict(f"deal {deal_id} is at version {deal.version}, not {version}")
            changed = m.Deal.objects.using(a).filter(pk=deal_id, version=version).update(
                stage_id=stage_id, status="open", stage_entered_at=now, closed_at=None, lost_reason_id=None,
                lost_reason_text=None, version=F("version") + 1, updated_at=now)
            if changed != 1:
                raise Conflict(f"deal {deal_id} changed concurrently")
            m.StageHistory.objects.using(a).create(deal_id=deal_id, pipeline_id=deal.pipeline_id,
                                                   from_stage_id=deal.stage_id, to_stage_id=stage_id,
                                                   actor_id=self.actor_id, moved_at=now)
            m.Audit.objects.using(a).create(
                type="deal.stage_changed", entity_type="deal", entity_id=deal_id, actor_id=self.actor_id,
                occurred_at=now,
                payload={"changes": {"stage": {"before": stages[deal.stage_id], "after": stages[stage_id]}},
                         "data": {"pipeline": pipeline, "from_pipeline": pipeline, "from_kind": "open",
                                  "to_kind": "open"}})
        return version + 1

    def complete_task(self, task_id: int, version: int) -> int:
        from django.db import transaction
        from django.db.models import F
        from django.utils import timezone

        m, a = self.m, self.alias
        now = timezone.now()
        with transaction.atomic(using=a):
            task = m.Task.objects.using(a).select_for_update().only(
                "status", "version", "entity_type", "entity_id").get(pk=task_id)
            if task.status != "open" or task.version != version:
                raise Conflict(f"task {task_id} is {task.status} at version {task.version}")
            changed = m.Task.objects.using(a).filter(pk=task_id, version=version).update(
                status="done", completed_at=now, version=F("version") + 1, updated_at=now)
            if changed != 1:
                raise Conflict(f"task {task_id} changed concurrently")
            m.Audit.objects.using(a).create(
                type="task.completed", entity_type="task", entity_id=task_id, actor_id=self.actor_id,
                occurred_at=now, payload={"changes": {"status": {"before": "open", "after": "done"}},
                                          "data": {"entity_type": task.entity_type, "entity_id": task.entity_id}})
        return version + 1

    def add_note(self, deal_id: int, body: str) -> int:
        from django.db import transaction
        from django.utils import timezone

        m, a = self.m, self.alias
        now = timezone.now()
        with transaction.atomic(using=a):
            if not m.Deal.objects.using(a).filter(pk=deal_id).exists():
                raise LookupError(f"deal {deal_id} does not exist")
            note = m.Note.objects.using(a).create(entity_type="deal", entity_id=deal_id, body=body,
                                                  author_id=self.actor_id, created_at=now)
            m.Audit.objects.using(a).create(
                type="note.added", entity_type="deal", entity_id=deal_id, actor_id=self.actor_id, occurred_at=now,
                payload={"changes": {}, "data": {"note_id": note.id, "body": body}})
        return note.id

