"""Hostile option values in the CLI: one line on stderr and a non-zero exit, never a traceback
(non-ASCII digits, ids beyond 32 bits, times past the ends of the calendar)."""

from __future__ import annotations

from tests.test_cli import as_admin, cfg, deployment, fails, ok  # noqa: F401  (fixtures)


def test_ids_in_filters_and_card_refs_are_ascii_32_bit(cfg: list[str]) -> None:
    for value in ("²", "٣", "9" * 25, str(2**31), "0", "abc"):
        fails(*cfg, "deals", "list", "--filter", f"responsible_id={value}", contains="responsible_id")
        fails(*cfg, "tasks", "list", "--filter", f"entity_id__in=1,{value}", contains="entity_id")
    for ref in ("deal:²", "deal:٣", "deal:" + "9" * 25):
        fails(*cfg, "tasks", "list", "--on", ref, contains="TYPE:ID")
    ok(*cfg, "deals", "list", "--filter", "responsible_id=1")


def test_times_past_the_ends_of_the_calendar_are_refused(as_admin: list[str]) -> None:
    cfg = as_admin
    for due in ("+999999999d", "-999999999w", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"):
        fails(*cfg, "tasks", "add", "--title", "x", "--due", due, contains="due")
    for due in ("+99999999999d", "+²d"):
        fails(*cfg, "tasks", "add", "--title", "x", "--due", due, contains="is not a time")
    ok(*cfg, "tasks", "add", "--title", "x", "--due", "9999-12-31T23:59:59+00:00")
    ok(*cfg, "tasks", "list", "--filter", "due_at__gte=0001-01-01")
