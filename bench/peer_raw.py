"""The floor: the same four commands through the bare DBAPI (``sqlite3`` / psycopg 3).

Exactly crmkit's rows per command, and only the reads a command cannot do without (the
version and stage before a move, the task's state before completing it, the deal's
existence before a note on it): ``BEGIN IMMEDIATE`` (SQLite), the statements, ``COMMIT``.
The audit row's payload has the shape of crmkit's event, serialized with ``json.dumps``.
Statements are prepared by the driver (sqlite3's statement cache, psycopg's automatic
prepare), so this is as fast as Python gets to the database.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from .peer_django import Conflict


class RawPeer:
    def __init__(self, db: Any, actor_id: int) -> None:
        self.db = db
        self.conn = db.raw()
        self.sqlite = db.backend == "sqlite"
        self.p = db.param
        self.actor_id = actor_id

    def close(self) -> None:
        self.conn.close()

    def _now(self) -> Any:
        now = datetime.now(timezone.utc)
        return now.replace(tzinfo=None).isoformat(" ", "microseconds") if self.sqlite else now

    def _begin(self) -> Any:
        if self.sqlite:
            self.conn.execute("BEGIN IMMEDIATE")
        return self.conn.cursor() if not self.sqlite else self.conn

    def _commit(self) -> None:
        if self.sqlite:
            self.conn.execute("COMMIT")
        else:
            self.conn.commit()

    def _insert(self, cur: Any, sql: str, args: tuple[Any, ...]) -> int:
        if self.sqlite:
            return int(cur.execute(sql, args).lastrowid)
        return int(cur.execute(sql + " RETURNING id", args).fetchone()[0])

    def _audit(self, cur: Any, type_: str, entity_type: str, entity_id: int, now: Any, payload: Any) -> None:
        p = self.p
        cur.execute(f"INSERT INTO crm_events (type, entity_type, entity_id, actor_id, occurred_at, payload)"
                    f" VALUES ({p}, {p}, {p}, {p}, {p}, {p})",
                    (type_, entity_type, entity_id, self.actor_id, now, json.dumps(payload)))

    def create_deal(self, title: str, pipeline_id: int, stage_id: int, keys: tuple[str, str]) -> tuple[int, int]:
        p, now = self.p, self._now()
        cur = self._begin()
        try:
            deal_id = self._insert(
                cur, f"INSERT INTO crm_deals (title, pipeline_id, stage_id, status, amount_minor, currency,"
                     f" responsible_id, source, stage_entered_at, custom, created_at, updated_at, version)"
                     f" VALUES ({p}, {p}, {p}, 'open', 10000, 'USD', {p}, 'manual', {p}, '{{}}', {p}, {p}, 1)",
                (title, pipeline_id, stage_id, self.actor_id, now, now, now))
            cur.execute(f"INSERT INTO crm_stage_history (deal_id, pipeline_id, from_stage_id, to_stage_id, actor_id,"
                        f" moved_at) VALUES ({p}, {p}, NULL, {p}, {p}, {p})",
                        (deal_id, pipeline_id, stage_id, self.actor_id, now))
            pipeline, stage = keys
            self._audit(cur, "deal.created", "deal", deal_id, now, {
                "changes": {"title": {"before": None, "after": title},
                            "amount": {"before": None, "after": {"amount": "100.00", "currency": "USD"}},
                            "responsible_id": {"before": None, "after": self.actor_id},
                            "source": {"before": None, "after": "manual"},
                            "pipeline": {"before": None, "after": pipeline}, "stage": {"before": None, "after": stage}},
                "data": {"pipeline": pipeline, "stage": stage}})
            self._commit()
        except BaseException:
            self.conn.rollback()
            raise
        return deal_id, 1

    def move_deal(self, deal_id: int, version: int, stage_id: int, stages: dict[int, str], pipeline: str) -> int:
        p, now = self.p, self._now()
        cur = self._begin()
        try:
            lock = "" if self.sqlite else " FOR UPDATE"
            pipeline_id, old_stage, current = cur.execute(
                f"SELECT pipeline_id, stage_id, version FROM crm_deals WHERE id = {p}{lock}", (deal_id,)).fetchone()
            if current != version:
                raise Conflict(f"deal {deal_id} is at version {current}, not {version}")
            n = cur.execute(f"UPDATE crm_deals SET stage_id = {p}, status = 'open', stage_entered_at = {p},"
                            f" closed_at = NULL, lost_reason_id = NULL, lost_reason_text = NULL,"
                            f" version = version + 1, updated_at = {p} WHERE id = {p} AND version = {p}",
                            (stage_id, now, now, deal_id, version)).rowcount
            if n != 1:
                raise Conflict(f"deal {deal_id} changed concurrently")
            cur.execute(f"INSERT INTO crm_stage_history (deal_id, pipeline_id, from_stage_id, to_stage_id, actor_id,"
                        f" moved_at) VALUES ({p}, {p}, {p}, {p}, {p}, {p})",
                        (deal_id, pipeline_id, old_stage, stage_id, self.actor_id, now))
            self._audit(cur, "deal.stage_changed", "deal", deal_id, now, {
                "changes": {"stage": {"before": stages[old_stage], "after": stages[stage_id]}},
                "data": {"pipeline": pipeline, "from_pipeline": pipeline, "from_kind": "open", "to_kind": "open"}})
            self._commit()
        except BaseException:
            self.conn.rollback()
            raise
        return version + 1

    def complete_task(self, task_id: int, version: int) -> int:
        p, now = self.p, self._now()
        cur = self._begin()
        try:
            lock = "" if self.sqlite else " FOR UPDATE"
            status, current, etype, eid = cur.execute(
                f"SELECT status, version, entity_type, entity_id FROM crm_tasks WHERE id = {p}{lock}",
                (task_id,)).fetchone()
            if status != "open" or current != version:
                raise Conflict(f"task {task_id} is {status} at version {current}")
            n = cur.execute(f"UPDATE crm_tasks SET status = 'done', completed_at = {p}, version = version + 1,"
                            f" updated_at = {p} WHERE id = {p} AND version = {p}",
                            (now, now, task_id, version)).rowcount
            if n != 1:
                raise Conflict(f"task {task_id} changed concurrently")
            self._audit(cur, "task.completed", "task", task_id, now, {
                "changes": {"status": {"before": "open", "after": "done"}},
                "data": {"entity_type": etype, "entity_id": eid}})
            self._commit()
        except BaseException:
            self.conn.rollback()
            raise
        return version + 1

    def add_note(self, deal_id: int, body: str) -> int:
        p, now = self.p, self._now()
        cur = self._begin()
        try:
            if cur.execute(f"SELECT 1 FROM crm_deals WHERE id = {p}", (deal_id,)).fetchone() is None:
                raise LookupError(f"deal {deal_id} does not exist")
            note_id = self._insert(cur, f"INSERT INTO crm_notes (entity_type, entity_id, body, author_id, created_at)"
                                        f" VALUES ('deal', {p}, {p}, {p}, {p})", (deal_id, body, self.actor_id, now))
            self._audit(cur, "note.added", "deal", deal_id, now,
                        {"changes": {}, "data": {"note_id": note_id, "body": body}})
            self._commit()
        except BaseException:
            self.conn.rollback()
            raise
        return note_id
