"""``scripts/preflight.py``: check every declared build of the inventory before anything runs.

Exit codes: 0 no check fails (warnings allowed), 1 a check fails (or warns, with --strict),
2 bad input (unreadable inventory, YAML error, wrong type, unknown model, ...): one line on stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from dlrig.errors import InputError, printable
from dlrig.output.document import EXIT_FAIL, EXIT_OK  # noqa: F401  (the exit codes, decided there)

EXIT_INPUT = 2


class UsageError(Exception):
    """A command line argparse refuses: one line, exit 2 (argparse itself prints its usage block)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # type: ignore[override]
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    from dlrig.plan.inventory import DEFAULT_INVENTORY_TIMEOUT, default_inventory
    from dlrig.upgrade.spec import WHAT_IF_HELP

    parser = _Parser(
        prog="preflight.py", description="Check the declared builds of an Ansible inventory (PSU, PCIe "
        "lanes, GPU slots, RAM vs VRAM, energy, software stack) before anything is installed.")
    parser.add_argument("-i", "--inventory", action="append", metavar="INVENTORY",
                        help="inventory file or directory, as ansible-playbook -i "
                        f"(default: {default_inventory()})")
    parser.add_argument("-l", "--limit", metavar="PATTERN", help="host pattern, as ansible-playbook --limit")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="report format (default: text)")
    parser.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    parser.add_argument("-e", "--extra-vars", action="append", default=[], metavar="VARS",
                        help="extra variables, as ansible-playbook -e (@file, YAML/JSON, key=value); "
                        "they win over the inventory")
    parser.add_argument("--vault-password-file", action="append", default=[], metavar="FILE",
                        help="vault password file, as ansible-playbook (ansible.cfg's vault_password_file "
                        "is read too)")
    parser.add_argument("--vault-id", action="append", default=[], metavar="ID",
                        help="vault identity label@source, as ansible-playbook")
    parser.add_argument("--inventory-timeout", type=float, default=DEFAULT_INVENTORY_TIMEOUT,
                        metavar="SECONDS",
                        help="stop waiting for a dynamic inventory script after this long "
                        f"(default: {DEFAULT_INVENTORY_TIMEOUT:g})")
    upgrade = parser.add_argument_group("GPU upgrade")
    upgrade.add_argument("--live", action="store_true",
                         help="detect the hardware in each host over Ansible and compare it with the "
                         "inventory")
    upgrade.add_argument("--become", action="store_true", help="with --live: run detection with become")
    upgrade.add_argument("--what-if", action="append", default=[], metavar="SPEC", dest="what_if",
                         help=WHAT_IF_HELP)
    parser.add_argument("--list-models", nargs="?", const="all", choices=("gpu", "cpu", "all"),
                        metavar="gpu|cpu", help="list the catalogue's GPU and/or CPU models with their "
                        "figures, then exit (no inventory is read)")
    return parser


def inventories(args: argparse.Namespace) -> list[str]:
    from dlrig.plan.inventory import default_inventory

    return list(args.inventory) if args.inventory else [default_inventory()]


def load_hosts_from(args: argparse.Namespace) -> list[tuple[str, dict[str, Any]]]:
    """The hosts the command line's -i/--limit/-e/vault options select, as ``[(name, hostvars)]``."""
    from dlrig.plan.inventory import load_hosts

    return load_hosts(inventories(args), args.limit, vault_password_files=args.vault_password_file,
                      vault_ids=args.vault_id, extra_vars=args.extra_vars, timeout=args.inventory_timeout)


def load_plans(args: argparse.Namespace) -> list[Any]:
    """Every host the command line selects as a validated HostPlan (InputError on the first bad one)."""
    from dlrig.plan.parse import parse_host

    return [parse_host(name, hostvars) for name, hostvars in load_hosts_from(args)]


def build_document(args: argparse.Namespace, *, detector: Any = None) -> dict[str, Any]:
    """The document the command line asks for: the plan report, ``--what-if`` or ``--live``
    (``detector`` replaces detection over Ansible in tests)."""
    if args.live and args.what_if:
        raise InputError(None, "--live",
                         "use --live (what is in the box now) or --what-if (a plan), not both")
    if args.what_if:
        from dlrig.upgrade.spec import parse_specs
        from dlrig.upgrade.whatif import what_if_document

        parse_specs(args.what_if)  # a bad spec fails before the inventory is read
        return what_if_document(load_hosts_from(args), args.what_if)
    if args.live:
        from dlrig.upgrade.live import live_document

        return live_document(load_hosts_from(args), inventories(args), args.limit, become=args.become,
                             detector=detector)
    from dlrig.output.document import plan_document
    from dlrig.plan.parse import parse_host

    hosts = load_hosts_from(args)
    return plan_document([parse_host(name, hostvars) for name, hostvars in hosts], hosts, limit=args.limit)


def run(args: argparse.Namespace, stdout: TextIO, *, detector: Any = None) -> int:
    """Load, check, report; returns the exit code. Raises InputError for bad input."""
    if args.list_models:
        from dlrig.output.listing import emit as emit_listing

        emit_listing(args.list_models, args.format, stdout)
        return EXIT_OK
    from dlrig.output.document import emit, exit_code

    document = build_document(args, detector=detector)
    emit(document, args.format, stdout)
    return exit_code(document, args.strict)


def _one_line(text: str) -> str:
    """A message as one printable line: control characters escaped (no ANSI sequence, no forged line),
    clipped."""
    return printable(text)


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None,
         stderr: TextIO | None = None) -> int:
    out, err = stdout or sys.stdout, stderr or sys.stderr
    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:
        err.write(f"preflight: {_one_line(str(exc))} (see --help)\n")
        return EXIT_INPUT
    if not 0 < args.inventory_timeout <= 86400:
        err.write(f"preflight: --inventory-timeout: expected seconds > 0 and <= 86400, got "
                  f"{args.inventory_timeout:g}\n")
        return EXIT_INPUT
    try:
        return run(args, out)
    except InputError as exc:
        err.write(f"preflight: {_one_line(str(exc))}\n")
        return EXIT_INPUT
    except KeyboardInterrupt:
        err.write("preflight: interrupted\n")
        return 130
    except Exception as exc:  # never a traceback for a user; DLRIG_DEBUG=1 shows it
        if os.environ.get("DLRIG_DEBUG"):
            raise
        err.write(f"preflight: unexpected error ({exc.__class__.__name__}: {_one_line(str(exc))}); "
                  "this is a bug in dlrig, rerun with DLRIG_DEBUG=1 for the traceback\n")
        return EXIT_INPUT
