"""``crmkit serve``: the JSON API (and later the web UI) with uvicorn."""

from __future__ import annotations

import click

from ..state import pass_state


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Processes (PostgreSQL deployments; SQLite wants one).")
def serve(host: str, port: int, workers: int) -> None:
    """Serve the deployment's HTTP API at http://HOST:PORT/api/v1/ (OpenAPI: /api/v1/openapi.json)."""
    from ...web.server import serve as run

    state = pass_state()
    state.settings()  # a missing or broken crmkit.toml is one line, before anything listens
    state.crm  # so is a database behind head (naming `crmkit db upgrade`)
    state.close()
    click.echo(f"Serving {state.config} on http://{host}:{port}/api/v1/ (Ctrl-C to stop)", err=True)
    run(state.config, host=host, port=port, workers=workers)
