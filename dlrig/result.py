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


def failing(checks: list[CheckResult], strict: bool = False) -> list[CheckResult]:
    """The checks that stop a run: fails, and warnings too when ``strict``."""
    return [c for c in checks if c.status == "fail" or (strict and c.status == "warn")]


def outcome(checks: list[CheckResult], strict: bool = False, prefix: str = "") -> dict[str, Any]:
    """What an Ansible task reports for some checks: ``failed`` + ``msg`` naming the failing checks,
    or ``warnings`` naming the warning ones (shared by the preflight and live-preflight actions)."""
    stop = failing(checks, strict)
    if stop:
        return {"failed": True, "msg": prefix + "; ".join(f"{c.id}: {c.message}" for c in stop)}
    warnings = [f"{c.id}: {c.message}" for c in checks if c.status == "warn"]
    return {"warnings": warnings} if warnings else {}
