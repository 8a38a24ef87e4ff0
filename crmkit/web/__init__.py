"""crmkit's HTTP interface: the JSON API (``create_app``) and helpers for plugin routes
(``public``, ``request_user_id``, ``request_services``, ``read_json_body``)."""

from __future__ import annotations

from .app import create_app, public, request_services, request_user_id
from .jsonbody import read_json_body
from .operation import Ctx, Operation, Param, Result

__all__ = ["Ctx", "Operation", "Param", "Result", "create_app", "public", "read_json_body", "request_services",
           "request_user_id"]
