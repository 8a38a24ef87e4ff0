"""Reports: every report is SQL aggregates, never a Python loop over rows."""

from __future__ import annotations

from .funnel import FunnelReport, StageFunnel, funnel

__all__ = ["FunnelReport", "StageFunnel", "funnel"]
