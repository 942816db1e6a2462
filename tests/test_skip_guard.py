"""tests/conftest.py: under CI=true a skip fails unless tests/skip-allowlist.txt allows it (issue 21)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SKIPPING = """
import pytest

def test_runs():
    pass

@pytest.mark.skipif(True, reason="no widget")
def test_marked():
    pass

def test_inline():
    pytest.skip("no gadget")
"""


def _run(tmp_path: Path, ci: str | None, allowlist: str | None) -> subprocess.CompletedProcess[str]:
    shutil.copy(HERE / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_skipping.py").write_text(SKIPPING)
    if allowlist is not None:
        (tmp_path / "skip-allowlist.txt").write_text(allowlist)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_outside_ci_a_skip_is_a_skip(tmp_path):
    run = _run(tmp_path, None, None)
    assert run.returncode == 0, run.stdout
    assert "1 passed, 2 skipped" in run.stdout


def test_under_ci_every_skip_not_allowed_fails_with_how_to_allow_it(tmp_path):
    run = _run(tmp_path, "true", "test_skipping.py::test_marked  # needs a widget\n")
    assert run.returncode == 1, run.stdout
    assert "1 failed, 1 passed, 1 skipped" in run.stdout
    assert "FAILED test_skipping.py::test_inline" in run.stdout
    assert "skipped under CI=true" in run.stdout and "no gadget" in run.stdout


def test_under_ci_allowed_skips_pass(tmp_path):
    run = _run(
        tmp_path, "true", "# header\n\n*::test_marked  # needs a widget\n*::test_inline # no gadget here\n"
    )
    assert run.returncode == 0, run.stdout
    assert "1 passed, 2 skipped" in run.stdout


@pytest.mark.parametrize("value", ["false", "0", ""])
def test_ci_other_than_true_changes_nothing(tmp_path, value):
    assert _run(tmp_path, value, None).returncode == 0


def test_an_allowlist_line_without_a_reason_is_refused(tmp_path):
    run = _run(tmp_path, "true", "*::test_marked\n")
    assert run.returncode != 0
    assert "skip-allowlist.txt:1: '*::test_marked' has no '# reason'" in run.stdout + run.stderr


def test_every_line_of_the_repository_allowlist_names_tests_that_exist():
    from conftest import read_allowlist

    for pattern in read_allowlist():
        file_part = pattern.split("::")[0]
        assert list(HERE.parent.glob(file_part)), f"{pattern}: no such test file"
