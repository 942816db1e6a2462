"""The version matrix: every row carries its source, and the sections agree with each other."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from dlrig.stack.matrix import MatrixError, minor, variant_cuda, vkey
from dlrig.stack.matrix_file import load_matrix, parse_matrix

MATRIX_FILE = Path(__file__).resolve().parent.parent / "dlrig" / "data" / "matrix.yml"


@pytest.fixture(scope="module")
def raw():
    return yaml.safe_load(MATRIX_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def m():
    return load_matrix()


def _entries(raw):
    for key, value in raw.items():
        if isinstance(value, list):
            for i, row in enumerate(value):
                yield f"{key}[{i}]", row
        elif isinstance(value, dict):
            yield key, value


def test_every_row_carries_a_source(raw):
    entries = list(_entries(raw))
    assert len(entries) > 80
    for where, row in entries:
        assert isinstance(row.get("source"), str) and row["source"].strip(), f"{where} has no source"
        assert isinstance(row.get("verified", True), bool), f"{where}.verified is not a boolean"


def test_a_row_without_source_is_rejected(raw):
    broken = copy.deepcopy(raw)
    del broken["torch_releases"][0]["source"]
    with pytest.raises(MatrixError, match=r"torch_releases\[0\].*source"):
        parse_matrix(broken)


def test_a_driver_packaged_for_an_unknown_repository_is_rejected(raw):
    broken = copy.deepcopy(raw)
    broken["driver_branches"][0]["os"].append("ubuntu1604")
    with pytest.raises(MatrixError, match="ubuntu1604"):
        parse_matrix(broken)


def test_a_torch_variant_without_arch_rule_is_rejected(raw):
    broken = copy.deepcopy(raw)
    broken["torch_releases"][-1]["variants"].append("cu999")
    with pytest.raises(MatrixError, match="cu999"):
        parse_matrix(broken)


def test_load_is_cached(m):
    assert load_matrix() is m


def test_supported_releases_and_their_facts(m):
    labels = [o.label for o in m.os_releases]
    assert labels == ["Ubuntu 18.04", "Ubuntu 20.04", "Ubuntu 22.04", "Ubuntu 24.04", "Debian 12"]
    bionic = m.find_os("Ubuntu", "18.04")
    assert (bionic.glibc, bionic.system_python, bionic.apt_repo_path) == ("2.27", "3.6", "ubuntu1804")
    assert m.find_os("ubuntu", "jammy").release == "22.04"
    assert m.find_os("Debian", "12.5").release == "12"
    assert m.find_os("Ubuntu", "16.04") is None


def test_every_release_can_run_its_newest_cuda(m):
    """A repository's newest CUDA needs a driver branch that the same repository packages."""
    for o in m.os_releases:
        branches = [d.branch for d in m.driver_branches if o.apt_repo_path in d.os]
        assert branches, o.label
        top = o.cuda_max or m.cuda_releases[-1].version
        cuda = next(c for c in m.cuda_releases if c.version == top)
        assert max(branches) >= cuda.branch, f"{o.label}: CUDA {top} needs {cuda.branch}"
        assert any(vkey(o.cuda_min) <= vkey(c.version) for c in m.cuda_releases)


def test_cuda_driver_minimums_rise_with_the_toolkit(m):
    drivers = [vkey(c.min_driver) for c in m.cuda_releases]
    assert drivers == sorted(drivers)
    assert "12.7" not in {c.version for c in m.cuda_releases}


def test_every_framework_cuda_build_is_a_known_toolkit(m):
    toolkits = {vkey(c.version) for c in m.cuda_releases}
    for t in m.torch_releases:
        for variant in t.variants:
            assert variant_cuda(variant) in toolkits, f"torch {t.version} {variant}"
    for tf in m.tensorflow_releases:
        assert vkey(tf.cuda) in toolkits, f"tensorflow {tf.version}"


def test_torch_wheels_need_glibc_2_28_from_2_6(m):
    for t in m.torch_releases:
        expected = "2.28" if vkey(t.version) >= (2, 6) else "2.17"
        assert t.glibc_min == expected, t.version


def test_torchvision_pairs_with_its_torch(m):
    """torchvision 0.(minor+15) pairs with torch 2.minor; 0.(minor+1) with torch 1.minor."""
    for t in m.torch_releases:
        for torch, vision in t.patches.items():
            major, tminor = vkey(torch)[:2]
            assert vkey(vision)[1] == tminor + (15 if major == 2 else 1), f"{torch} -> {vision}"
    newest = m.torch_releases[-1]
    assert (newest.version, newest.patches[newest.version]) == ("2.14.1", "0.29.1")


def test_python_ranges_only_move_forward(m):
    for section in (m.torch_releases, m.tensorflow_releases):
        lows = [vkey(r.python[0]) for r in section]
        highs = [vkey(r.python[1]) for r in section]
        assert lows == sorted(lows) and highs == sorted(highs)


def test_open_kernel_modules_by_generation(m):
    flavours = {a.name: a.open_modules for a in m.architectures}
    assert flavours["Blackwell"] == "required"
    assert {flavours[a] for a in ("Maxwell", "Pascal", "Volta")} == {"none"}
    assert {flavours[a] for a in ("Turing", "Ampere", "Ada", "Hopper")} == {"available"}


def test_branch_580_is_the_last_for_maxwell_pascal_volta(m):
    for name in ("Maxwell", "Pascal", "Volta"):
        arch = m.arch(name)
        assert (arch.last_driver, arch.last_cuda) == (580, "12.9")
    assert m.arch("Blackwell").first_driver == 570
    assert m.arch("Blackwell").first_cuda == "12.8"


def test_cuda_13_builds_of_torch_have_no_pre_turing_kernels(m):
    for t in m.torch_releases:
        for variant in t.variants:
            if variant_cuda(variant) >= (13, 0):
                archs = m.torch_archs(t.version, variant)
                assert not {"Maxwell", "Pascal", "Volta"} & set(archs), f"{t.version} {variant}"
    assert "Blackwell" not in m.torch_archs("2.14.1", "cu126")
    assert "Pascal" in m.torch_archs("2.14.1", "cu126")


def test_fastai_ranges(m):
    newest = m.fastai_releases[-1]
    assert (newest.version, newest.python_min, newest.torch_below) == ("2.8.12", "3.10", "3")
    for f in m.fastai_releases:
        assert vkey(f.torch_min) < vkey(f.torch_below)


def test_keras_3_from_tensorflow_2_16(m):
    for tf in m.tensorflow_releases:
        assert tf.keras == ("3" if vkey(minor(tf.version)) >= (2, 16) else "tf.keras"), tf.version
    assert m.tensorflow_releases[-1].version == "2.21.0"
    assert m.keras_releases[-1].version == "3.15.1"


def test_standalone_python_runs_on_every_release(m):
    for o in m.os_releases:
        assert vkey(o.glibc) >= vkey(m.python_standalone.glibc_min)
    assert m.python_standalone.preferred in m.python_standalone.versions


def test_wheel_facts_read_from_pypi(m):
    tf = {t.version: t for t in m.tensorflow_releases}
    newest = tf["2.21.0"]
    assert (newest.glibc_min, newest.python, newest.keras_min) == ("2.27", ("3.10", "3.13"), "3.12.0")
    assert tf["2.20.0"].python == ("3.9", "3.13")
    floors = [vkey(k.python_min) for k in m.keras_releases]
    assert floors == sorted(floors)
    assert m.keras_releases[-1].python_min == "3.11"
    for t in m.tensorflow_releases:
        assert (t.keras_min is None) == (t.keras == "tf.keras"), t.version
