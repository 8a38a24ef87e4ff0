"""The revision files of the {{ cookiecutter.plugin_name }} branch (alembic reads them; not imported)."""
