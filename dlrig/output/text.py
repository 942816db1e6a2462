"""The documents for people, one renderer family chosen by the document's ``mode``: the plan report
(verdicts, the checks' details such as the power budget and the lane map), the ``--what-if`` side-by-side
view and the ``--live`` report. Every figure goes through :func:`dlrig.output.numbers.num`."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from dlrig.checks.registry import REGISTRY
from dlrig.output.numbers import num

_COLOURS = {"ok": "32", "warn": "33", "fail": "31", "dim": "2", "bold": "1"}


def _paint(text: str, colour: str, on: bool) -> str:
    return f"\033[{_COLOURS[colour]}m{text}\033[0m" if on else text


def _status(status: str | None, colour: bool, width: int = 4) -> str:
    if status is None:
        return "-".ljust(width)
    return _paint(status.upper().ljust(width), status, colour)


def _strip(text: str) -> str:
    return re.sub(r"\033\[[0-9;]*m", "", text)


def render_plan_host(host: dict[str, Any], colour: bool = False) -> list[str]:
    lines = [f"{_paint(host['name'], 'bold', colour)}  {_status(host['verdict'], colour)}"]
    if not host["declared"]:
        lines.append("  hardware not declared: no plan checks (add `hardware:` to its host_vars)")
        return lines
    for check in host["checks"]:
        lines.append(f"  {_status(check['status'], colour)} {check['id']:<13} {check['message']}")
        lines += _notes(check, colour)
    for check in host["checks"]:
        described = REGISTRY.get(check["id"], "plan")
        if described is not None and described.details is not None:
            lines += described.details(check)
    return lines


def _notes(check: dict[str, Any], colour: bool) -> list[str]:
    """A check's notes (the resolver's: why a version is not the newest), one line each under it."""
    notes = check.get("notes") or []
    return [_paint(f"{'':21}- {note}", "dim", colour) for note in notes if isinstance(note, str)]


def _key_figures(check_id: str, view: dict[str, Any] | None, currency: str | None) -> str:
    """A few words of figures for one side of a check row."""
    if view is None:
        return "(not run)"
    described = REGISTRY.get(check_id, "what_if")
    if described is None or described.key_figures is None:
        return ""
    return described.key_figures(view.get("figures") or {}, currency)


def render_what_if_host(host: dict[str, Any], colour: bool = False) -> list[str]:
    name = _paint(host["name"], "bold", colour)
    if not host["declared"]:
        return [f"{name}  hardware not declared: nothing to plan against (add `hardware:` to its host_vars)"]
    comp = host["comparison"]
    lines = [f"{name}  today {_status(comp['verdict']['today'], colour).rstrip()} -> planned "
             f"{_status(comp['verdict']['planned'], colour).rstrip()}   ({'; '.join(host['changes'])})"]
    currency = comp.get("currency")
    lines.append(f"  {'check':<13} {'today':<36} planned")
    for row in comp["checks"]:
        today = f"{_status((row['today'] or {}).get('status'), colour)} " \
                f"{_key_figures(row['id'], row['today'], currency)}"
        pad = 36 + (len(today) - len(_strip(today)))
        planned = f"{_status((row['planned'] or {}).get('status'), colour)} " \
                  f"{_key_figures(row['id'], row['planned'], currency)}"
        mark = "  *" if row["changed"] else ""
        lines.append(f"  {row['id']:<13} {today:<{pad}} {planned}{mark}".rstrip())
    lines.append("  planned verdicts:")
    for row in comp["checks"]:
        planned = row["planned"]
        if planned is not None and (planned["status"] != "ok" or row["changed"]):
            lines.append(f"    {_status(planned['status'], colour)} {row['id']}: {planned['message']}")
    if all(r["planned"] is None or (r["planned"]["status"] == "ok" and not r["changed"])
           for r in comp["checks"]):
        changes = (host.get("software") or {}).get("changes")
        but = ", but the software changes (planned software)" if changes else ""
        lines.append("    every check as today" + but)
    software = host.get("software")
    if software and software.get("changes"):
        lines.append("  planned software:")
        lines.extend(f"    {line}" for line in software["lines"])
    lines.append(f"  {'figure':<16} {'today':>10} {'planned':>10}")
    for fig in comp["figures"]:
        if fig["figure"] == "monthly_cost":
            unit = currency or ""
            today = "-" if fig["today"] is None else f"{fig['today']:.2f}"
            planned = "-" if fig["planned"] is None else f"{fig['planned']:.2f}"
        else:
            unit = fig["unit"]
            today, planned = num(fig["today"]), num(fig["planned"])
        lines.append(f"  {fig['label']:<16} {today:>10} {planned:>10} {unit}".rstrip())
    cap = host.get("capacity")
    if cap:
        lines.append(
            f"  capacity for {cap['model']} at {num(cap['card_w'])} W each: the PSU feeds {cap['by_psu']} "
            f"({cap['by_psu_headroom']} keeping the headroom), the board has {cap['by_slots']} slots, "
            f"the CPU lanes take {cap['by_lanes']} -> at most {cap['limit']}")
    return lines


def render_live_host(host: dict[str, Any], colour: bool = False) -> list[str]:
    lines = [f"{_paint(host['name'], 'bold', colour)}  {_status(host['verdict'], colour).rstrip()}  (live)"]
    for check in host["checks"]:
        lines.append(f"  {_status(check['status'], colour)} {check['id']:<10} {check['message']}")
    for check in host["checks"]:
        described = REGISTRY.get(check["id"], "live")
        if described is not None and described.details is not None:
            lines += described.details(check)
    det = host.get("detected")
    if det:
        lines.append("  detected")
        for gpu in det["gpus"]:
            link = f"x{num(gpu['current_link_width'])}/x{num(gpu['max_link_width'])}"
            gen = f"PCIe {num(gpu['current_link_gen'])}/{num(gpu['max_link_gen'])}"
            power = ""
            if gpu["power_limit_w"] is not None:
                power = (f"  {num(gpu['power_limit_w'])} W limit "
                         f"({num(gpu['power_min_limit_w'])}-{num(gpu['power_max_limit_w'])})")
            state = "" if gpu["present"] else "  NOT ANSWERING"
            lines.append(f"    {gpu['pci_address']}  {gpu['model']:<24} {link:<8} {gen}{power}{state}")
        lines.append(f"    driver {det['driver_version'] or 'not loaded'}; CPU {det['cpu_model'] or '?'}; "
                     f"RAM {num(det['ram_gb'])} GB; kernel {det['kernel'] or '?'}; "
                     f"Secure Boot {det['secure_boot'] or '?'}")
    return lines


def _circuit_line(circuit: dict[str, Any], colour: bool) -> str:
    """One wall circuit on one line: the hosts counted on it with their draw at the wall, the total against
    the circuit's continuous rating, the verdict; what was not counted."""
    hosts = " + ".join(f"{h['name']} {num(round(h['wall_w']))} W" for h in circuit["hosts"]
                       if h["wall_w"] is not None) or "no host with hardware declared"
    line = (f"  {_status(circuit['status'], colour)} {circuit['name']}: {hosts} = "
            f"{num(round(circuit['total_wall_w']))} W ({num(circuit['amps_drawn'])} A) of "
            f"{num(circuit['continuous_w'])} W continuous ({num(circuit['volts'])} V x "
            f"{num(circuit['amps'])} A "
            f"x {num(circuit['continuous_pct'])} %)")
    if circuit.get("not_counted"):
        line += f"; not counted: {circuit['not_counted']}"
    return line


_HOSTS: dict[str, tuple[Callable[[dict[str, Any], bool], list[str]], str]] = {
    "plan": (render_plan_host, ""),
    "what_if": (render_what_if_host, ", planned"),
    "live": (render_live_host, ", live"),
}


def render(document: dict[str, Any], colour: bool = False) -> str:
    hosts = document["hosts"]
    per_host, what = _HOSTS[document["mode"]]
    blocks = ["\n".join(per_host(h, colour)) for h in hosts]
    if document.get("circuits"):
        blocks.append("\n".join(["wall circuits (the hosts of this run on each, at the wall)",
                                  *(_circuit_line(c, colour) for c in document["circuits"])]))
    counts = {s: sum(1 for h in hosts if h["verdict"] == s) for s in ("ok", "warn", "fail")}
    tail = f"{len(hosts)} host(s){what}: {counts['ok']} ok, {counts['warn']} warn, {counts['fail']} fail"
    if document.get("cluster"):
        from dlrig.cluster import section_lines

        blocks.append("\n".join(section_lines(document["cluster"])))
    return "\n\n".join([*blocks, tail]) + "\n"
