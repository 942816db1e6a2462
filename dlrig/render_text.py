"""The preflight report for people: one block per host with verdicts, power budget and lane map."""

from __future__ import annotations

from typing import Any

_COLOURS = {"ok": "32", "warn": "33", "fail": "31", "dim": "2", "bold": "1"}


def _paint(text: str, colour: str, on: bool) -> str:
    return f"\033[{_COLOURS[colour]}m{text}\033[0m" if on else text


def _status(status: str, colour: bool) -> str:
    return _paint(f"{status.upper():<4}", status, colour)


def render_host(host: dict[str, Any], colour: bool = False) -> list[str]:
    lines = [f"{_paint(host['name'], 'bold', colour)}  {_status(host['verdict'], colour)}"]
    if not host["declared"]:
        lines.append("  hardware not declared: no plan checks (add `hardware:` to its host_vars)")
        return lines
    for check in host["checks"]:
        lines.append(f"  {_status(check['status'], colour)} {check['id']:<13} {check['message']}")
        lines += _notes(check, colour)
    from dlrig.checks.registry import REGISTRY

    for check in host["checks"]:
        described = REGISTRY.describe(check["id"])
        if described is not None and described.details is not None:
            lines += described.details(check)
    return lines


def _notes(check: dict[str, Any], colour: bool) -> list[str]:
    """A check's notes (the resolver's: why a version is not the newest), one line each under it."""
    notes = check.get("notes") or []
    return [_paint(f"{'':21}- {note}", "dim", colour) for note in notes if isinstance(note, str)]


def render(report: dict[str, Any], colour: bool = False) -> str:
    blocks = ["\n".join(render_host(host, colour)) for host in report["hosts"]]
    counts = {s: sum(1 for h in report["hosts"] if h["verdict"] == s) for s in ("ok", "warn", "fail")}
    tail = f"{len(report['hosts'])} host(s): {counts['ok']} ok, {counts['warn']} warn, {counts['fail']} fail"
    return "\n\n".join([*blocks, tail]) + "\n"
