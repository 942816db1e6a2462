#!/usr/bin/env python3
"""First converge, no-op re-run and their ratio, read from the log of a Molecule run.

    benchmarks/bench_converge.py LOG [--scenario NAME ...] [--top N]

LOG is the output of `tests/run-suite.sh` (or of `molecule test`) with Ansible's profile_tasks callback
on (the scenarios enable it): for each scenario whose sequence has a converge and an idempotence step, the
Ansible time of each (profile_tasks' total at the end of every playbook run of the step, summed) and
idempotence / converge in per cent, then the slowest tasks of the no-op run. A benchmark prints figures;
it is not a timed test.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

STEP = re.compile(r"\[(?P<scenario>[\w.-]+) > (?P<step>converge|idempotence)\] (?P<what>Executing|Executed)")
# profile_tasks: "Wednesday 02 December 2026  02:16:22 +0000 (0:00:00.441)       0:03:08.148 ****"
TOTAL = re.compile(r"\(\d+:\d\d:\d\d\.\d+\)\s+(?P<h>\d+):(?P<m>\d\d):(?P<s>\d\d\.\d+) \*+\s*$")
TASK = re.compile(r"^(?P<name>.+?) -+ (?P<seconds>\d+\.\d+)s\s*$")


@dataclass
class Step:
    seconds: float = 0.0
    tasks: list[tuple[float, str]] = field(default_factory=list)


def parse(lines: list[str]) -> dict[str, dict[str, Step]]:
    """``{scenario: {"converge": Step, "idempotence": Step}}`` from a Molecule log."""
    found: dict[str, dict[str, Step]] = {}
    current: Step | None = None
    last_total: float | None = None
    in_summary = False
    for line in lines:
        m = STEP.search(line)
        if m:
            if m.group("what") == "Executing":
                current = found.setdefault(m.group("scenario"), {}).setdefault(m.group("step"), Step())
                current.seconds, current.tasks = 0.0, []
            else:
                current = None
            last_total, in_summary = None, False
            continue
        if current is None:
            continue
        t = TOTAL.search(line)
        if t:
            last_total = int(t.group("h")) * 3600 + int(t.group("m")) * 60 + float(t.group("s"))
            continue
        if line.startswith("=" * 20) and last_total is not None:
            # The playbook run ended: the timestamp line just before the summary holds its total.
            current.seconds += last_total
            last_total, in_summary = None, True
            continue
        task = TASK.match(line.strip()) if in_summary else None
        if task:
            current.tasks.append((float(task.group("seconds")), task.group("name")))
        elif in_summary and line.strip() and not task:
            in_summary = False
    return found


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("log", type=Path)
    parser.add_argument("--scenario", action="append", default=[])
    parser.add_argument("--top", type=int, default=10, help="slowest tasks of the no-op run to show")
    args = parser.parse_args(argv)
    try:
        lines = args.log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        print(f"bench_converge: {args.log}: {exc.strerror}", file=sys.stderr)
        return 2
    found = parse(lines)
    names = args.scenario or sorted(found)
    rows = []
    for name in names:
        steps = found.get(name, {})
        if "converge" not in steps or "idempotence" not in steps:
            print(f"bench_converge: {args.log}: scenario {name!r} has no converge and idempotence",
                  file=sys.stderr)
            return 2
        first, again = steps["converge"].seconds, steps["idempotence"].seconds
        rows.append((name, first, again, 100.0 * again / first if first else 0.0, steps["idempotence"]))
    print("| scenario | first converge | no-op re-run | ratio |")
    print("|---|---|---|---|")
    for name, first, again, ratio, _ in rows:
        print(f"| {name} | {first:.1f} s | {again:.1f} s | {ratio:.0f} % |")
    for name, _, again, _, step in rows:
        print(f"\n{name}: slowest tasks of the no-op re-run ({again:.1f} s; profile_tasks lists "
              f"{len(step.tasks)})")
        for seconds, task in sorted(step.tasks, reverse=True)[: args.top]:
            print(f"  {seconds:6.2f} s  {task}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
