"""The fitness plugin's schema migrations: its alembic branch ``fitness`` (revisions in ``versions/``)."""
