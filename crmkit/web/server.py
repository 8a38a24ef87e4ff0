"""Running the API with uvicorn: what ``crmkit serve`` calls."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def serve(config_path: str | Path = "crmkit.toml", host: str = "127.0.0.1", port: int = 8000, **uvicorn_options: Any) -> None:
    """Start the deployment at ``config_path`` and serve its API until interrupted.

    One process, one event loop; service calls run in uvicorn's thread pool and
    SQLite writes are serialized by the core. Raises ``crmkit.ConfigError`` for a
    bad config before listening.
    """
    import uvicorn

    from ..core.app import Crm
    from .app import create_app

    crm = Crm.from_config(config_path)
    try:
        uvicorn.run(create_app(crm), host=host, port=port, log_level=uvicorn_options.pop("log_level", "info"),
                    **uvicorn_options)
    finally:
        crm.close()
