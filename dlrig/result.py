"""Results shared by every check, the CLI renderers and the Ansible action plugin."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["ok", "warn", "fail"]
_RANK: dict[str, int] = {"ok": 0, "warn": 1, "fail": 2}


@dataclass(frozen=True)
class CheckResult:
    """One check's verdict, an actionable message and its figures (JSON-serialisable)."""

    id: str
    status: Status
    message: str
    figures: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "message": self.message, **self.figures}


def worst(statuses: list[Status] | list[str]) -> Status:
    """The most severe of some statuses; ``ok`` for none."""
    top = max((_RANK[s] for s in statuses), default=0)
    return ("ok", "warn", "fail")[top]  # type: ignore[return-value]
