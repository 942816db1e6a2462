"""``bin/dlrig init`` (scripts/init.py): detect a box and write its hardware declaration (docs/init.md).

Exit codes: 0 written (or already up to date), 1 an existing declaration differs from the detection
and ``--update`` was not given (nothing written; the differences are printed), 2 bad input.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import yaml

from dlrig.errors import InputError, printable
from dlrig.init import ask, compare, declare, hosts_file, probe, remote, render

EXIT_OK, EXIT_DIFFERS, EXIT_INPUT = 0, 1, 2
ROOT = Path(__file__).resolve().parents[2]
_HOST_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dlrig init", description="Detect this box (or one over SSH) and write its hardware "
        "declaration, inventory/host_vars/NAME.yml, with a comment on every figure saying where it came "
        "from; what cannot be detected is asked for on a terminal or left as a FILL IN placeholder.")
    parser.add_argument("--host", metavar="NAME", help="inventory name of the box (default: this machine's "
                        "short host name, or the SSH address's host)")
    parser.add_argument("--connection", nargs="+", metavar="local|ssh ADDRESS", default=["local"],
                        help="detect this machine (local, the default) or the box at ADDRESS over Ansible "
                        "(ssh ADDRESS, ADDRESS may be user@host)")
    parser.add_argument("--output", metavar="PATH", help="write the declaration here instead of "
                        "INVENTORY/host_vars/NAME.yml (the inventory is then left alone)")
    parser.add_argument("-i", "--inventory", metavar="DIR", default=str(ROOT / "inventory"),
                        help="the inventory directory (default: the project's inventory/)")
    parser.add_argument("--update", action="store_true", help="write even when a declaration exists: "
                        "detected figures replace declared ones, what you filled in is kept")
    parser.add_argument("--no-input", action="store_true", help="never ask; leave placeholders (CI)")
    tests = parser.add_argument_group("detection inputs (tests, fixture trees)")
    tests.add_argument("--sysfs-root", default="/", help="read sys/, proc/, etc/ under this directory")
    tests.add_argument("--nvidia-smi", default="nvidia-smi", help="the nvidia-smi to run")
    tests.add_argument("--lspci", default="lspci", help="the lspci to run")
    return parser


def _connection(values: Sequence[str]) -> str | None:
    """The SSH address, or None for local; InputError for anything else."""
    if list(values) == ["local"]:
        return None
    if len(values) == 2 and values[0] == "ssh" and values[1]:
        return values[1]
    raise InputError(None, "--connection", f"expected `local` or `ssh ADDRESS`, got {' '.join(values)!r}")


def _detect(args: argparse.Namespace, address: str | None) -> probe.Probe:
    if address is None:
        return probe.local(args.sysfs_root, args.nvidia_smi, args.lspci)
    module_args = {k: v for k, v in (("sysfs_root", args.sysfs_root), ("nvidia_smi", args.nvidia_smi),
                                     ("lspci", args.lspci)) if v not in ("/", "nvidia-smi", "lspci")}
    return remote.probe(address, module_args=module_args)


def _read_existing(path: Path, name: str) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        problem = f"cannot read the existing declaration: {' '.join(str(exc).split())}"
        raise InputError(name, str(path), problem) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(name, str(path), "the existing declaration is not a mapping")
    return data


def _header(name: str, found: probe.Probe) -> str:
    return (f"# Hardware declaration of {name}, written by `bin/dlrig init` from the detection of "
            f"{found.where}.\n# Check the defaults and fill in every FILL IN placeholder (docs/init.md); "
            "the preflight refuses the host until then.")


def run(args: argparse.Namespace, stdin: TextIO, out: TextIO) -> int:
    address = _connection(args.connection)
    name = args.host or (remote._target(address)[0].split(".")[0] if address else
                         socket.gethostname().split(".")[0])
    if not _HOST_NAME.match(name):
        raise InputError(name, "--host", "expected an inventory name (letters, digits, '.', '_', '-')")
    inventory = Path(args.inventory)
    path = Path(args.output) if args.output else inventory / "host_vars" / f"{name}.yml"

    found = _detect(args, address)
    tree = declare.declaration(found)
    old = _read_existing(path, name)
    if old is not None:
        tree = compare.merge_declaration(tree, old)
        diffs = compare.differences(old, tree)
        if not diffs:
            out.write(f"{name}: {path} already declares what was detected; nothing written\n")
            return EXIT_OK
        verb = "updating" if args.update else "differs from the detection (nothing written; rerun with " \
            "--update to write it)"
        # Declared values are a person's text: escaped, never raw on the terminal (issue 10).
        lines = "".join(f"  {printable(line)}\n" for line in diffs)
        out.write(f"{name}: {printable(str(path))} {verb}:\n{lines}")
        if not args.update:
            return EXIT_DIFFERS

    if not args.no_input and stdin.isatty():
        def read(prompt: str) -> str:
            out.write(prompt)
            out.flush()
            line = stdin.readline()
            if not line:
                raise EOFError
            return line
        ask.ask(tree, read, out)

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render.render(tree, _header(name, found)), encoding="utf-8")
    counts = Counter(fig.origin for _, fig in declare.figures(tree))
    summary = ", ".join(f"{counts[o]} {o}" for o in (declare.DETECTED, declare.CATALOGUE, declare.DEFAULT,
                                                     declare.ANSWERED, declare.DECLARED, declare.PLACEHOLDER)
                        if counts[o])
    out.write(f"{name}: wrote {path} ({summary})\n")
    if not args.output:
        hosts = inventory / "hosts.yml"
        if hosts_file.add_host(hosts, name, address):
            out.write(f"{name}: added to {hosts}\n")
    todo = [p for p, fig in declare.figures(tree) if fig.origin == declare.PLACEHOLDER]
    if todo:
        out.write(f"{name}: fill in {', '.join(todo)} (the preflight refuses the host until then)\n")
    out.write(f"next: bin/dlrig preflight --limit {name}, then bin/dlrig provision --limit {name}\n")
    return EXIT_OK


def main(argv: Sequence[str] | None = None, stdin: TextIO | None = None, stdout: TextIO | None = None,
         stderr: TextIO | None = None) -> int:
    out, err = stdout or sys.stdout, stderr or sys.stderr
    args = build_parser().parse_args(argv)
    try:
        return run(args, stdin or sys.stdin, out)
    except InputError as exc:
        err.write(f"init: {printable(' '.join(str(exc).split()))}\n")
        return EXIT_INPUT
    except (KeyboardInterrupt, EOFError):
        err.write("init: interrupted; nothing written\n")
        return 130
    except Exception as exc:  # never a traceback for a user; DLRIG_DEBUG=1 shows it
        if os.environ.get("DLRIG_DEBUG"):
            raise
        what = printable(" ".join(str(exc).split()))
        err.write(f"init: unexpected error ({exc.__class__.__name__}: {what}); "
                  "this is a bug in dlrig, rerun with DLRIG_DEBUG=1 for the traceback\n")
        return EXIT_INPUT
