"""The plugin's schema migrations: its own alembic branch, labelled ``{{ cookiecutter.plugin_name }}``.

Each release that changes a table adds a revision to ``versions/`` (``crmkit db revision
{{ cookiecutter.plugin_name }} -m "..."`` writes it); deployments run ``crmkit db upgrade``.
"""
