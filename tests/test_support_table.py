"""The README's support table is generated from the matrix, and a stale one is caught."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "support_table.py"


@pytest.fixture(scope="module")
def table():
    spec = importlib.util.spec_from_file_location("support_table", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_table_is_fresh():
    """Fails when dlrig/data/matrix.yml or the resolver changed without `scripts/support_table.py`."""
    run = subprocess.run([sys.executable, str(SCRIPT), "--check"],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr


def test_table_says_what_each_release_gets(table):
    text = table.render()
    for label in ("Ubuntu 18.04", "Ubuntu 20.04", "Ubuntu 22.04", "Ubuntu 24.04", "Debian 12"):
        assert f"| {label} (" in text
    bionic = next(line for line in text.splitlines() if line.startswith("| Ubuntu 18.04 ("))
    assert "3.11 (standalone)" in bionic and "2.5.1" in bionic and "2.14.1" in bionic
    assert "Ubuntu 18.04, Blackwell: RTX 50xx (Blackwell, sm_120) needs driver ≥ 570" in text


def test_check_fails_on_a_stale_readme_and_rewrite_fixes_it(table, tmp_path):
    readme = tmp_path / "README.md"
    fresh = (ROOT / "README.md").read_text(encoding="utf-8")
    readme.write_text(fresh.replace("| Ubuntu 18.04 (bionic", "| Ubuntu 18.04 (stale"), encoding="utf-8")
    assert table.main(["--check", "--readme", str(readme)]) == 1
    assert table.main(["--readme", str(readme)]) == 0
    assert table.main(["--check", "--readme", str(readme)]) == 0
    assert readme.read_text(encoding="utf-8") == fresh


def test_markers_and_heading_are_added_when_missing(table):
    updated = table.update("# Project\n\nText.\n", "TABLE")
    assert updated.endswith(
        "## Support matrix\n\n<!-- support-table:start -->\nTABLE\n<!-- support-table:end -->\n")
    assert table.update(updated, "NEW").count("<!-- support-table:start -->") == 1
    assert "NEW" in table.update(updated, "NEW") and "TABLE" not in table.update(updated, "NEW")


def test_the_unverified_count_covers_every_section_of_the_matrix(table, tmp_path):
    # cudnn_releases, compute_capability_first_cuda and torch_variant_archs carry `verified` too.
    lines = table.MATRIX_FILE.read_text().splitlines()
    marked = sum("verified: false" in line for line in lines if not line.startswith("#"))
    assert table._unverified_rows() == marked
    sample = tmp_path / "m.yml"
    sample.write_text("a: [{verified: false}, {verified: true}]\n"
                      "b: {c: [{verified: false, d: {verified: false}}]}\n")
    assert table._unverified_rows(sample) == 3
