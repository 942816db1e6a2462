"""``declaration``: whether the inventory describes the box at all (issue 19, finding 3).

The live checks compare one aspect each (``os``, ``gpu_count``, ``ram``) and give advice for one
difference ("reseat it", "a DIMM may be missing"). When most of the compared aspects differ, the
likelier cause is that the inventory describes another machine (the shipped reference build run on
the user's own box): this check says so, says how to write a declaration, and the per-aspect advice
that assumes the declaration is right is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from dlrig.checks.registry import Context, live_check
from dlrig.plan.model import HostPlan
from dlrig.result import CheckResult

#: The commented host template a user copies (inventory/host_vars/*.sample is not read by Ansible).
TEMPLATE = "inventory/host_vars/EXAMPLE.yml.sample"

# The advice of gpu_count/ram that assumes the declaration is right (a card to reseat, a DIMM missing).
_ADVICE = re.compile(r" — (?:reseat it|a DIMM may be missing|update hardware|set os:)[^;]*")


def _gpus(figures: dict[str, object], key: str) -> str:
    counts = figures.get(key)
    if not isinstance(counts, dict) or not counts:
        return "none"
    return ", ".join(f"{n}× {model}" for model, n in counts.items())


def _models(figures: dict[str, object], key: str) -> set[str]:
    counts = figures.get(key)
    return {str(model) for model, n in counts.items() if n} if isinstance(counts, dict) else set()


def how_to_declare(host: str) -> str:
    """The one-line instruction for writing a declaration of this box."""
    return (f"write one for this box: copy {TEMPLATE} to inventory/host_vars/{host}.yml (or a new host's "
            "name, added to inventory/hosts.yml), fill in its parts (docs/preflight.md, 'The hardware "
            "declaration'), check it with bin/dlrig preflight, then bin/dlrig preflight --live")


def check_declaration(plan: HostPlan, checks: Sequence[CheckResult]) -> CheckResult | None:
    """A failing ``declaration`` check when most compared aspects (OS, GPUs, RAM; at least two) differ
    from the declaration, else None."""
    if plan.hardware is None:
        return None
    by_id = {c.id: c for c in checks}
    compared: list[str] = []
    differ: list[str] = []
    os_check = by_id.get("os")
    if os_check is not None and os_check.figures.get("declared") and not os_check.figures.get("skipped"):
        compared.append("os")
        if os_check.status == "fail":
            figures = os_check.figures
            differ.append(f"OS: declared {figures['declared']}, running {figures['running']}")
    gpu = by_id.get("gpu_count")
    if gpu is not None and gpu.figures.get("declared") is not None:
        compared.append("gpus")
        # A card missing or added beside declared ones that are there is this box with a card to reseat
        # (or to declare); the GPUs point to another machine only when none of the declared models is seen.
        if gpu.status == "fail" and not _models(gpu.figures, "declared") & _models(gpu.figures, "detected"):
            differ.append(f"GPUs: declared {_gpus(gpu.figures, 'declared')}, "
                          f"detected {_gpus(gpu.figures, 'detected')}")
    ram = by_id.get("ram")
    if ram is not None and ram.figures.get("declared_gb") is not None and ram.figures.get("detected_gb"):
        compared.append("ram")
        if ram.status != "ok":
            differ.append(f"RAM: declared {ram.figures['declared_gb']:g} GB, "
                          f"the kernel sees {ram.figures['detected_gb']:g} GB")
    if len(differ) < 2 or 2 * len(differ) <= len(compared):
        return None
    return CheckResult(
        "declaration", "fail",
        f"this declaration does not describe this machine ({'; '.join(differ)}); {how_to_declare(plan.name)}",
        {"compared": compared, "differ": len(differ)})


def _first_and_plain(verdict: CheckResult, checks: list[CheckResult]) -> list[CheckResult]:
    """``verdict`` first, the other checks without the advice that assumes the declaration is right."""
    return [verdict, *(CheckResult(c.id, c.status, _ADVICE.sub("", c.message), c.figures)
                       for c in checks if c is not verdict)]


def with_declaration(plan: HostPlan, checks: list[CheckResult]) -> list[CheckResult]:
    """``checks`` with a ``declaration`` check first when the declaration describes another machine; the
    other checks then lose the advice that assumes the declaration is right."""
    verdict = check_declaration(plan, checks)
    return checks if verdict is None else _first_and_plain(verdict, checks)


@live_check("declaration", order=1000, revise=_first_and_plain)
def run(ctx: Context) -> CheckResult | None:
    return check_declaration(ctx.plan, ctx.results)
