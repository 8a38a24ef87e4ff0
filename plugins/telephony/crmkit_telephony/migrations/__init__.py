"""The telephony plugin's schema migrations: its alembic branch ``telephony`` (revisions in ``versions/``)."""
