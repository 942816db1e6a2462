#!/usr/bin/env python3
"""pip vs uv filling a fresh virtual environment from the same lock, cold and warm cache, in one run.

    benchmarks/bench_env_install.py [--lock FILE] [--python PYTHON] [--work DIR] [--runs N]

Runs exactly the commands roles/python_env runs (pip_command / uv_command of the dlrig.rig.python_env
module: --require-hashes --no-deps, wheels only, byte-code compiled by both), each into a new venv:
cold = an empty cache directory, warm = the same lock again with the cache the cold run filled (what a
rebuild after a lock change finds for every file that did not change). Only the install step is timed
(the venv creation is the same for both). Mirrors: DLRIG_TEST_* / PIP_* variables or pip's configuration,
as the tests read them (molecule/resources/pip_mirrors.py); none: PyPI. Default lock: the committed
TensorFlow CPU lock of the Molecule stack. uv: the controller's (requirements-controller.txt).
A benchmark prints figures; it is not a timed test.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType, SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# The module imports the collection's module_utils (fetch_error), as Ansible ships them with it.
sys.path.insert(0, str(ROOT / "collections"))
MODULE = ROOT / "collections/ansible_collections/dlrig/rig/plugins/modules/python_env.py"
MIRRORS = ROOT / "molecule/resources/pip_mirrors.py"
DEFAULT_LOCK = ROOT / "roles/tensorflow_env/files/locks/py3.11-tensorflow2.21.0-cpu-keras3.15.1.txt"


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def mirror_params(python: str) -> dict[str, object]:
    pm = _load(MIRRORS, "dlrig_pip_mirrors")
    config = pm.pip_config(python)
    env = dict(os.environ)
    index, extra, links = (pm.field(k, env, config) for k in ("index-url", "extra-index-url", "find-links"))
    cert = env.get("PIP_CERT") or next(iter(config.get("cert", [])), "")
    return {"index_url": " ".join(index[:1]), "extra_index_urls": [*index[1:], *extra], "find_links": links,
            "trusted_hosts": [], "cert": cert}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--lock", type=Path, default=DEFAULT_LOCK)
    parser.add_argument("--python", default=sys.executable, help="base interpreter of the venvs")
    parser.add_argument("--work", type=Path, default=None, help="scratch parent directory (default: TMPDIR)")
    parser.add_argument("--uv", default=None, help="uv executable (default: the controller's)")
    args = parser.parse_args(argv)
    pe = _load(MODULE, "dlrig_python_env")
    from dlrig.locks import find_uv

    uv = args.uv or find_uv()
    lock_text = args.lock.read_text(encoding="utf-8")
    packages = pe.parse_lock(lock_text)
    if args.work:
        args.work.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="dlrig-bench-env-", dir=args.work))
    base = {"isolated": True, "pip_timeout": 120, "link_mode": "hardlink", **mirror_params(args.python)}
    print(f"lock: {args.lock.name} ({len(packages)} packages); Python {args.python}; uv {uv}")
    print(f"scratch: {work} (venvs and caches on one file system: uv hard-links from its cache)")
    results: dict[tuple[str, str], float] = {}
    try:
        # Interleaved (pip cold, uv cold, pip warm, uv warm): a load that changes during the run hits both.
        for phase in ("cold", "warm"):
            for installer in ("pip", "uv"):
                cache = work / f"cache-{installer}"
                venv = work / f"{installer}-{phase}"
                subprocess.run([args.python, "-m", "venv", str(venv)], check=True)
                (venv / pe.LOCK_COPY).write_text(lock_text, encoding="utf-8")
                module = SimpleNamespace(params={**base, "cache_dir": str(cache), "installer": installer})
                if installer == "pip":
                    cmd, env = pe.pip_command(str(venv), module), None
                else:
                    cmd, env = pe.uv_command(str(venv), module, uv), pe.uv_env(module)
                start = time.monotonic()
                done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
                seconds = time.monotonic() - start
                if done.returncode != 0:
                    print(f"{installer} {phase}: failed (exit {done.returncode}):\n{done.stdout[-3000:]}"
                          f"{done.stderr[-3000:]}", file=sys.stderr)
                    return 1
                check = subprocess.run([str(venv / "bin/python"), "-m", "pip", "list", "--format=freeze"],
                                       capture_output=True, text=True, check=True).stdout
                have = {pe.normalise(line.split("==")[0]) for line in check.splitlines() if "==" in line}
                missing = sorted(set(packages) - have)
                if missing:
                    print(f"{installer} {phase}: not installed: {', '.join(missing[:5])}", file=sys.stderr)
                    return 1
                results[(installer, phase)] = seconds
                print(f"  {installer:3} {phase}: {seconds:7.1f} s", flush=True)
                shutil.rmtree(venv)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print()
    print("| installer | cold cache | warm cache |")
    print("|---|---|---|")
    for installer in ("pip", "uv"):
        cold, warm = results[(installer, "cold")], results[(installer, "warm")]
        print(f"| {installer} | {cold:.1f} s | {warm:.1f} s |")
    print(f"warm: uv {results[('pip', 'warm')] / results[('uv', 'warm')]:.1f}x faster than pip; "
          f"cold: {results[('pip', 'cold')] / results[('uv', 'cold')]:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
