"""Python 3.6 on the target: Ubuntu 18.04's system Python is 3.6, and Ansible runs the project's modules
(with their module_utils) and the roles' scripts under it. Every such file is checked with vermin
(pinned in requirements-dev.txt) against a 3.6 target, so a newer construct fails here and not on a
bionic host."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = ROOT / "collections" / "ansible_collections" / "dlrig" / "rig" / "plugins"


def target_files() -> list[Path]:
    """The modules, the module_utils they ship to the host, and the Python files of the roles (files/,
    and templates/ whose first line is a python shebang)."""
    found = sorted((PLUGINS / "modules").glob("*.py")) + sorted((PLUGINS / "module_utils").glob("*.py"))
    found += sorted(ROOT.glob("roles/*/files/**/*.py"))
    for template in sorted(ROOT.glob("roles/*/templates/**/*")):
        if template.is_file():
            first = template.read_text(encoding="utf-8", errors="replace").split("\n", 1)[0]
            if first.startswith("#!") and "python" in first:
                found.append(template)
    return [f for f in found if f.name != "__init__.py"]


def test_the_target_files_are_found():
    names = {f.relative_to(ROOT).as_posix() for f in target_files()}
    assert "collections/ansible_collections/dlrig/rig/plugins/module_utils/hwdetect.py" in names
    assert "collections/ansible_collections/dlrig/rig/plugins/modules/python_env.py" in names
    assert "roles/gpu_verify/files/gpu_probe.py" in names


def test_everything_that_runs_under_the_targets_system_python_runs_on_python_3_6():
    vermin = Path(sys.executable).parent / "vermin"
    assert vermin.is_file(), "vermin is not installed: pip install -r requirements-dev.txt"
    files = [str(f) for f in target_files()]
    run = subprocess.run([str(vermin), "--target=3.6-", "--no-tips", "--violations", "--eval-annotations",
                          "--no-parse-comments", *files], capture_output=True, text=True, check=False)
    assert run.returncode == 0, f"needs a Python newer than 3.6 (Ubuntu 18.04's):\n{run.stdout}{run.stderr}"


def test_the_check_catches_what_python_3_6_lacks(tmp_path):
    """capture_output= and dataclasses came with 3.7: the same vermin call refuses them."""
    sample = tmp_path / "sample.py"
    sample.write_text("import subprocess\nsubprocess.run(['true'], capture_output=True)\n")
    vermin = Path(sys.executable).parent / "vermin"
    run = subprocess.run([str(vermin), "--target=3.6-", "--no-tips", "--violations", "--eval-annotations",
                          "--no-parse-comments", str(sample)], capture_output=True, text=True, check=False)
    assert run.returncode != 0 and "capture_output" in run.stdout
