"""UTM/campaign fields: which advertising channel brought a lead (and its deal)."""

from __future__ import annotations

from typing import Any, Mapping

from ..errors import ValidationError

UTM_KEYS = ("source", "medium", "campaign", "term", "content")
COLUMNS = tuple(f"utm_{k}" for k in UTM_KEYS)


def clean_utm(value: Any) -> dict[str, str | None]:
    """``{"source": "google", "campaign": "spring"}`` (or ``utm_source`` keys) -> column values."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError("utm: expected an object such as {\"source\": \"google\", \"campaign\": \"spring\"}",
                              field="utm")
    out: dict[str, str | None] = {}
    for key, v in value.items():
        short = key[4:] if isinstance(key, str) and key.startswith("utm_") else key
        if short not in UTM_KEYS:
            raise ValidationError(f"utm.{key}: unknown UTM field (known: {', '.join(UTM_KEYS)})", field=f"utm.{key}")
        if v is not None and not isinstance(v, str):
            raise ValidationError(f"utm.{short}: expected text", field=f"utm.{short}")
        if v is not None and len(v) > 200:
            raise ValidationError(f"utm.{short}: longer than 200 characters", field=f"utm.{short}")
        out[f"utm_{short}"] = v.strip() if v and v.strip() else None
    return out


def utm_of(row: Any) -> dict[str, str]:
    return {k: v for k in UTM_KEYS if (v := getattr(row, f"utm_{k}"))}
