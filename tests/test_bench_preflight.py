"""benchmarks/bench_preflight.py runs and prints its figures (issue 19, finding 6: it crashed silently)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_benchmark_runs_and_prints_every_figure() -> None:
    bench = ROOT / "benchmarks" / "bench_preflight.py"
    proc = subprocess.run([sys.executable, str(bench), "--hosts", "3", "--repeat", "1"],
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "1 host:" in out and "3 hosts:" in out
    assert "inventory + variables + parsing" in out and "stack check" in out
    assert "-" not in out.split("stack check", 1)[1].split("ms", 1)[0], "a negative duration"
    assert "as a process" in out
