"""The core's alembic revisions (branch ``crmkit``). Not imported: alembic reads the files."""
