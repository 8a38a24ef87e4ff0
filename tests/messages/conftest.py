"""The messaging tests' fixtures (defined in messages_support.py)."""

from messages_support import mcrm, receiver, smtp  # noqa: F401  (fixtures)
