"""Revision files of the telephony branch. Not imported: alembic reads the files."""
