"""Revision files of the installments branch. Not imported: alembic reads the files."""
