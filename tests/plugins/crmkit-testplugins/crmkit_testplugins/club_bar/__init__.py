"""The glue of ``club`` and ``bar`` (a member's bar tab): on when both are enabled, off otherwise."""
