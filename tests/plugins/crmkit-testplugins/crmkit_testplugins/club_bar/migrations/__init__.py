"""The ``club_bar`` glue plugin's alembic branch."""
