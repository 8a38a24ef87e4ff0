"""One module per resource; each exposes ``operations(crm) -> list[Operation]``."""
