"""``scripts/preflight.py --live`` and ``--what-if``: the GPU-upgrade front end of the preflight CLI.

``dlrig.cli`` wires it in with two calls: :func:`add_arguments` on its parser, and, first thing in its
``run``, ``if wanted(args): return run(args, stdout)``. :func:`handle` builds the document (JSON-ready,
the preflight's ``{"hosts": [...]}`` shape with a ``verdict`` per host, so the exit code follows the
same rule: 1 when a verdict is ``fail``, or ``warn`` with ``--strict``).

- ``--live``: detect the hardware of each host over Ansible (``dlrig.rig.hardware_facts``, honouring the
  inventory's ``live_preflight_*`` variables exactly as ``playbooks/live-preflight.yml`` does) and run
  the live checks (``gpu_count``, ``pcie_link``, ``ram``) against the declaration.
- ``--what-if SPEC`` (repeatable): the verdicts for a planned upgrade next to today's, and how many of
  the planned GPU the PSU, slots and CPU lanes could take. Nothing is edited. Syntax: :mod:`dlrig.whatif`.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from typing import Any, TextIO

from dlrig.errors import InputError

# Module arguments of the ad-hoc detection run: templated per host by Ansible, so the inventory's
# live_preflight_* variables point detection at a fixture tree or another nvidia-smi, as in the playbook.
DETECT_ARGS = {
    "sysfs_root": "{{ live_preflight_sysfs_root | default(omit) }}",
    "nvidia_smi": "{{ live_preflight_nvidia_smi | default(omit) }}",
    "lspci": "{{ live_preflight_lspci | default(omit) }}",
    "verify_report": "{{ live_preflight_verify_report | default(omit) }}",  # measured_power (issue 12)
}

WHAT_IF_HELP = (
    "plan an upgrade without editing the inventory; repeat to combine: 'gpus=2x GeForce RTX 2080', "
    "'gpus=4x RTX 2080@225W' (board power per card), 'gpus=4x RTX 2070 limit=150W' (power limit), "
    "'gpus=RTX 2070 + 2x RTX 2080', 'psu=1300 gold', 'psu=1300', 'memory=64'"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--live`` and ``--what-if`` (and ``--become``, used with ``--live``) to the preflight parser."""
    group = parser.add_argument_group("GPU upgrade")
    group.add_argument("--live", action="store_true",
                       help="detect the hardware in each host over Ansible and compare it with the inventory")
    group.add_argument("--become", action="store_true", help="with --live: run detection with become")
    group.add_argument("--what-if", action="append", default=[], metavar="SPEC", dest="what_if",
                       help=WHAT_IF_HELP)


def wanted(args: argparse.Namespace) -> bool:
    """Whether the command line asks for --live or --what-if."""
    return bool(getattr(args, "live", False) or getattr(args, "what_if", None))


def load_hosts_from(args: argparse.Namespace) -> list[tuple[str, dict[str, Any]]]:
    """The hosts the command line's -i/--limit/-e/vault options select (the plain report uses it too)."""
    from dlrig.inventory import default_inventory, load_hosts

    inventory = getattr(args, "inventory", None)
    return load_hosts(list(inventory) if inventory else [default_inventory()], getattr(args, "limit", None),
                      vault_password_files=getattr(args, "vault_password_file", None) or (),
                      vault_ids=getattr(args, "vault_id", None) or (),
                      extra_vars=getattr(args, "extra_vars", None) or (),
                      **({"timeout": args.inventory_timeout}
                         if getattr(args, "inventory_timeout", None) else {}))


# --- --what-if --------------------------------------------------------------------------------------

def _spec_hint(problem: str) -> str:
    """A planned card's missing figures go into the spec, not the inventory (issue 19, finding 8)."""
    return problem.replace(
        "in the inventory",
        "in the spec, e.g. 'gpus=2x MODEL@250W vram=6 arch=Maxwell' (@ is watts, vram in GB)")


def what_if_host(name: str, hostvars: dict[str, Any], specs: Sequence[str]) -> dict[str, Any]:
    """One host's what-if entry: today's and the planned report, their comparison, the capacity."""
    from dlrig.checks import run_checks
    from dlrig.hardware import parse_host
    from dlrig.report import host_report
    from dlrig.whatif import apply_what_if, capacity_for, compare, parse_specs

    plan = parse_specs(specs, host=name)
    today_plan = parse_host(name, hostvars)
    if today_plan.hardware is None:
        return {"name": name, "declared": False, "verdict": "ok", "what_if": list(specs),
                "changes": plan.describe(), "today": None, "planned": None, "comparison": None,
                "capacity": None}
    try:
        planned_vars = apply_what_if(hostvars, plan)
    except InputError as exc:
        raise InputError(name, exc.path, exc.problem) from None
    try:
        planned_plan = parse_host(name, planned_vars)
    except InputError as exc:   # an unknown model, a PSU class the inventory parser refuses, ...
        raise InputError(name, "--what-if", f"{exc.path}: {_spec_hint(exc.problem)}") from None
    today = host_report(today_plan, run_checks(today_plan))
    planned = host_report(planned_plan, run_checks(planned_plan))
    cap = capacity_for(planned_plan)
    software = planned_software(today, planned_plan)
    return {
        "name": name,
        "declared": True,
        "verdict": planned["verdict"],
        "what_if": list(specs),
        "changes": plan.describe(),
        "today": today,
        "planned": planned,
        "comparison": compare(today, planned),
        "capacity": None if cap is None else cap.as_dict(),
        "software": software,
    }


def planned_software(today: dict[str, Any], planned_plan: Any) -> dict[str, Any] | None:
    """What the plan does to the software: the driver decision the upgrade would take on a box running
    today's resolved stack, and its lines ("driver 595 → 580 (downgrade: …)", "CUDA 13.2 → 12.9",
    "PyTorch environment rebuilt (cu132 → cu126)", …). None when today's stack is not resolved."""
    from dlrig.checks.stack import resolved_driver
    from dlrig.upgrade import change_lines, decide_driver

    branch = resolved_driver(today.get("checks") or [])
    if planned_plan.os is None or not branch:
        return None
    decision = decide_driver(planned_plan, str(branch), planned_plan.os.distribution, planned_plan.os.release)
    changes = decision.action in ("upgrade", "downgrade")
    return {"driver": decision.as_dict(), "changes": changes, "lines": change_lines(decision)}


def what_if_document(hosts: Sequence[tuple[str, dict[str, Any]]], specs: Sequence[str]) -> dict[str, Any]:
    from dlrig.whatif import parse_specs

    parse_specs(specs)  # a bad spec is reported once, before any host
    return {"mode": "what-if", "what_if": list(specs),
            "hosts": [what_if_host(name, hostvars, specs) for name, hostvars in hosts]}


# --- --live -----------------------------------------------------------------------------------------

def live_document(hosts: Sequence[tuple[str, dict[str, Any]]], inventories: Sequence[str],
                  limit: str | None, *, become: bool = False, detector: Any = None) -> dict[str, Any]:
    """Detect every host over Ansible, then run its live checks; ``detector`` replaces detection in tests."""
    from dlrig.hardware import parse_host
    from dlrig.live import DetectionError, detect, live_host

    plans = [parse_host(name, hostvars) for name, hostvars in hosts]  # bad input first, before any SSH
    run = detector or detect
    try:
        found = run(inventories, limit or "all", [p.name for p in plans], module_args=DETECT_ARGS,
                    become=become)
    except DetectionError as exc:
        raise InputError(None, "--live", str(exc)) from None
    entries = []
    for plan in plans:
        detection = found[plan.name]
        entries.append(live_host(plan, detection.facts, error=detection.error,
                                 unreachable=detection.unreachable))
    return {"mode": "live", "hosts": entries}


# --- the front door ---------------------------------------------------------------------------------

def handle(args: argparse.Namespace, hosts: Sequence[tuple[str, dict[str, Any]]] | None = None,
           *, detector: Any = None) -> dict[str, Any] | None:
    """The document for ``--live`` or ``--what-if`` (None when neither was asked for).

    ``hosts`` are ``[(name, hostvars)]`` as :func:`dlrig.inventory.load_hosts` returns them (loaded from
    ``args.inventory``/``args.limit`` when not given).
    """
    if not wanted(args):
        return None
    if args.live and args.what_if:
        raise InputError(None, "--live",
                         "use --live (what is in the box now) or --what-if (a plan), not both")
    if args.what_if:
        from dlrig.whatif import parse_specs

        parse_specs(args.what_if)  # a bad spec fails before the inventory is read
    hosts = list(hosts) if hosts is not None else load_hosts_from(args)
    if args.what_if:
        return what_if_document(hosts, args.what_if)
    from dlrig.inventory import default_inventory

    inventories = list(args.inventory) if getattr(args, "inventory", None) else [default_inventory()]
    return live_document(hosts, inventories, getattr(args, "limit", None),
                         become=getattr(args, "become", False), detector=detector)


def exit_code(document: dict[str, Any], strict: bool = False) -> int:
    verdicts = {host["verdict"] for host in document["hosts"]}
    return 1 if "fail" in verdicts or (strict and "warn" in verdicts) else 0


def emit(document: dict[str, Any], fmt: str, stream: TextIO) -> None:
    if fmt == "json":
        from dlrig.schema import shaped

        stream.write(json.dumps(shaped(document), indent=2, ensure_ascii=False) + "\n")
        return
    from dlrig.errors import escaped
    from dlrig.render_upgrade import render

    stream.write(render(escaped(document),  # type: ignore[arg-type]
                        colour=stream.isatty() and not os.environ.get("NO_COLOR")))


def run(args: argparse.Namespace, stdout: TextIO, *, detector: Any = None) -> int:
    """Build, print, return the exit code (InputError propagates to the CLI's one error line)."""
    document = handle(args, detector=detector)
    assert document is not None
    emit(document, getattr(args, "format", "text"), stdout)
    return exit_code(document, getattr(args, "strict", False))
