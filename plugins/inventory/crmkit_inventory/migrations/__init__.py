"""The inventory plugin's schema migrations: its alembic branch ``inventory`` (revisions in ``versions/``)."""
