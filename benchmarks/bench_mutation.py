#!/usr/bin/env python3
"""Mutation score of the checks, the resolver and what-if (a benchmark that prints figures, not a CI gate).

    .venv/bin/python benchmarks/bench_mutation.py [--sample 40] [--seed 21] [--timeout 120] [MODULE ...]

The mutants come from cosmic-ray (pinned in requirements-dev.txt): every operator cosmic-ray knows is
applied at every place it fits in the module, which lists all mutants; ``--sample`` of them are drawn
with ``random.Random(seed)`` (the same list and seed give the same sample on every machine). Each mutant is
written into a scratch copy of the repository and the module's own test files run against it
(``pytest -x``, ``--timeout`` seconds). A mutant is killed when the tests fail or time out, and
survives when they pass; a mutant that cannot be written (no change) is not counted. The score per
module is killed / counted, printed with the sample size and the seed; ``--survivors`` prints the diff
of each survivor. Mutants inside type annotations are not drawn when the module has
``from __future__ import annotations`` (never evaluated, so equivalent by construction); the ``annot.``
column counts them, ``mutants`` counts the rest.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cosmic_ray import plugins
from cosmic_ray.ast import ast_nodes, get_ast
from cosmic_ray.mutating import mutate_code

ROOT = Path(__file__).resolve().parent.parent

# The module under test -> the test files that exercise it directly (each mutant runs only these).
TARGETS: dict[str, tuple[str, ...]] = {
    "dlrig/checks/psu.py": ("tests/test_checks.py", "tests/test_strength_checks.py"),
    "dlrig/checks/pcie.py": ("tests/test_checks.py", "tests/test_strength_checks.py"),
    "dlrig/checks/energy.py": ("tests/test_checks.py", "tests/test_strength_checks.py"),
    "dlrig/stack/resolver.py": ("tests/test_resolver.py", "tests/test_strength_resolver.py"),
    "dlrig/upgrade/spec.py": ("tests/test_whatif.py", "tests/test_strength_whatif.py"),
}
# Copied into the scratch tree: what the tests import and read (no .git, no virtual environment).
COPY = (
    "dlrig",
    "tests",
    "inventory",
    "collections",
    "roles",
    "playbooks",
    "docs",
    "scripts",
    "bin",
    "pyproject.toml",
    "ansible.cfg",
    "README.md",
    "requirements-controller.txt",
    "requirements-dev.txt",
)


def _annotation_spans(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Where the type annotations are, when ``from __future__ import annotations`` keeps them unevaluated."""
    tree = ast.parse(source)
    if not any(
        isinstance(n, ast.ImportFrom)
        and n.module == "__future__"
        and any(a.name == "annotations" for a in n.names)
        for n in tree.body
    ):
        return []
    notes: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.arg) and node.annotation is not None:
            notes.append(node.annotation)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns is not None:
            notes.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            notes.append(node.annotation)
    return [((n.lineno, n.col_offset), (n.end_lineno or n.lineno, n.end_col_offset or 0)) for n in notes]


def mutants(source: str) -> tuple[list[tuple[str, int]], int]:
    """Every (operator, occurrence) cosmic-ray can apply to ``source``, in a stable order, and how many
    were left out as equivalent by construction: those inside annotations that are never evaluated."""
    tree = get_ast(source)
    spans = _annotation_spans(source)
    found: list[tuple[str, int]] = []
    left_out = 0
    for name in sorted(plugins.operator_names()):
        operator_class = plugins.get_operator(name)
        if operator_class.arguments():  # operators that need configuration are left out
            continue
        operator = operator_class()
        positions = [start for node in ast_nodes(tree) for start, _ in operator.mutation_positions(node)]
        for occurrence, start in enumerate(positions):
            if any(lo <= tuple(start) < hi for lo, hi in spans):
                left_out += 1
            else:
                found.append((name, occurrence))
    return found, left_out


def run_tests(tree: Path, tests: tuple[str, ...], timeout: float) -> str:
    """``killed``, ``survived`` or ``timeout`` for the tests in the scratch ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("CI", None)  # a benchmark run, not CI: the skip guard of tests/conftest.py stays off
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    try:
        done = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return "timeout"
    return "survived" if done.returncode == 0 else "killed"


def bench_module(
    tree: Path, module: str, sample: int, seed: int, timeout: float, show: bool
) -> tuple[int, int, int, int]:
    """(mutants, left out in annotations, counted, killed) for one module; the file is restored afterwards."""
    path = tree / module
    original = path.read_text(encoding="utf-8")
    everything, left_out = mutants(original)
    chosen = random.Random(f"{seed}:{module}").sample(everything, min(sample, len(everything)))
    tests = tuple(t for t in TARGETS[module] if (tree / t).exists())
    counted = killed = 0
    try:
        for name, occurrence in sorted(chosen):
            mutated = mutate_code(original, plugins.get_operator(name)(), occurrence)
            if mutated is None or mutated == original:
                continue
            path.write_text(mutated, encoding="utf-8")
            outcome = run_tests(tree, tests, timeout)
            counted += 1
            killed += outcome != "survived"
            if outcome == "survived" and show:
                diff = difflib.unified_diff(
                    original.splitlines(), mutated.splitlines(), module, module, lineterm="", n=0
                )
                print(f"  survivor {name} #{occurrence}:\n    " + "\n    ".join(list(diff)[2:]), flush=True)
    finally:
        path.write_text(original, encoding="utf-8")
    return len(everything), left_out, counted, killed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", default=list(TARGETS), help="modules (default: all targets)")
    parser.add_argument("--sample", type=int, default=40, help="mutants drawn per module (default 40)")
    parser.add_argument("--seed", type=int, default=21, help="seed of the draw (default 21)")
    parser.add_argument("--timeout", type=float, default=120, help="seconds per test run (default 120)")
    parser.add_argument("--survivors", action="store_true", help="print the diff of each survivor")
    args = parser.parse_args(argv)
    unknown = [m for m in args.modules if m not in TARGETS]
    if unknown:
        print(
            f"bench_mutation: unknown module {unknown[0]!r}; expected one of {', '.join(TARGETS)}",
            file=sys.stderr,
        )
        return 2
    with tempfile.TemporaryDirectory(prefix="dlrig-mutation-") as scratch:
        tree = Path(scratch)
        for name in COPY:
            src = ROOT / name
            if src.is_dir():
                shutil.copytree(src, tree / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            elif src.exists():
                shutil.copy2(src, tree / name)
        print(
            f"cosmic-ray mutants, seed {args.seed}, sample {args.sample} per module, "
            f"timeout {args.timeout:g} s",
            flush=True,
        )
        print(
            f"{'module':<28} {'mutants':>7} {'annot.':>6} {'sample':>6} {'killed':>6} {'score':>6}  time",
            flush=True,
        )
        for module in args.modules:
            start = time.monotonic()
            total, left_out, counted, killed = bench_module(
                tree, module, args.sample, args.seed, args.timeout, args.survivors
            )
            score = f"{100 * killed / counted:.0f} %" if counted else "-"
            print(
                f"{module:<28} {total:>7} {left_out:>6} {counted:>6} {killed:>6} {score:>6}  "
                f"{time.monotonic() - start:.0f} s",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
