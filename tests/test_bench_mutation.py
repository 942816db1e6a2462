"""benchmarks/bench_mutation.py: the mutants it lists and how it draws them (a run is a benchmark)."""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("bench_mutation", ROOT / "benchmarks" / "bench_mutation.py")
assert _spec and _spec.loader
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

SOURCE = '''from __future__ import annotations


def f(a: int | None, b: int = 1) -> int | str:
    c: int | None = a
    return (c or 0) + b
'''


def test_mutants_inside_unevaluated_annotations_are_left_out():
    found, left_out = bench.mutants(SOURCE)
    # The three annotations ("int | None" and the like) give cosmic-ray's operators places to mutate.
    assert left_out > 0
    # Without the __future__ import the annotations are evaluated: nothing is left out.
    evaluated, none_left = bench.mutants(SOURCE.replace("from __future__ import annotations\n", ""))
    assert none_left == 0 and len(evaluated) == len(found) + left_out


def test_the_draw_depends_only_on_the_seed_and_the_module():
    found, _ = bench.mutants(SOURCE)
    draw = [random.Random(f"21:{m}").sample(found, 5) for m in ("a.py", "a.py", "b.py")]
    assert draw[0] == draw[1] != draw[2]


def test_every_target_module_and_test_file_exists():
    for module, tests in bench.TARGETS.items():
        assert (ROOT / module).is_file(), module
        assert all((ROOT / t).is_file() for t in tests), tests
