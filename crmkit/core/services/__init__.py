"""The core services: one Python API for every command; CLI, HTTP and worker call only these."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from ..access import Access
from .companies import CompanyService
from .contacts import ContactService
from .deals import DealService
from .files import FileService
from .leads import LeadService
from .notes import NoteService
from .search import SearchService
from .tasks import TaskService
from .timeline import TimelineService
from .users import UserService

if TYPE_CHECKING:  # pragma: no cover
    from ..app import Crm
    from ..calendar import CalendarService

__all__ = [
    "Services", "UserService", "LeadService", "ContactService", "CompanyService", "DealService",
    "TaskService", "NoteService", "TimelineService", "SearchService", "FileService",
]


class Services:
    """Every service, acting as one user (``actor_id``; ``None`` is the system).

    ``enforce=False`` keeps the attribution but skips record rules (for the core's own
    steps inside a command the user was allowed to make, e.g. reusing a matched contact).
    """

    def __init__(self, crm: "Crm", actor_id: int | None, *, enforce: bool = True) -> None:
        self.crm = crm
        self.actor_id = actor_id
        self.enforce = enforce

    @cached_property
    def access(self) -> Access:
        """The acting user's role and record rules."""
        return self.crm.access_for(self.actor_id) if self.enforce else Access(self.crm, self.actor_id, None, None)

    @cached_property
    def users(self) -> UserService:
        return UserService(self.crm, self.actor_id, self.access)

    @cached_property
    def leads(self) -> LeadService:
        return LeadService(self.crm, self.actor_id, self.access)

    @cached_property
    def contacts(self) -> ContactService:
        return ContactService(self.crm, self.actor_id, self.access)

    @cached_property
    def companies(self) -> CompanyService:
        return CompanyService(self.crm, self.actor_id, self.access)

    @cached_property
    def deals(self) -> DealService:
        return DealService(self.crm, self.actor_id, self.access)

    @cached_property
    def tasks(self) -> TaskService:
        return TaskService(self.crm, self.actor_id, self.access)

    @cached_property
    def notes(self) -> NoteService:
        return NoteService(self.crm, self.actor_id, self.access)

    @cached_property
    def timeline(self) -> TimelineService:
        return TimelineService(self.crm, self.actor_id, self.access)

    @cached_property
    def search(self) -> SearchService:
        """``services.search(q)``: cards by name, phone or e-mail, within the record rules."""
        return SearchService(self.crm, self.actor_id, self.access)

    @cached_property
    def files(self) -> FileService:
        """Documents on cards: ``add``, ``of`` (a card's), ``get``, ``open``, ``remove``."""
        return FileService(self.crm, self.actor_id, self.access)

    @cached_property
    def calendar(self) -> "CalendarService":
        """The acting user's task calendar feed: ``rotate`` (a new secret URL), ``revoke``."""
        from ..calendar import CalendarService

        return CalendarService(self.crm, self.actor_id, self.access)
