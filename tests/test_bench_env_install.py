"""The pip-vs-uv benchmark loads the python_env module the way Ansible ships it (with the collection's
module_utils) and builds both installers' commands from it; the timed installs themselves are the
benchmark's job, not a test's."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks" / "bench_env_install.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_env_install", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_benchmark_loads_the_module_and_builds_both_commands(tmp_path: Path) -> None:
    bench = _bench()
    pe = bench._load(bench.MODULE, "dlrig_python_env_bench")
    params = {"isolated": True, "pip_timeout": 120, "link_mode": "hardlink", "cache_dir": str(tmp_path / "c"),
              **bench.mirror_params(sys.executable)}
    venv = str(tmp_path / "venv")
    pip = pe.pip_command(venv, SimpleNamespace(params={**params, "installer": "pip"}))
    uv = pe.uv_command(venv, SimpleNamespace(params={**params, "installer": "uv"}), "/usr/bin/uv")
    assert "--require-hashes" in pip and "--require-hashes" in uv
    assert pip[0].startswith(venv) and uv[0] == "/usr/bin/uv"
    assert str(ROOT / "collections") in sys.path


def test_the_benchmark_loads_the_module_in_a_fresh_interpreter() -> None:
    """In its own process (no other test's sys.path): what `benchmarks/bench_env_install.py` does first."""
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('b', {str(BENCH)!r})\n"
        "b = importlib.util.module_from_spec(spec); spec.loader.exec_module(b)\n"
        "pe = b._load(b.MODULE, 'dlrig_python_env_bench')\n"
        "print('loaded', callable(pe.uv_command))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd="/")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "loaded True"
