"""The installments plugin's schema migrations: its alembic branch ``installments`` (revisions in ``versions/``)."""
