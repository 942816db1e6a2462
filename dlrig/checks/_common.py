"""Helpers shared by the plan checks."""

from __future__ import annotations

from typing import Any

from dlrig.result import CheckResult


def skipped(check_id: str, why: str, **figures: Any) -> CheckResult:
    """A check that could not run because part of the build is not declared (``ok``, ``skipped: true``)."""
    return CheckResult(check_id, "ok", f"not checked: {why}", {"skipped": True, **figures})


def fmt_w(watts: float) -> str:
    return f"{watts:.0f} W"


def plural(n: int | float, word: str) -> str:
    return f"{n:g} {word}{'' if n == 1 else 's'}"
