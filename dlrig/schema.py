"""The one top-level shape of every JSON document the preflight prints (docs/preflight.schema.json).

``{"schema_version": 1, "mode": "report" | "what-if" | "live", "hosts": [{"name", "verdict", "checks",
"summary", ...}]}``: a script reads ``hosts[].checks`` and ``hosts[].summary`` whatever the mode. In a
what-if document they are the planned build's (``today`` and ``planned`` stay beside them); a live host
has no summary (``null``).
"""

from __future__ import annotations

from typing import Any

SCHEMA_VERSION = 1


def shaped(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with ``schema_version``, ``mode`` and every host's ``checks`` and ``summary``."""
    hosts = []
    for host in document.get("hosts", []):
        entry = dict(host)
        if "checks" not in entry:
            planned = entry.get("planned") or {}
            entry["checks"] = list(planned.get("checks") or [])
            entry["summary"] = planned.get("summary")
        entry.setdefault("summary", None)
        hosts.append(entry)
    return {"schema_version": SCHEMA_VERSION, "mode": document.get("mode", "report"),
            **{k: v for k, v in document.items() if k not in ("hosts", "mode")}, "hosts": hosts}
