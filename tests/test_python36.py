"""Python 3.6 on the target: Ubuntu 18.04's system Python is 3.6, and Ansible runs the project's modules
(with their module_utils) and the roles' scripts under it. Every such file is checked with vermin (pinned in
requirements-dev.txt) against a 3.6 target, so a newer construct fails here and not on a bionic host,
and compiled with Python 3.6's grammar: by a real Python 3.6 when one is on PATH as python3.6 (or named by
DLRIG_PYTHON36), else by this Python's parser with feature_version=(3, 6). ruff lints the same files
with py37, the lowest target it knows (pyproject.toml)."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = ROOT / "collections" / "ansible_collections" / "dlrig" / "rig" / "plugins"


def target_files() -> list[Path]:
    """The modules, the module_utils they ship to the host, the Python files of the roles (files/,
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


def python36() -> str | None:
    """A working Python 3.6 interpreter: $DLRIG_PYTHON36, else python3.6 on PATH (a pyenv shim without
    3.6 selected exists but does not run: it counts as none)."""
    for candidate in (os.environ.get("DLRIG_PYTHON36"), shutil.which("python3.6")):
        if not candidate:
            continue
        try:
            run = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 6))"],
                                 capture_output=True, text=True, timeout=30, check=False)
        except OSError:
            continue
        if run.stdout.strip() == "True":
            return candidate
    return None


COMPILE_ALL = """
import sys
bad = []
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as handle:
        source = handle.read()
    try:
        compile(source, path, "exec", dont_inherit=True)
    except SyntaxError as exc:
        bad.append("%s:%s: %s" % (path, exc.lineno, exc.msg))
print("\\n".join(bad))
sys.exit(1 if bad else 0)
"""


def grammar_36_errors(files: list[Path]) -> list[str]:
    """Each file that Python 3.6 cannot compile, as 'path:line: message'."""
    interpreter = python36()
    if interpreter:
        run = subprocess.run([interpreter, "-c", COMPILE_ALL, *map(str, files)], capture_output=True,
                             text=True, timeout=120, check=False)
        assert run.returncode in (0, 1), run.stderr
        return [line for line in run.stdout.splitlines() if line]
    errors = []
    for path in files:
        source = path.read_text(encoding="utf-8")
        try:
            tree = ast.parse(source, str(path), feature_version=(3, 6))
        except SyntaxError as exc:
            errors.append(f"{path}:{exc.lineno}: {exc.msg}")
            continue
        # A __future__ feature 3.6 does not know is a compile error there, not a parse error here.
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "__future__":
                errors += [f"{path}:{node.lineno}: future feature {alias.name} is not defined"
                           for alias in node.names if alias.name == "annotations"]
    return errors


def test_every_target_file_compiles_with_python_3_6s_grammar():
    errors = grammar_36_errors(target_files())
    assert not errors, "Python 3.6 (Ubuntu 18.04's) cannot compile:\n" + "\n".join(errors)


@pytest.mark.parametrize("source, what", [
    ("import sys\nif (n := len(sys.argv)):\n    pass\n", "walrus"),
    ("def f(a, /, b):\n    return a\n", "positional-only"),
    ("from __future__ import annotations\n", "future annotations"),
])
def test_the_grammar_check_refuses_what_python_3_6_cannot_compile(tmp_path, source, what):
    sample = tmp_path / "sample.py"
    sample.write_text(source)
    assert grammar_36_errors([sample]), what
