"""CORS for browser clients on other origins: off unless crmkit.toml lists the origins.

    [settings.server]
    cors_origins = ["https://app.example.com"]

Requests carry a bearer token, never cookies, so credentials are not allowed; the headers
the API reads (``Authorization``, ``If-Match``, ``Idempotency-Key``) may be sent and the ones
it writes (``ETag``, ``Idempotent-Replayed``, ``Retry-After``) may be read.
"""

from __future__ import annotations

from typing import Sequence

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

ALLOW_HEADERS = ("Authorization", "Content-Type", "If-Match", "Idempotency-Key")
EXPOSE_HEADERS = ("ETag", "Idempotent-Replayed", "Retry-After", "Location")
METHODS = ("GET", "HEAD", "POST", "PATCH", "PUT", "DELETE", "OPTIONS")


def cors_middleware(origins: Sequence[str]) -> Middleware:
    return Middleware(CORSMiddleware, allow_origins=list(origins), allow_methods=list(METHODS),
                      allow_headers=list(ALLOW_HEADERS), expose_headers=list(EXPOSE_HEADERS),
                      allow_credentials=False, max_age=600)
