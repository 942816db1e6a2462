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
    by_id = {c["id"]: c for c in host["checks"]}
    lines += _power_budget(by_id.get("psu_headroom"), colour)
    lines += _lane_map(by_id.get("pcie_lanes"), colour)
    return lines


def _notes(check: dict[str, Any], colour: bool) -> list[str]:
    """A check's notes (the resolver's: why a version is not the newest), one line each under it."""
    notes = check.get("notes") or []
    return [_paint(f"{'':21}- {note}", "dim", colour) for note in notes if isinstance(note, str)]


def _power_budget(check: dict[str, Any] | None, colour: bool) -> list[str]:
    if not check or check.get("skipped"):
        return []
    lines = ["  power budget"]
    for item in check["items"]:
        lines.append(f"    {item['part']:<52} {item['watts']:>6.0f} W")
    lines.append(f"    {'max draw':<52} {check['max_draw_w']:>6.0f} W  of {check['psu_w']:.0f} W "
                 f"({check['load_pct']:g} %), {check['usable_w']:.0f} W usable with "
                 f"{check['headroom_pct']:g} % headroom")
    return lines


def _lane_map(check: dict[str, Any] | None, colour: bool) -> list[str]:
    if not check or check.get("skipped"):
        return []
    lines = ["  lane map"]
    for gpu in check["gpus"]:
        where = f"slot {gpu['slot']}" if gpu["slot"] else "no slot"
        batch = f"~{gpu['batch_transfer_ms']:.1f} ms/batch" if gpu["batch_transfer_ms"] is not None else ""
        lines.append(f"    GPU {gpu['index'] + 1} {gpu['model']:<34} {where:<8} x{gpu['lanes']:<3} "
                     f"PCIe {gpu['pcie_gen']}  {batch}")
    for other in check["other"]:
        lines.append(f"    {other['part']:<40} {'':<8} x{other['lanes']}")
    lines.append(f"    {check['lanes_used']} of {check['lanes_available']} CPU lanes used")
    return lines


def render(report: dict[str, Any], colour: bool = False) -> str:
    blocks = ["\n".join(render_host(host, colour)) for host in report["hosts"]]
    counts = {s: sum(1 for h in report["hosts"] if h["verdict"] == s) for s in ("ok", "warn", "fail")}
    tail = f"{len(report['hosts'])} host(s): {counts['ok']} ok, {counts['warn']} warn, {counts['fail']} fail"
    return "\n\n".join([*blocks, tail]) + "\n"
