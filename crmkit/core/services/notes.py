"""Notes: comments on any card; they appear in the card's timeline."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from .. import schema
from ..prepared import Insert
from ..records import Note
from .base import Service, check_text
from .refs import check_card

_INSERT_NOTE = Insert(schema.notes)


class NoteService(Service[Note]):
    entity = "note"
    table = schema.notes
    filterable = {"entity_type": "entity_type", "entity_id": "entity_id", "author_id": "author_id", "id": "id"}
    sortable = ("id", "created_at")
    choices = {"entity_type": ("lead", "contact", "company", "deal", "task")}

    def _record(self, row: Row[Any]) -> Note:
        return Note(id=row.id, entity_type=row.entity_type, entity_id=row.entity_id, body=row.body,
                    author_id=row.author_id, created_at=row.created_at)

    def add(self, entity_type: str, entity_id: int, body: str) -> Note:
        text = check_text(body, "body", required=True, max_length=100_000, multiline=True)
        with self._tx() as tx:
            etype, eid = check_card(tx.conn, entity_type, entity_id, self.access)
            values = {"entity_type": etype, "entity_id": eid, "body": text, "author_id": tx.actor_id,
                      "created_at": tx.now}
            new_id = _INSERT_NOTE(tx.conn, values)
            # The note lives in the timeline of the card it is on.
            tx.emit("note.added", etype, eid, data={"note_id": new_id, "body": text})
            return self._record(self._written(new_id, values))
