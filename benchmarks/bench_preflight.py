#!/usr/bin/env python3
"""How long the preflight takes for 1 host and for a generated inventory of 200 hosts (not a test).

    .venv/bin/python benchmarks/bench_preflight.py [--hosts 200] [--repeat 3]

Prints, for each inventory, the best of ``--repeat`` in-process runs (Ansible inventory + variables,
parsing, every check including the stack resolver, JSON rendering), the time of one full
``scripts/preflight.py`` process (interpreter and Ansible import included) and the ratio 200:1.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dlrig.checks.registry import REGISTRY  # noqa: E402
from dlrig.cli import build_parser, load_plans, main  # noqa: E402
from dlrig.output.document import plan_document  # noqa: E402

GPUS = [("GeForce RTX 2070", 185), ("GeForce RTX 2080", 225), ("GeForce RTX 3090", 350), ("RTX A6000", 300)]


def write_inventory(directory: Path, hosts: int) -> Path:
    """A YAML inventory with group_vars and one host_vars file per host, builds varied across hosts."""
    reference = yaml.safe_load((ROOT / "inventory/host_vars/deep-al.yml").read_text())
    (directory / "group_vars").mkdir(parents=True)
    (directory / "host_vars").mkdir()
    (directory / "group_vars" / "all.yml").write_text(
        yaml.safe_dump({"power": {"price_per_kwh": 0.30, "currency": "EUR", "headroom_pct": 10}})
    )
    names = [f"ws{i:03d}" for i in range(hosts)]
    (directory / "hosts.yml").write_text(
        yaml.safe_dump(
            {
                "all": {
                    "children": {
                        "workstations": {"hosts": {n: {"ansible_connection": "local"} for n in names}}
                    }
                }
            }
        )
    )
    for i, name in enumerate(names):
        build = yaml.safe_load(yaml.safe_dump(reference))
        model, watts = GPUS[i % len(GPUS)]
        build["hardware"]["gpus"] = [{"model": model, "count": 1 + i % 4, "watts": watts}]
        build.pop("power", None)
        (directory / "host_vars" / f"{name}.yml").write_text(yaml.safe_dump(build))
    return directory


def in_process(inventory: Path, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        main(["-i", str(inventory), "--format", "json"], stdout=io.StringIO(), stderr=io.StringIO())
        best = min(best, time.perf_counter() - start)
    return best


def breakdown(inventory: Path, repeat: int) -> tuple[float, float, float]:
    """Seconds for: inventory + variables + parsing; the plan checks; the stack check (best of ``repeat``
    each; the stack figure is the full report's time less the report's time without the stack check)."""
    start = time.perf_counter()
    plans = load_plans(build_parser().parse_args(["-i", str(inventory)]))
    loaded = time.perf_counter() - start

    def best(without_stack: bool) -> float:
        times = []
        for _ in range(repeat):
            with REGISTRY.without("stack") if without_stack else contextlib.nullcontext():
                begin = time.perf_counter()
                plan_document(plans)
                times.append(time.perf_counter() - begin)
        return min(times)

    full, planned = best(False), best(True)
    return loaded, planned, max(0.0, full - planned)


def as_process(inventory: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "preflight.py"), "-i", str(inventory), "--format", "json"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    return time.perf_counter() - start


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        one = write_inventory(Path(tmp) / "one", 1)
        many = write_inventory(Path(tmp) / "many", args.hosts)
        in_process(one, 1)  # warm-up: imports, catalogue and version matrix loaded once
        t1, tn = in_process(one, args.repeat), in_process(many, args.repeat)
        p1, pn = as_process(one), as_process(many)
        load_s, plan_s, stack_s = breakdown(many, args.repeat)
    print(f"preflight, in process (best of {args.repeat}):")
    print(f"  1 host:      {t1 * 1000:8.1f} ms")
    print(f"  {args.hosts} hosts:  {tn * 1000:8.1f} ms   ({tn / args.hosts * 1000:.2f} ms per host)")
    print(f"  ratio {args.hosts}:1:  {tn / t1:8.1f}x")
    print(
        f"  {args.hosts} hosts split: inventory + variables + parsing {load_s * 1000:.0f} ms, "
        f"plan checks {plan_s * 1000:.0f} ms, stack check {stack_s * 1000:.0f} ms"
    )
    print("scripts/preflight.py as a process (Python start and Ansible import included):")
    print(f"  1 host:      {p1 * 1000:8.1f} ms")
    print(f"  {args.hosts} hosts:  {pn * 1000:8.1f} ms")
    print(f"  ratio {args.hosts}:1:  {pn / p1:8.1f}x")


if __name__ == "__main__":
    run()
